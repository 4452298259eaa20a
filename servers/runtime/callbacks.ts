import { Pump } from './pump.js';
import type { Logger } from '../common/logger.js';
import { HttpProblem } from '../common/contract/problem.js';
import { KeyedLock } from './keyed-lock.js';
import type { SessionChange, SessionService } from './session-service.js';
import { isFinal, lastRun, type StoredRun, type StoredSession } from './session-store.js';
import type { Callback, CallbackSettlement, CallbackStore } from './store/interfaces.js';

export type { Callback } from './store/interfaces.js';

/** How much of a child's result a callback message quotes; the rest is one command away. */
export const CALLBACK_RESULT_CHARS = 2000;

/** How often a process sharing its store looks for callbacks that are ready and nobody delivered. */
export const CALLBACK_SWEEP_MS = 3000;

/** How often one delivery reads again after another process delivered some of the callbacks meanwhile. */
const DELIVERY_ATTEMPTS = 3;

export interface CallbacksOptions {
  /**
   * Other runtime processes share the store: changes they make are followed too, and every
   * `sweepMs` one query looks for parents whose callbacks are ready but were not delivered (their
   * process died, or its notice was missed).
   */
  shared?: boolean | undefined;
  sweepMs?: number | undefined;
}

/**
 * Callbacks from children to their parents. When a run of a session started with `callback` ends,
 * its outcome is stored (`pending`, in the store's CallbackStore); then the parent is resumed with a
 * message holding every pending outcome, once it is idle and none of its other callback children is
 * still active, so a fan-out comes back as one turn. The run that delivers them lists their ids in
 * the same write that queues it, so after a crash a callback is either pending or delivered, never
 * both. A parent deleted, or stopped by a person, gets no resume: its callbacks are `dropped`.
 *
 * Exactly once across processes: any process may try to deliver (the one that saw the change, the
 * others hearing of it, a sweep), and the store decides. A resume that lists a callback a run of the
 * parent already lists is refused inside the parent's exclusive write, and a settle changes only a
 * pending callback.
 */
export class Callbacks {
  private readonly lock = new KeyedLock();
  /** The sweep for deliverable parents (a shared store only), one at a time. */
  private readonly sweeping = new Pump(
    () => this.sweep(),
    (error) => this.logger.warn(`could not look for callbacks to deliver: ${(error as Error).message}`),
  );

  constructor(
    private readonly store: CallbackStore,
    private readonly sessions: SessionService,
    private readonly logger: Logger,
    private readonly options: CallbacksOptions = {},
  ) {}

  /**
   * Follows the sessions' changes from now on: this process's, and with a shared store the other
   * processes' too (so a callback is delivered also when the process that recorded it died), which
   * it then also sweeps for. The function returned stops all of it.
   */
  listen(): () => void {
    const shared = this.options.shared ?? false;
    const offChange = this.sessions.onChange(
      (change, local) =>
        (local || shared) &&
        void this.changed(change).catch((error) => {
          this.logger.error(
            `callbacks after a change of session '${change.name}' failed (retried ${shared ? 'by the sweep once recorded, else at the next start' : 'at the next start'})`,
            error,
          );
        }),
    );
    if (!shared) return offChange;
    // Changes of the other processes may have been missed: record and deliver what the store holds.
    const offResync = this.sessions.onResync(
      () =>
        void this.recover().catch((error) => {
          this.logger.warn(`could not look for callbacks after a reconnect: ${(error as Error).message}`);
        }),
    );
    this.sweeping.every(this.options.sweepMs ?? CALLBACK_SWEEP_MS);
    return () => {
      offChange();
      offResync();
      void this.sweeping.close();
    };
  }

  /** Waits for a sweep in flight (after the function `listen` returned was called). */
  async close(): Promise<void> {
    await this.sweeping.close();
  }

  /** At start-up: records the outcomes of runs that ended unseen, then delivers everything pending. */
  async recover(): Promise<void> {
    const all = await this.sessions.allStored();
    for (const session of all) {
      for (const run of session.runs) if (isFinal(run.state)) await this.recordOutcome(session, run);
    }
    for (const parent of await this.store.pendingParents()) await this.deliver(parent);
  }

  list(parent: string): Promise<Callback[]> {
    return this.store.find(parent);
  }

  /** One query for parents whose callbacks are ready; delivers to each. */
  private async sweep(): Promise<void> {
    try {
      for (const parent of await this.store.deliverableParents()) await this.deliver(parent);
    } catch (error) {
      this.logger.warn(`could not look for callbacks to deliver: ${(error as Error).message}`);
    }
  }

  private async changed(change: SessionChange): Promise<void> {
    if (change.change === 'deleted') {
      await this.deliver(change.name);
      return;
    }
    if (!change.state || !isFinal(change.state)) return;
    const session = await this.sessions.getStored(change.name);
    if (!session) return;
    const run = session.runs.find((r) => r.number === change.run) ?? lastRun(session);
    await this.recordOutcome(session, run);
    if (session.callback && session.parent) await this.deliver(session.parent);
    await this.deliver(session.name); // as a parent whose run ended
  }

  private async recordOutcome(session: StoredSession, run: StoredRun): Promise<void> {
    if (!session.callback || !session.parent || !isFinal(run.state)) return;
    const id = `${session.name}#${run.number}#${Date.parse(run.queued_at)}`;
    await this.store.insert({
      id,
      parent: session.parent,
      child: session.name,
      run: run.number,
      state: run.state as Callback['state'],
      result: run.result,
      error: run.error,
      status: 'pending',
      created_at: run.ended_at ?? new Date().toISOString(),
      settled_at: null,
      parent_run: null,
    });
  }

  /** Resumes the parent with its pending callbacks, when it is idle and no callback child is still active. */
  private deliver(parentName: string): Promise<void> {
    return this.lock.run(parentName, async () => {
      for (let attempt = 0; attempt < DELIVERY_ATTEMPTS; attempt++) {
        if (!(await this.deliverOnce(parentName))) return;
      }
    });
  }

  /** One try; resolves true when another writer got in between and the store should be read again. */
  private async deliverOnce(parentName: string): Promise<boolean> {
    let pending = await this.store.find(parentName, 'pending');
    if (!pending.length) return false;
    const parent = await this.sessions.getStored(parentName);
    if (!parent) {
      await this.drop(pending, 'the parent session was deleted');
      return false;
    }
    // Delivered by a run queued just before a crash (or by another process): settle them as the stored run says.
    for (const run of parent.runs) {
      const done = pending.filter((c) => run.callbacks?.includes(c.id));
      if (done.length)
        await this.store.settle(
          done.map((c) => c.id),
          { status: 'delivered', settled_at: new Date().toISOString(), parent_run: run.number },
        );
      pending = pending.filter((c) => !done.includes(c));
    }
    if (!pending.length) return false;
    const last = lastRun(parent);
    if (!isFinal(last.state)) return false; // delivered when its run ends
    if (last.state === 'stopped' && last.stop_requested && !last.stop_reason) {
      await this.drop(pending, 'the parent session was stopped by a person');
      return false;
    }
    const active = await this.sessions.storedChildren(parentName, ['queued', 'running']);
    if (active.some((child) => child.callback)) return false; // all together
    const ids = pending.map((c) => c.id);
    try {
      const resumed = await this.sessions.resume(parentName, callbackMessage(pending), { callbacks: ids });
      await this.store.settle(ids, {
        status: 'delivered',
        settled_at: new Date().toISOString(),
        parent_run: resumed.runs.at(-1)?.number ?? null,
      });
      return false;
    } catch (error) {
      // Resumed by someone else meanwhile, maybe with some of these (delivered when that run ends), or
      // deleted meanwhile (dropped): look again.
      if (error instanceof HttpProblem && (error.status === 409 || error.status === 404)) return true;
      throw error;
    }
  }

  private async drop(callbacks: Callback[], reason: string): Promise<void> {
    const settlement: CallbackSettlement = {
      status: 'dropped',
      settled_at: new Date().toISOString(),
      parent_run: null,
      reason,
    };
    const dropped = await this.store.settle(
      callbacks.map((c) => c.id),
      settlement,
    );
    if (dropped.length)
      this.logger.info(`${dropped.length} callback(s) to session '${callbacks[0]?.parent}' dropped: ${reason}`);
  }
}

/** The message that resumes a parent: each child's name, final state, and result (cut, with the command for all of it). */
export function callbackMessage(callbacks: Callback[]): string {
  const parts = callbacks.map((c) => {
    const lines = [`## ${c.child} (run ${c.run}): ${c.state}`];
    if (c.error && c.state !== 'finished') lines.push(`Error: ${c.error}`);
    const result = c.result ?? '';
    if (result) {
      const cut = result.length > CALLBACK_RESULT_CHARS;
      lines.push(
        cut
          ? `${result.slice(0, CALLBACK_RESULT_CHARS)}… [${result.length - CALLBACK_RESULT_CHARS} more characters: ao-get-result ${c.child}]`
          : result,
      );
    } else {
      lines.push('(no result)');
    }
    return lines.join('\n');
  });
  const count = callbacks.length === 1 ? 'A session you started has' : `${callbacks.length} sessions you started have`;
  return `${count} ended (callback from the Agent Orchestrator):\n\n${parts.join('\n\n')}\n\nThe full result of each: ao-get-result NAME.`;
}
