/**
 * A background job run on demand, one run at a time: a wake while it runs makes it run once more right
 * after (never two runs at once, never a wake lost), and `every` wakes it on a timer too. `close`
 * stops the wakes and resolves once the run in flight has ended. What the runtime's background actors
 * (the webhook sender, the callbacks' sweep, the lease sweeper) share instead of each keeping its own
 * "running / again" flags.
 */
export class Pump {
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly job: () => Promise<void>,
    /** Told what a run threw (the job's own errors are best handled in the job). */
    private readonly failed: (error: unknown) => void,
  ) {}

  /** Runs the job now, or once more right after the run in progress. */
  wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.job()
      .catch(this.failed)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Wakes the job every `ms` as well, on a timer that keeps no process alive. */
  every(ms: number): this {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.wake(), ms);
    this.timer.unref();
    return this;
  }

  /** No more runs; resolves once the run in flight (and the one it was asked for again) has ended. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    while (this.running) await this.running;
  }
}
