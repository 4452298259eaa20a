/**
 * The unit of work of the session services: a write to one session runs under the store's exclusive
 * hold on it (one transaction where the backend has them), and what it tells (events, changes, what
 * runs did) reaches the other processes with its commit and this one's listeners right after it, in
 * that order, and only once the write is kept.
 */
import type { components } from '../../sdk/generated/runtime.js';
import type { RunObserver } from './runtime-metrics.js';
import type { SessionBus } from './session-bus.js';
import type { Event, StoredRun, StoredSession } from './session-store.js';
import type { ExclusiveTx, Notice, RuntimeStore } from './store/interfaces.js';

type SessionChange = components['schemas']['SessionChange'];

/** What a write under `exclusive` tells: to the other processes with its commit, to this one's listeners after it. */
export interface Told {
  changes: SessionChange[];
  events: Event[];
  /** What runs did, for the run observer (the metrics), told once the write is kept. */
  runs?: Array<{ what: 'started' | 'firstEvent' | 'ended'; session: StoredSession; run: StoredRun }>;
  /** The events recorded, with their run, for the observers that read them. */
  recorded?: { session: StoredSession; run: StoredRun; events: Event[] };
  /** Called once the write is kept, after the listeners. */
  kept?: Array<() => void>;
}

export class UnitOfWork {
  /** Sessions that this process writes (or waits to write) now, and how many times. */
  private readonly writing = new Map<string, number>();
  /** Told when runs start, first hear from their agent, and end (the metrics, the merge follow-ups). */
  readonly runObservers: RunObserver[] = [];

  constructor(
    private readonly store: RuntimeStore,
    private readonly bus: SessionBus,
  ) {}

  /** Whether this process writes session `name` now (or waits to). */
  busy(name: string): boolean {
    return this.writing.has(name);
  }

  /**
   * Runs `work` under the store's exclusive hold on session `name` (in one transaction where the
   * backend has them). What it tells reaches the other processes with its commit, and this one's
   * listeners right after.
   */
  exclusive<T>(name: string, work: (tx: ExclusiveTx, told: Told) => Promise<T>): Promise<T>;
  /** `skipBusy`: null at once, without waiting, when another writer holds the session. */
  exclusive<T>(
    name: string,
    work: (tx: ExclusiveTx, told: Told) => Promise<T | null>,
    options: { skipBusy?: boolean },
  ): Promise<T | null>;
  async exclusive<T>(
    name: string,
    work: (tx: ExclusiveTx, told: Told) => Promise<T>,
    options: { skipBusy?: boolean } = {},
  ): Promise<T | null> {
    let told: Told = { changes: [], events: [] };
    if (options.skipBusy && this.writing.has(name)) return null;
    this.writing.set(name, (this.writing.get(name) ?? 0) + 1);
    let result: T | null;
    const inHold = async (tx: ExclusiveTx) => {
      told = { changes: [], events: [] };
      const value = await work(tx, told);
      await tx.notify(noticesOf(told));
      return value;
    };
    try {
      if (options.skipBusy) {
        const attempt = await this.store.tryExclusive(name, inHold);
        result = attempt.done ? attempt.value : null;
      } else {
        result = await this.store.exclusive(name, inHold);
      }
    } finally {
      const count = this.writing.get(name)! - 1;
      if (count) this.writing.set(name, count);
      else this.writing.delete(name);
    }
    const [first] = told.events;
    if (first) this.bus.localEvents(first.session, told.events);
    told.changes.forEach((change) => {
      this.bus.localChange(change);
    });
    if (told.runs || told.recorded) this.tellRunObservers(told);
    for (const kept of told.kept ?? []) kept();
    return result;
  }

  private tellRunObservers({ runs = [], recorded }: Told): void {
    for (const observer of this.runObservers) {
      // Counting, logging or tracing must never fail a write that is kept already.
      try {
        if (recorded) observer.recorded?.(recorded.session, recorded.run, recorded.events);
        for (const { what, session, run } of runs) observer[what](session, run);
      } catch {}
    }
  }
}

/** The notices that tell the other processes what a write told: its events (by number), then its changes. */
function noticesOf(told: Told): Notice[] {
  const notices: Notice[] = [];
  const [first] = told.events;
  if (first)
    notices.push({
      kind: 'events',
      session: first.session,
      first: first.seq,
      last: told.events[told.events.length - 1]!.seq,
    });
  for (const change of told.changes) notices.push({ kind: 'change', change });
  return notices;
}
