import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type Datastore from 'nedb-promises';

/**
 * nedb loses data when two processes write one file, so each server takes a lock file beside its
 * data before opening it. The lock holds the owner's pid: a lock left by a dead process (SIGKILL)
 * is taken over, a live owner makes start-up fail with a clear message. Hand-written because the
 * lock libraries on npm expire locks by age, which would make a restart after a crash wait.
 */
export async function lockDataDir(dataDir: string, owner: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const path = resolve(dataDir, `${owner}.lock`);
  // A lock file holding our own pid is stale (pid reuse after a crash, e.g. pid 1 in a container)
  // unless this process took it: locks taken here are remembered, so a second server started in
  // the same process is refused too.
  if (heldHere.has(path)) {
    throw new Error(
      `${dataDir} is in use by another ${owner} in this process (pid ${process.pid}); close it first or use another AGENT_ORCHESTRATOR_DATA_DIR`,
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      heldHere.add(path);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        heldHere.delete(path);
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new Error(
          `${dataDir} is in use by another ${owner} (pid ${pid}); stop it or use another AGENT_ORCHESTRATOR_DATA_DIR`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock ${path}`);
}

const heldHere = new Set<string>();

/** Whether a process `pid` exists (EPERM: it does, owned by another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function openCollection<T extends { _id?: string }>(
  dataDir: string,
  file: string,
  indexes: Array<{ fieldName: string; unique?: boolean; sparse?: boolean }>,
): Promise<Datastore<T>> {
  // Imported here: a runner or a server on PostgreSQL locks its data dir and never loads nedb.
  const { default: Datastore } = await import('nedb-promises');
  const store = Datastore.create({ filename: join(dataDir, file), timestampData: false }) as unknown as Datastore<T>;
  await store.load();
  for (const index of indexes) await store.ensureIndex(index);
  return store;
}
