import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Datastore from 'nedb-promises';
import type { Event } from '../session-store.js';
import { EVENTS_DIR, eventFileName, eventLine } from './event-files.js';

/** The single events file of earlier versions, which held every event of every session. */
export const SINGLE_EVENTS_FILE = 'events.db';
const MIGRATING_DIR = 'events.migrating';

/**
 * Writes one session's events as its events file (one JSON event per line), and flushes it to disk
 * (unless `sync: false`, for benchmarks that write large histories).
 */
export async function writeEventFile(path: string, events: Event[], options: { sync?: boolean } = {}): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(events.map(eventLine).join(''));
    if (options.sync !== false) await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * Moves the events of a data dir written by an earlier version (one `events.db`) into one file per
 * session, once; resolves with how many events moved (0 when there was nothing to migrate).
 *
 * Crash-safe at every step: the files are written into `events.migrating/` first, then moved into
 * `events/` (a session's file already there is kept), and `events.db` is deleted only after all of
 * them are in place. A crash midway leaves `events.db`, so the next start does it again.
 */
export async function migrateSingleEventsFile(dataDir: string): Promise<number> {
  const single = join(dataDir, SINGLE_EVENTS_FILE);
  if (!(await stat(single).catch(() => null))) return 0;
  const migrating = join(dataDir, MIGRATING_DIR);
  const target = join(dataDir, EVENTS_DIR);
  await rm(migrating, { recursive: true, force: true });
  await mkdir(migrating, { recursive: true });
  await mkdir(target, { recursive: true });

  // nedb itself reads the old file, so updates and deletions appended to it are applied as before.
  const old = Datastore.create({ filename: single, timestampData: false });
  await old.load();
  const bySession = new Map<string, Event[]>();
  let count = 0;
  for (const doc of (
    old as unknown as {
      getAllData(): Array<Omit<Event, 'data'> & { data: string | Event['data']; _id?: string; key?: string }>;
    }
  ).getAllData()) {
    // Event data was written as JSON text for a while, a plain object before.
    const { _id, key, data, ...rest } = doc;
    const event = { ...rest, data: typeof data === 'string' ? (JSON.parse(data) as Event['data']) : data };
    if (typeof event.session !== 'string' || typeof event.seq !== 'number') continue;
    let list = bySession.get(event.session);
    if (!list) {
      list = [];
      bySession.set(event.session, list);
    }
    list.push(event as Event);
    count++;
  }
  for (const [session, events] of bySession) {
    events.sort((a, b) => a.seq - b.seq);
    await writeEventFile(join(migrating, eventFileName(session)), events);
  }
  const present = new Set(await readdir(target));
  for (const file of await readdir(migrating)) {
    if (!present.has(file)) await rename(join(migrating, file), join(target, file));
  }
  await rm(single, { force: true });
  await rm(`${single}~`, { force: true });
  await rm(migrating, { recursive: true, force: true });
  return count;
}
