import { open, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';

const POLL_MS = 200;

/**
 * Follows a file another process appends to and hands over complete lines in order. A watcher
 * reacts at once; a slow poll covers file systems where watching is unreliable.
 */
export class LineTail {
  private offset = 0;
  private partial: Buffer = Buffer.alloc(0);
  private handle: FileHandle | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  private stopped = false;
  /** A failure of `onLines` or of reading, kept for `finish` so it is never an unhandled rejection. */
  private failure: unknown;

  constructor(
    private readonly path: string,
    private readonly onLines: (lines: string[]) => Promise<void>,
  ) {}

  start(): void {
    try {
      this.watcher = watch(this.path, () => this.poll());
      this.watcher.on('error', () => undefined);
    } catch {
      // The poll below still follows the file.
    }
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.poll();
  }

  /** Reads to the end, including a last line without a newline, and stops following. */
  async finish(): Promise<void> {
    this.stopFollowing();
    await this.read(true);
    await this.handle?.close();
    this.handle = undefined;
    if (this.failure) throw this.failure;
  }

  /** Stops following without reading further (the runtime is shutting down). */
  async detach(): Promise<void> {
    this.stopped = true;
    this.stopFollowing();
    await this.reading;
    await this.handle?.close();
    this.handle = undefined;
  }

  private stopFollowing(): void {
    this.watcher?.close();
    clearInterval(this.timer);
  }

  private poll(): void {
    void this.read(false);
  }

  private read(toEnd: boolean): Promise<void> {
    this.reading = this.reading
      .then(async () => {
        if (this.failure || (this.stopped && !toEnd)) return;
        this.handle ??= await open(this.path, 'r').catch(() => undefined);
        if (!this.handle) return;
        const chunks: Buffer[] = [];
        for (;;) {
          const buffer = Buffer.alloc(64 * 1024);
          const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.offset);
          if (!bytesRead) break;
          this.offset += bytesRead;
          chunks.push(buffer.subarray(0, bytesRead));
        }
        if (!chunks.length && !(toEnd && this.partial.length)) return;
        // Split on the newline byte so a character cut between two reads is decoded whole.
        const bytes = Buffer.concat([this.partial, ...chunks]);
        const end = toEnd ? bytes.length : bytes.lastIndexOf(0x0a) + 1;
        this.partial = bytes.subarray(end);
        const complete = bytes
          .subarray(0, end)
          .toString('utf8')
          .split('\n')
          .filter((line) => line.trim() !== '');
        if (complete.length) await this.onLines(complete);
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      });
    return this.reading;
  }
}
