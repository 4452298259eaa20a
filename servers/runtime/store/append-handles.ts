/**
 * nedb appends every write to its file with `fs.appendFile`: it opens the file, writes and closes it,
 * three system calls and three trips to the thread pool per write, which a run's claim, start and end
 * pay for each file they write. A collection given an `AppendHandle` is appended to through one
 * handle kept open instead: one write per append, the same bytes in the same order (nedb still
 * serializes, and writes one collection's appends one after the other). What an append resolves
 * after is unchanged: the bytes are handed to the system, as `fs.appendFile` hands them.
 *
 * nedb writes through the functions of its storage module, looked up at each call: appends to a file
 * with a handle go through it, every other file as before. A compaction replaces the file (a new
 * file renamed over it): the handle is closed first, and the next append opens the new file.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';

interface NedbStorage {
  appendFileAsync(path: string, data: string, options: { encoding: 'utf8'; mode: number }): Promise<void>;
  crashSafeWriteFileLinesAsync(path: string, ...rest: unknown[]): Promise<void>;
  unlinkAsync(path: string): Promise<void>;
}

const fromNedbPromises = createRequire(createRequire(import.meta.url).resolve('nedb-promises'));
const storage = fromNedbPromises('@seald-io/nedb/lib/storage.js') as NedbStorage;

/** The handles by file path (resolved as nedb has it: the collection's `filename`). */
const handles = new Map<string, AppendHandle>();

const { appendFileAsync, crashSafeWriteFileLinesAsync, unlinkAsync } = storage;
storage.appendFileAsync = (path, data, options) => {
  const handle = handles.get(path);
  return handle ? handle.append(data, options.mode) : appendFileAsync(path, data, options);
};
storage.crashSafeWriteFileLinesAsync = async (path, ...rest) => {
  await handles.get(path)?.release();
  return crashSafeWriteFileLinesAsync(path, ...rest);
};
storage.unlinkAsync = async (path) => {
  await handles.get(path)?.release();
  return unlinkAsync(path);
};

/** One open handle for the appends to one collection's file; `close` when the collection is done with. */
export class AppendHandle {
  private fd: number | undefined;

  private constructor(private readonly path: string) {}

  /** Appends to the file of `collection` (its nedb `filename`) go through one handle from now on. */
  static of(collection: unknown): AppendHandle {
    const path = (collection as { filename: string }).filename;
    const handle = new AppendHandle(path);
    handles.set(path, handle);
    return handle;
  }

  async append(data: string, mode: number): Promise<void> {
    try {
      this.fd ??= openSync(this.path, 'a', mode);
      const bytes = Buffer.from(data, 'utf8');
      for (let written = 0; written < bytes.length; ) written += writeSync(this.fd, bytes, written);
    } catch (error) {
      // Opened afresh at the next append (a failed open, or a handle in an unknown state).
      await this.release();
      throw error;
    }
  }

  /** Closes the handle: the next append opens the file again (it may be a new file by then). */
  async release(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  /** The collection's appends go through nedb's own `fs.appendFile` again. */
  async close(): Promise<void> {
    if (handles.get(this.path) === this) handles.delete(this.path);
    await this.release();
  }
}
