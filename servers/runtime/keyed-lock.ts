/** Runs tasks one at a time per key (a session), in arrival order; different keys run in parallel. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Tasks of each key that run or wait, counted down before their callers resume. */
  private readonly pending = new Map<string, number>();

  /** Whether a task of `key` runs or waits now. */
  busy(key: string): boolean {
    return this.pending.has(key);
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
    const result = previous.then(task, task).finally(() => {
      const left = this.pending.get(key)! - 1;
      if (left) this.pending.set(key, left);
      else this.pending.delete(key);
    });
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
