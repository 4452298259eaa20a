import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Datastore from 'nedb-promises';
import type { Event } from '../session-store.js';
import type { EventLog, UnnumberedEvent } from './interfaces.js';

/** How many sessions' event files are kept open (in memory) at once, by default. */
export const DEFAULT_OPEN_EVENT_FILES = 64;

/** The folder of the data dir that holds one events file per session. */
export const EVENTS_DIR = 'events';

type StoredEvent = Event & { _id: string };

interface Handle {
  /** Resolves once the file is loaded; the load's failure is the caller's. */
  ready: Promise<Datastore<StoredEvent>>;
  /** The last seq appended (known once loaded). */
  last: number;
  /** Calls in progress; a handle in use is never closed. */
  users: number;
  /** The end of the chain of appends: they run one after another. */
  tail: Promise<unknown>;
}

/**
 * The file of one session's events. Names are `[A-Za-z0-9_-]`; on a case-insensitive file system
 * `Abc` and `abc` would share a file, so capitals are written as `~` and the letter (`~abc`).
 */
export const eventFileName = (session: string): string => `${session.replace(/[A-Z]/g, (c) => `~${c.toLowerCase()}`)}.db`;

/**
 * Events in one nedb file per session (`events/<name>.db`), opened when a session's events are asked
 * for and closed when it has been the least recently used of more than `maxOpen` open files.
 *
 * Why: nedb holds a whole file in memory and reads all of it at start. With one file for every
 * event, start-up time and memory grew with the whole history (8 s and 760 MB at 200,000 events).
 * Per session, start-up reads no event at all, memory is bounded by the open files, and a page of a
 * session is a range of its `seq` index. Deleting a session deletes its file, which gives its disk
 * space back at once. Appends are nedb's (one line appended per event, before the call resolves),
 * so a crash of this process loses nothing acknowledged, as before.
 */
export class NedbEventFiles implements EventLog {
  private readonly handles = new Map<string, Handle>();

  private constructor(
    private readonly dir: string,
    private readonly maxOpen: number,
  ) {}

  static async open(dataDir: string, options: { maxOpen?: number | undefined } = {}): Promise<NedbEventFiles> {
    const dir = join(dataDir, EVENTS_DIR);
    await mkdir(dir, { recursive: true });
    return new NedbEventFiles(dir, Math.max(1, options.maxOpen ?? DEFAULT_OPEN_EVENT_FILES));
  }

  /** How many sessions' files are open now (for tests and benchmarks). */
  get openFiles(): number {
    return this.handles.size;
  }

  append(session: string, events: UnnumberedEvent[]): Promise<Event[]> {
    return this.use(session, (db, handle) => {
      const appended = handle.tail.then(async () => {
        const before = handle.last;
        const numbered: Event[] = events.map((event, i) => ({ ...event, seq: before + i + 1 }) as Event);
        await db.insert(numbered.map((event) => ({ ...event, _id: String(event.seq) })));
        handle.last = before + numbered.length;
        return numbered;
      });
      handle.tail = appended.catch(() => undefined);
      return appended;
    });
  }

  after(session: string, after: number, limit: number): Promise<Event[]> {
    return this.use(session, async (db) => {
      // Numbers have no gaps, so the page is exactly after+1..after+limit: a range of the seq index.
      const docs = await db.find({ seq: { $gt: after, $lte: after + limit } }).sort({ seq: 1 });
      return docs.map(({ _id, ...event }) => event as Event);
    });
  }

  lastSeq(session: string): Promise<number> {
    return this.use(session, async (_db, handle) => {
      await handle.tail;
      return handle.last;
    });
  }

  count(session: string, run: number, exceptType: string): Promise<number> {
    return this.use(session, (db) => db.count({ run, type: { $ne: exceptType } }) as unknown as Promise<number>);
  }

  async remove(session: string): Promise<void> {
    const handle = this.handles.get(session);
    if (handle) {
      await handle.ready.catch(() => undefined);
      await handle.tail;
      if (this.handles.get(session) === handle) this.handles.delete(session);
    }
    const file = join(this.dir, eventFileName(session));
    await rm(file, { force: true });
    await rm(`${file}~`, { force: true }); // nedb's temporary file, if a crash left one
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    await Promise.all(handles.map(async (h) => {
      await h.ready.catch(() => undefined);
      await h.tail;
    }));
    this.handles.clear();
  }

  private async use<T>(session: string, work: (db: Datastore<StoredEvent>, handle: Handle) => Promise<T>): Promise<T> {
    let handle = this.handles.get(session);
    if (handle) {
      this.handles.delete(session); // re-inserted last: the Map's order is least recently used first
    } else {
      handle = { ready: Promise.resolve(undefined as never), last: 0, users: 0, tail: Promise.resolve() };
      handle.ready = this.load(session, handle);
    }
    this.handles.set(session, handle);
    handle.users++;
    try {
      const db = await handle.ready.catch((error: unknown) => {
        if (this.handles.get(session) === handle) this.handles.delete(session);
        throw error;
      });
      return await work(db, handle);
    } finally {
      handle.users--;
      this.closeIdle();
    }
  }

  private async load(session: string, handle: Handle): Promise<Datastore<StoredEvent>> {
    const db = Datastore.create({ filename: join(this.dir, eventFileName(session)), timestampData: false }) as unknown as Datastore<StoredEvent>;
    await db.load();
    await db.ensureIndex({ fieldName: 'seq', unique: true });
    const all = (db as unknown as { getAllData(): StoredEvent[] }).getAllData();
    for (const event of all) if (event.seq > handle.last) handle.last = event.seq;
    return db;
  }

  /** Closes the least recently used files beyond `maxOpen` that nobody is using. */
  private closeIdle(): void {
    if (this.handles.size <= this.maxOpen) return;
    for (const [name, handle] of this.handles) {
      if (this.handles.size <= this.maxOpen) break;
      if (handle.users === 0) this.handles.delete(name);
    }
  }
}
