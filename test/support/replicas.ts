// Several runtime processes on one PostgreSQL database (test/support/runtime-replica.ts), each with
// its own data dir: what the replica tests and bench/replicas.ts start.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './claude-env.js';
import { removeDir, tempDir } from './servers.js';

export interface Replica {
  url: string;
  child: ChildProcess;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
}

/** Starts a runtime process on `databaseUrl` and resolves once it listens. */
export async function startReplica(databaseUrl: string, options: { webhookUrl?: string } = {}): Promise<Replica> {
  const dataDir = await tempDir('aof-replica-');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/runtime-replica.ts')], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      AOF_REPLICA_DATA_DIR: dataDir,
      AOF_REPLICA_DATABASE_URL: databaseUrl,
      ...(options.webhookUrl ? { AOF_REPLICA_WEBHOOK_URL: options.webhookUrl } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log.push(line);
    if (process.env.AOF_TEST_LOGS) process.stderr.write(`[replica] ${line}\n`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening (\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`runtime replica exited with ${child.exitCode}:\n${log.join('\n')}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await removeDir(dataDir);
    },
  };
}
