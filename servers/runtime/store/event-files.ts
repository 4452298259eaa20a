import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Event } from '../session-store.js';
import type { EventLog, UnnumberedEvent } from './interfaces.js';

/** How many sessions' event files are kept open at once, by default. */
export const DEFAULT_OPEN_EVENT_FILES = 64;

/** The folder of the data dir that holds one events file per session. */
export const EVENTS_DIR = 'events';

/**
 * A session's name as the stem of its files. Names are `[A-Za-z0-9_-]`; on a case-insensitive file
 * system `Abc` and `abc` would share a file, so capitals are written as `~` and the letter (`~abc`).
 */
export const sessionFileStem = (session: string): string => session.replace(/[A-Z]/g, (c) => `~${c.toLowerCase()}`);

/** The file of one session's events (`~abc.jsonl` for `Abc`). */
export const eventFileName = (session: string): string => `${sessionFileStem(session)}.jsonl`;

/** One event as a line of its file; `seq` first, so opening a file finds it without parsing JSON. */
export function eventLine(event: Event): string {
  const { seq, session, run, type, at, data } = event;
  return `${JSON.stringify({ seq, session, run, type, at, data })}\n`;
}

const SEQ_PREFIX = Buffer.from('{"seq":');
const NEWLINE = 0x0a;

/** An open file and its index: where each line starts, and the `seq` it holds. */
interface Handle {
  ready: Promise<void>;
  file: FileHandle | null;
  /** Byte offset of each complete line. */
  offsets: number[];
  /** The `seq` of each line (ascending). */
  seqs: number[];
  /** Bytes of complete lines: where the next append goes. */
  size: number;
  /** Calls in progress; a handle in use is never closed. */
  users: number;
  /** The end of the chain of appends: they run one after another. */
  tail: Promise<unknown>;
}

/**
 * Events in one append-only file per session (`events/<name>.jsonl`, one JSON event per line),
 * opened when a session's events are asked for and closed when it has been the least recently used
 * of more than `maxOpen` open files.
 *
 * Why: the earlier store kept every event of every session in one nedb file, which nedb holds in
 * memory and reads whole at start: start-up time and memory grew with the whole history (8 s and
 * 760 MB at 200,000 events). Here start-up reads no event; an open file costs its index (two numbers
 * per event), not its events; a page reads only its own lines (one positioned read); deleting a
 * session deletes its file, which gives the space back at once. Not nedb per session: nedb rewrites
 * a file (with fsyncs) every time it loads it, which made a first read of a session cost tens of ms.
 *
 * Durability is as before: an append resolves once its lines are written to the file (one write,
 * no fsync), so a crash of this process loses nothing acknowledged. A line cut short by a crash of
 * the machine mid-write is dropped when the file is opened again.
 */
export class EventFiles implements EventLog {
  private readonly handles = new Map<string, Handle>();

  private constructor(
    private readonly dir: string,
    private readonly maxOpen: number,
  ) {}

  static async open(dataDir: string, options: { maxOpen?: number | undefined } = {}): Promise<EventFiles> {
    const dir = join(dataDir, EVENTS_DIR);
    await mkdir(dir, { recursive: true });
    return new EventFiles(dir, Math.max(1, options.maxOpen ?? DEFAULT_OPEN_EVENT_FILES));
  }

  /** How many sessions' files are open now (for tests and benchmarks). */
  get openFiles(): number {
    return this.handles.size;
  }

  append(session: string, events: UnnumberedEvent[]): Promise<Event[]> {
    return this.use(session, (handle) => {
      const appended = handle.tail.then(async () => {
        const last = handle.seqs[handle.seqs.length - 1] ?? 0;
        const numbered = events.map((event, i) => ({ ...event, seq: last + i + 1 }) as Event);
        const lines = numbered.map(eventLine);
        const bytes = Buffer.from(lines.join(''));
        handle.file ??= await open(this.path(session), 'a+');
        try {
          for (let written = 0; written < bytes.length; ) {
            written += (await handle.file.write(bytes, written, bytes.length - written, handle.size + written))
              .bytesWritten;
          }
        } catch (error) {
          await handle.file.truncate(handle.size).catch(() => undefined); // no half-written lines
          throw error;
        }
        let offset = handle.size;
        numbered.forEach((event, i) => {
          handle.offsets.push(offset);
          handle.seqs.push(event.seq);
          offset += Buffer.byteLength(lines[i]!);
        });
        handle.size = offset;
        return numbered;
      });
      handle.tail = appended.catch(() => undefined);
      return appended;
    });
  }

  after(session: string, after: number, limit: number): Promise<Event[]> {
    return this.use(session, async (handle) => {
      const from = firstAbove(handle.seqs, after);
      const to = firstAbove(handle.seqs, after + limit);
      if (from >= to || !handle.file) return [];
      const start = handle.offsets[from]!;
      const end = to < handle.offsets.length ? handle.offsets[to]! : handle.size;
      const buffer = Buffer.alloc(end - start);
      await handle.file.read(buffer, 0, buffer.length, start);
      return parseLines(buffer);
    });
  }

  lastSeq(session: string): Promise<number> {
    return this.use(session, async (handle) => {
      await handle.tail;
      return handle.seqs[handle.seqs.length - 1] ?? 0;
    });
  }

  count(session: string, run: number, exceptTypes: readonly string[]): Promise<number> {
    return this.use(session, async (handle) => {
      if (!handle.file || !handle.size) return 0;
      const buffer = Buffer.alloc(handle.size);
      await handle.file.read(buffer, 0, buffer.length, 0);
      return parseLines(buffer).filter((e) => e.run === run && !exceptTypes.includes(e.type)).length;
    });
  }

  async remove(session: string): Promise<void> {
    const handle = this.handles.get(session);
    if (handle) {
      if (this.handles.get(session) === handle) this.handles.delete(session);
      await handle.ready.catch(() => undefined);
      await handle.tail;
      await handle.file?.close().catch(() => undefined);
      handle.file = null;
    }
    await rm(this.path(session), { force: true });
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(
      handles.map(async (h) => {
        await h.ready.catch(() => undefined);
        await h.tail;
        await h.file?.close().catch(() => undefined);
      }),
    );
  }

  private path(session: string): string {
    return join(this.dir, eventFileName(session));
  }

  private async use<T>(session: string, work: (handle: Handle) => Promise<T>): Promise<T> {
    let handle = this.handles.get(session);
    if (handle) {
      this.handles.delete(session); // re-inserted last: the Map's order is least recently used first
    } else {
      handle = {
        ready: Promise.resolve(),
        file: null,
        offsets: [],
        seqs: [],
        size: 0,
        users: 0,
        tail: Promise.resolve(),
      };
      handle.ready = this.load(session, handle);
    }
    this.handles.set(session, handle);
    handle.users++;
    try {
      await handle.ready.catch((error: unknown) => {
        if (this.handles.get(session) === handle) this.handles.delete(session);
        throw error;
      });
      return await work(handle);
    } finally {
      handle.users--;
      this.closeIdle();
    }
  }

  /** Opens the file if there is one, and indexes its lines. */
  private async load(session: string, handle: Handle): Promise<void> {
    let file: FileHandle;
    try {
      file = await open(this.path(session), 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // created by the first append
      throw error;
    }
    handle.file = file;
    const content = await file.readFile();
    let start = 0;
    while (start < content.length) {
      const end = content.indexOf(NEWLINE, start);
      if (end < 0) break; // a line cut short by a crash mid-write: never acknowledged
      handle.offsets.push(start);
      handle.seqs.push(lineSeq(content, start, end));
      start = end + 1;
    }
    handle.size = start;
    if (start < content.length) await file.truncate(start);
  }

  /** Closes the least recently used files beyond `maxOpen` that nobody is using. */
  private closeIdle(): void {
    if (this.handles.size <= this.maxOpen) return;
    for (const [name, handle] of this.handles) {
      if (this.handles.size <= this.maxOpen) break;
      if (handle.users === 0) {
        this.handles.delete(name);
        void handle.file?.close().catch(() => undefined);
      }
    }
  }
}

/** The `seq` of the line at start..end: read from its `{"seq":N` prefix, else by parsing the line. */
function lineSeq(content: Buffer, start: number, end: number): number {
  if (content.compare(SEQ_PREFIX, 0, SEQ_PREFIX.length, start, start + SEQ_PREFIX.length) === 0) {
    let seq = 0;
    for (let i = start + SEQ_PREFIX.length; i < end; i++) {
      const digit = content[i]! - 0x30;
      if (digit < 0 || digit > 9) return seq;
      seq = seq * 10 + digit;
    }
  }
  return (JSON.parse(content.toString('utf8', start, end)) as Event).seq;
}

/** The index of the first element of ascending `values` that is greater than `value`. */
function firstAbove(values: number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (values[mid]! <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

function parseLines(buffer: Buffer): Event[] {
  const text = buffer.toString('utf8');
  const events: Event[] = [];
  for (const line of text.split('\n')) if (line) events.push(JSON.parse(line) as Event);
  return events;
}
