import type Datastore from 'nedb-promises';
import type { components } from '../../sdk/generated/runtime.js';
import { openCollection } from '../common/data-dir.js';
import type { Logger } from '../common/logger.js';
import { HttpProblem } from '../common/problem.js';
import { KeyedLock } from './keyed-lock.js';
import type { SessionChange, SessionService } from './session-service.js';
import { isFinal, lastRun, type StoredRun, type StoredSession } from './session-store.js';

export type Callback = components['schemas']['Callback'];
type StoredCallback = Callback & { _id: string };

/** How much of a child's result a callback message quotes; the rest is one command away. */
export const CALLBACK_RESULT_CHARS = 2000;

/**
 * Callbacks from children to their parents. When a run of a session started with `callback` ends,
 * its outcome is stored (`pending`) before anything else happens; then the parent is resumed with a
 * message holding every pending outcome, once it is idle and none of its other callback children is
 * still active, so a fan-out comes back as one turn. The run that delivers them lists their ids in
 * the same write that queues it, so after a crash a callback is either pending or delivered, never
 * both: a restarted runtime delivers what is pending, exactly once. A parent deleted, or stopped by
 * a person, gets no resume: its callbacks are `dropped`.
 */
export class Callbacks {
  private readonly lock = new KeyedLock();

  private constructor(
    private readonly store: Datastore<StoredCallback>,
    private readonly sessions: SessionService,
    private readonly logger: Logger,
  ) {}

  static async open(dataDir: string, sessions: SessionService, logger: Logger): Promise<Callbacks> {
    const store = await openCollection<StoredCallback>(dataDir, 'callbacks.db', [{ fieldName: 'parent' }, { fieldName: 'status' }]);
    return new Callbacks(store, sessions, logger);
  }

  /** Follows the sessions' changes made by this process from now on (another runtime process calls back for its own). */
  listen(): () => void {
    return this.sessions.onChange((change, local) => local && void this.changed(change).catch((error) => {
      this.logger.error(`callbacks after a change of session '${change.name}' failed (retried at the next start)`, error);
    }));
  }

  /** At start-up: records the outcomes of runs that ended unseen, then delivers everything pending. */
  async recover(): Promise<void> {
    const all = await this.sessions.allStored();
    for (const session of all) {
      for (const run of session.runs) if (isFinal(run.state)) await this.recordOutcome(session, run);
    }
    const parents = new Set((await this.store.find({ status: 'pending' })).map((c) => c.parent));
    for (const parent of parents) await this.deliver(parent);
  }

  async list(parent: string): Promise<Callback[]> {
    const docs = await this.store.find({ parent }).sort({ created_at: 1, _id: 1 });
    return docs.map(({ _id, ...callback }) => callback);
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
    const doc: StoredCallback = {
      _id: `${session.name}#${run.number}#${Date.parse(run.queued_at)}`,
      id: `${session.name}#${run.number}#${Date.parse(run.queued_at)}`,
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
    };
    try {
      await this.store.insert(doc);
    } catch (error) {
      if ((error as { errorType?: string }).errorType !== 'uniqueViolated') throw error;
    }
  }

  /** Resumes the parent with its pending callbacks, when it is idle and no callback child is still active. */
  private deliver(parentName: string): Promise<void> {
    return this.lock.run(parentName, async () => {
      let pending = await this.store.find({ parent: parentName, status: 'pending' }).sort({ created_at: 1, _id: 1 });
      if (!pending.length) return;
      const parent = await this.sessions.getStored(parentName);
      if (!parent) {
        await this.settle(pending, 'dropped', null, 'the parent session was deleted');
        return;
      }
      // Delivered by a run queued just before a crash: settle them as the stored run says.
      for (const run of parent.runs) {
        const done = pending.filter((c) => run.callbacks?.includes(c.id));
        if (done.length) await this.settle(done, 'delivered', run.number);
        pending = pending.filter((c) => !done.includes(c));
      }
      if (!pending.length) return;
      const last = lastRun(parent);
      if (!isFinal(last.state)) return; // delivered when its run ends
      if (last.state === 'stopped' && last.stop_requested && !last.stop_reason) {
        await this.settle(pending, 'dropped', null, 'the parent session was stopped by a person');
        return;
      }
      const all = await this.sessions.allStored();
      if (all.some((s) => s.parent === parentName && s.callback && !isFinal(lastRun(s).state))) return; // all together
      const ids = pending.map((c) => c.id);
      try {
        const resumed = await this.sessions.resume(parentName, callbackMessage(pending), { callbacks: ids });
        await this.settle(pending, 'delivered', resumed.runs.at(-1)?.number ?? null);
      } catch (error) {
        // Resumed by someone else meanwhile: delivered when that run ends.
        if (error instanceof HttpProblem && error.status === 409) return;
        throw error;
      }
    });
  }

  private async settle(callbacks: StoredCallback[], status: 'delivered' | 'dropped', parentRun: number | null, reason?: string): Promise<void> {
    const at = new Date().toISOString();
    for (const callback of callbacks) {
      await this.store.update({ _id: callback._id }, { $set: { status, settled_at: at, parent_run: parentRun, ...(reason ? { reason } : {}) } }, {});
    }
    if (reason) this.logger.info(`${callbacks.length} callback(s) to session '${callbacks[0]?.parent}' dropped: ${reason}`);
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
      lines.push(cut ? `${result.slice(0, CALLBACK_RESULT_CHARS)}… [${result.length - CALLBACK_RESULT_CHARS} more characters: ao-get-result ${c.child}]` : result);
    } else {
      lines.push('(no result)');
    }
    return lines.join('\n');
  });
  const count = callbacks.length === 1 ? 'A session you started has' : `${callbacks.length} sessions you started have`;
  return `${count} ended (callback from the Agent Orchestrator):\n\n${parts.join('\n\n')}\n\nThe full result of each: ao-get-result NAME.`;
}
