import { EventEmitter } from 'node:events';
import type { components } from '../../sdk/generated/runtime.js';
import { KeyedLock } from './keyed-lock.js';
import type { Event } from './session-store.js';
import type { EventLog, Notice, RuntimeStore } from './store/interfaces.js';

type SessionChange = components['schemas']['SessionChange'];

/** Events read from the store at once when a gap is filled. */
const PAGE = 500;

/**
 * What follows one session (`SessionBus.follow`): the SSE stream of its events (the dashboard's and
 * the SDK's `events()`), and the waits for its state (the SDK's `waitForResult` long-poll, a stop).
 */
export interface SessionFollower {
  /**
   * Its events after `after`: the stored ones first, then the live ones, in `seq` order, each once
   * and none missed. Absent: no events (a follower of changes only).
   */
  events?: { after: number; send(event: Event): void } | undefined;
  /**
   * The session changed (its runs' states, its approvals), here or in another process, or changes of
   * other processes may have been missed (a resync): read it again.
   */
  changed?: (() => void) | undefined;
  /** Nothing more comes: the session was deleted, or its stored events could not be read. */
  ended?: (() => void) | undefined;
}

/**
 * Tells listeners in this process (SSE streams, waiters, callbacks) about every event, change and
 * deletion of a session, made here (`local`) or by another process sharing the store (its notices).
 *
 * With other processes about, a session's events may be written by several of them, and a notice
 * only names their numbers. So each session's listeners are given its events strictly in `seq`
 * order, with no gap: a session that has listeners remembers the last event they were given, and
 * whatever came before an event that arrives is read from the store first. That is also how what was
 * missed while the connection for notices was away is caught up with (`resync`). A session without
 * listeners costs nothing: a notice for it is dropped. Without other processes (the embedded store),
 * events are handed on at once, as they are recorded.
 */
export class SessionBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  /** Sessions whose event listeners are served in order: the last `seq` they were given (unknown at first). */
  private readonly given = new Map<string, number | undefined>();
  /** Deliveries to one session's listeners, one at a time. */
  private readonly queue = new KeyedLock();
  private readonly shared: boolean;
  private readonly unsubscribe: (() => void) | undefined;

  constructor(
    private readonly events: EventLog,
    notices: RuntimeStore['notices'],
  ) {
    this.shared = notices !== undefined;
    this.unsubscribe = notices?.subscribe({ notice: (notice) => this.remote(notice), resync: () => this.resync() });
  }

  /* ---------- what this process did ---------- */

  /** Events this process recorded (committed). */
  localEvents(session: string, events: readonly Event[]): void {
    if (!events.length) return;
    if (!this.shared) {
      for (const event of events) this.emitter.emit(`event:${session}`, event);
      return;
    }
    this.deliver(session, events[0]!.seq, events[events.length - 1]!.seq, events);
  }

  localChange(change: SessionChange): void {
    this.change(change, true);
  }

  /* ---------- listening ---------- */

  onEvent(session: string, listener: (event: Event) => void): () => void {
    const key = `event:${session}`;
    this.emitter.on(key, listener);
    if (this.shared && !this.given.has(session)) {
      // Where the listeners start: events after the last one stored now. What came before, a listener
      // reads from the store itself, after `following` (as the SSE stream does).
      this.given.set(session, undefined);
      void this.queue.run(session, async () => {
        const last = await this.events.lastSeq(session).catch(() => undefined);
        if (this.given.has(session) && this.given.get(session) === undefined && last !== undefined)
          this.given.set(session, last);
      });
    }
    return () => {
      this.emitter.off(key, listener);
      if (!this.emitter.listenerCount(key)) this.given.delete(session);
    };
  }

  /**
   * Resolves once the session's listeners added so far know where they start: a listener that reads
   * the stored events after this misses none between those and the ones it is given.
   */
  following(session: string): Promise<void> {
    return this.queue.run(session, async () => undefined);
  }

  /**
   * Follows one session (see SessionFollower) until the answer is called: the one place that puts
   * stored and live events together, and that tells of its changes, here or in other processes.
   */
  follow(session: string, follower: SessionFollower): () => void {
    const offs: Array<() => void> = [];
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      offs.forEach((off) => {
        off();
      });
    };
    const ended = () => {
      if (closed) return;
      close();
      follower.ended?.();
    };
    const { changed, events } = follower;
    if (changed) {
      offs.push(this.onChange((change) => change.name === session && changed()));
      offs.push(this.onResync(changed));
    }
    if (events) {
      // Subscribed before the stored events are read; live ones wait until those have been sent.
      let last = events.after;
      const send = (event: Event) => {
        if (closed || event.seq <= last) return;
        last = event.seq;
        events.send(event);
      };
      let held: Event[] | undefined = [];
      offs.push(this.onEvent(session, (event) => (held ? held.push(event) : send(event))));
      void (async () => {
        try {
          await this.following(session);
          for (;;) {
            const page = await this.events.after(session, last, PAGE);
            page.forEach(send);
            if (page.length < PAGE || closed) break;
          }
          const waiting = held ?? [];
          held = undefined;
          waiting.forEach(send);
        } catch {
          ended();
        }
      })();
    }
    offs.push(this.onDeleted(session, ended));
    return close;
  }

  onDeleted(session: string, listener: () => void): () => void {
    this.emitter.on(`deleted:${session}`, listener);
    return () => this.emitter.off(`deleted:${session}`, listener);
  }

  /** Every change; `local` says whether this process made it (side effects that must happen once react only to those). */
  onChange(listener: (change: SessionChange, local: boolean) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  /** Runs were queued through this process: a runner's claim waiting for one may look again. */
  wake(): void {
    this.emitter.emit('queued');
  }

  /** Runs may be waiting: queued through this process (`wake`), or a change of another one queued one. */
  onQueued(listener: () => void): () => void {
    this.emitter.on('queued', listener);
    return () => this.emitter.off('queued', listener);
  }

  /** After notices may have been missed: whoever waits for a change should look at the store again. */
  onResync(listener: () => void): () => void {
    this.emitter.on('resync', listener);
    return () => this.emitter.off('resync', listener);
  }

  close(): void {
    this.unsubscribe?.();
  }

  /* ---------- what other processes did ---------- */

  private remote(notice: Notice): void {
    if (notice.kind === 'events') this.deliver(notice.session, notice.first, notice.last);
    else this.change(notice.change, false);
  }

  private resync(): void {
    for (const [session, given] of this.given)
      if (given !== undefined) this.deliver(session, given + 1, Number.MAX_SAFE_INTEGER);
    this.emitter.emit('resync');
    this.wake();
  }

  private change(change: SessionChange, local: boolean): void {
    this.emitter.emit('change', change, local);
    if (!local && change.state === 'queued') this.wake();
    if (change.change === 'deleted') {
      this.given.delete(change.name);
      this.emitter.emit(`deleted:${change.name}`);
    }
  }

  /**
   * Gives the session's listeners its events `first..last`, in order, after those given already:
   * `known` when they are the next ones, else read from the store.
   */
  private deliver(session: string, first: number, last: number, known: readonly Event[] = []): void {
    if (!this.given.has(session)) return;
    void this.queue
      .run(session, async () => {
        let given = this.given.get(session) ?? first - 1;
        while (this.given.has(session) && given < last) {
          const want = Math.min(PAGE, last - given);
          const next =
            known.length && known[0]!.seq <= given + 1
              ? known.filter((event) => event.seq > given)
              : await this.events.after(session, given, want);
          for (const event of next) {
            if (!this.given.has(session)) return;
            given = event.seq;
            this.given.set(session, given);
            this.emitter.emit(`event:${session}`, event);
          }
          // Fewer than asked for: there are no more yet.
          if (next.length < want) break;
        }
      })
      .catch(() => {
        // The store cannot be read now: the next delivery (or the resync) starts after the last event given.
      });
  }
}
