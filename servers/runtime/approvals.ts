import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { components } from '../../sdk/generated/runtime.js';
import type { Logger } from '../common/logger.js';
import { conflict, HttpProblem, notFound } from '../common/contract/problem.js';
import type { Principal } from '../common/http/principal.js';
import { describePrincipal } from '../../sdk/principal.js';
import { KeyedLock } from './keyed-lock.js';
import type { SessionService } from './session-service.js';
import { isFinal, lastRun, type EventInput } from './session-store.js';
import type { Approval, ApprovalOutcome, ApprovalState, ApprovalStore } from './store/interfaces.js';

export type ApprovalAsk = components['schemas']['ApprovalAsk'];
export type ApprovalAnswer = components['schemas']['ApprovalAnswer'];
export type ApprovalPolicy = NonNullable<components['schemas']['Blueprint']['approval']>;

/** How long a request waits for a person when the policy does not say: long enough to be seen. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 600;

/** What the model is told when nobody answered in time and the policy denies. */
export function timeoutMessage(policy: ApprovalPolicy): string {
  const seconds = policy.timeout_seconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
  return (
    policy.timeout_message ??
    `Nobody answered this permission request within ${seconds} seconds, so it was denied. Do not try it again; find another way or finish without it.`
  );
}

export const DENIED_BY_PERSON = 'A person denied this tool use.';
const RUN_ENDED = 'The run ended before anyone answered.';

/**
 * Approval requests: what an agent in approval mode asks before using a tool, kept until a person,
 * the timeout or the end of the run answers it. Each session's count of pending requests is its
 * waiting flag. Requests are stored, so a runtime restart loses none: pending ones get their timers
 * back, and the permission tool, which keeps asking, gets the answer from the new runtime.
 *
 * Several runtime processes may share the store (PostgreSQL): a request asked through one is listed,
 * answered and waited for through any. The store is the truth: an answer is given once, by the store's
 * conditional update, whichever process gives it; every change of a session's requests reaches the
 * other processes as an `approvals` session change, on which they read its requests again (waking
 * their waiters, timing the new ones: the first timer to fire settles a request, the others find it
 * answered).
 */
export class ApprovalService {
  // One key per session: a question, its answer and the session's count never interleave here.
  private readonly lock = new KeyedLock();
  private readonly timers = new Map<string, { session: string; timer: NodeJS.Timeout }>();
  private readonly bus = new EventEmitter().setMaxListeners(0);
  private offChange: (() => void) | undefined;

  private constructor(
    private readonly store: ApprovalStore,
    private readonly sessions: SessionService,
    private readonly logger: Logger,
  ) {}

  /** Settles what a previous runtime left pending in `store`, and follows the sessions. */
  static async open(store: ApprovalStore, sessions: SessionService, logger: Logger): Promise<ApprovalService> {
    const service = new ApprovalService(store, sessions, logger);
    await service.recover();
    return service;
  }

  close(): void {
    this.offChange?.();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /* ---------- queries ---------- */

  async list(query: { state?: ApprovalState; session?: string } = {}): Promise<Approval[]> {
    return this.store.find(query);
  }

  /** The request, after waiting up to `waitSeconds` for a pending one to be answered. */
  async get(id: string, waitSeconds = 0): Promise<Approval> {
    let approval = await this.require(id);
    if (approval.state === 'pending' && waitSeconds > 0) {
      const { session } = approval;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.bus.off(id, done);
          this.bus.off(sessionKey(session), look);
          resolve();
        };
        // The session's requests changed (here or in another process): is this one still pending?
        const look = () => void this.store.get(id).then((current) => current?.state !== 'pending' && done(), done);
        const timer = setTimeout(done, waitSeconds * 1000);
        this.bus.on(id, done);
        this.bus.on(sessionKey(session), look);
        // Answered between the first read and the subscription.
        look();
      });
      approval = await this.require(id);
    }
    return approval;
  }

  /* ---------- commands ---------- */

  /** A new pending request for the session's active run, or the one already asked for this tool_use_id. */
  async ask(name: string, ask: ApprovalAsk): Promise<Approval> {
    return this.lock.run(name, async () => {
      const session = await this.sessions.getStored(name);
      if (!session) throw notFound(`Session '${name}' not found`, 'session-not-found');
      const run = lastRun(session);
      if (isFinal(run.state))
        throw conflict(
          `Run ${run.number} of session '${name}' has ended (${run.state}); it can ask nothing more`,
          'run-ended',
        );
      if (ask.tool_use_id) {
        const [existing] = await this.store.find({ session: name, run: run.number, tool_use_id: ask.tool_use_id });
        if (existing) return existing;
      }
      const policy = session.blueprint?.approval ?? {};
      const now = Date.now();
      const approval: Approval = {
        id: `apr_${randomBytes(9).toString('hex')}`,
        session: name,
        run: run.number,
        tool: ask.tool,
        input: ask.input,
        tool_use_id: ask.tool_use_id ?? null,
        state: 'pending',
        asked_at: new Date(now).toISOString(),
        expires_at: new Date(now + (policy.timeout_seconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS) * 1000).toISOString(),
        answered_at: null,
        answered_by: null,
        message: null,
      };
      // Asked again through another process meanwhile: that request is the one.
      const stored = await this.store.insert(approval);
      if (stored.id !== approval.id) return stored;
      this.schedule(approval);
      await this.recordEvent(name, run.number, {
        type: 'approval_request',
        data: { id: approval.id, tool: approval.tool, input: approval.input, expires_at: approval.expires_at },
      });
      await this.sessions.approvalsChanged(name);
      return approval;
    });
  }

  /** Approves or denies a pending request (409 once it is answered); `answerer`: who answers. */
  async answer(id: string, answer: ApprovalAnswer, answerer?: Principal): Promise<Approval> {
    const { session } = await this.require(id);
    return this.lock.run(session, async () => {
      const answered = await this.settle(
        id,
        answer.decision === 'approve'
          ? { state: 'approved', by: 'person', message: null, answerer }
          : { state: 'denied', by: 'person', message: answer.message ?? DENIED_BY_PERSON, answerer },
      );
      if (answered) return answered;
      const approval = await this.require(id);
      throw conflict(
        `Approval request ${id} is already ${approval.state}${approval.answerer ? ` (by ${describePrincipal(approval.answerer)})` : approval.answered_by ? ` (by ${approval.answered_by.replace('_', ' ')})` : ''}`,
        'approval-answered',
      );
    });
  }

  /* ---------- internals ---------- */

  /** Answers the request if it is still pending; null when it was answered already (here or elsewhere). */
  private async settle(
    id: string,
    outcome: {
      state: ApprovalState;
      by: ApprovalOutcome['answered_by'];
      message: string | null;
      answerer?: Principal | undefined;
    },
  ): Promise<Approval | null> {
    const approval = await this.store.settle(id, {
      state: outcome.state,
      answered_by: outcome.by,
      answered_at: new Date().toISOString(),
      message: outcome.message,
      ...(outcome.answerer ? { answerer: outcome.answerer } : {}),
    });
    this.unschedule(id);
    if (!approval) return null;
    if (outcome.by !== 'run_ended') {
      await this.recordEvent(approval.session, approval.run, {
        type: 'approval_answer',
        data: {
          id,
          tool: approval.tool,
          state: approval.state,
          answered_by: approval.answered_by,
          ...(approval.answerer ? { answerer: approval.answerer } : {}),
          message: approval.message,
        },
      });
    }
    await this.sessions.approvalsChanged(approval.session);
    this.bus.emit(id);
    return approval;
  }

  private schedule(approval: Approval): void {
    if (this.timers.has(approval.id)) return;
    const delay = Math.max(0, Date.parse(approval.expires_at) - Date.now());
    const timer = setTimeout(
      () =>
        void this.expire(approval).catch((error) => {
          this.logger.error(`could not settle approval request ${approval.id} at its timeout`, error);
        }),
      delay,
    );
    timer.unref();
    this.timers.set(approval.id, { session: approval.session, timer });
  }

  private unschedule(id: string): void {
    clearTimeout(this.timers.get(id)?.timer);
    this.timers.delete(id);
  }

  private async expire(approval: Approval): Promise<void> {
    this.timers.delete(approval.id);
    const session = await this.sessions.getStored(approval.session);
    const policy = session?.blueprint?.approval ?? {};
    const allow = policy.on_timeout === 'allow';
    await this.lock.run(approval.session, async () => {
      await this.settle(
        approval.id,
        allow
          ? { state: 'approved', by: 'timeout', message: null }
          : { state: 'denied', by: 'timeout', message: timeoutMessage(policy) },
      );
    });
  }

  /** Pending requests of runs that are over can never be answered usefully: they are cancelled. */
  private async cancelEnded(name: string): Promise<void> {
    await this.lock.run(name, async () => {
      const pending = await this.store.find({ session: name, state: 'pending' });
      if (!pending.length) return;
      // Read after the requests: a request of a run started since is seen with that run.
      const session = await this.sessions.getStored(name);
      const run = session ? lastRun(session) : undefined;
      for (const approval of pending) {
        if (run && approval.run === run.number && !isFinal(run.state)) continue;
        await this.settle(approval.id, { state: 'cancelled', by: 'run_ended', message: RUN_ENDED });
      }
    });
  }

  private async recover(): Promise<void> {
    // Changes made by other processes too: they cancel and forget at once (the store keeps the
    // answer once), and their changes to requests are read from the store.
    this.offChange = this.sessions.onChange((change, local) => {
      const work =
        change.change === 'deleted'
          ? this.forget(change.name)
          : change.change === 'state' && change.state && isFinal(change.state)
            ? this.cancelEnded(change.name)
            : change.change === 'approvals' && !local
              ? this.follow(change.name)
              : undefined;
      void work?.catch((error) =>
        this.logger.error(`could not update the approval requests of session '${change.name}'`, error),
      );
    });
    const pending = await this.store.find({ state: 'pending' });
    for (const name of new Set(pending.map((approval) => approval.session))) {
      if (!(await this.sessions.getStored(name))) {
        await this.forget(name);
        continue;
      }
      await this.cancelEnded(name);
    }
    const stillPending = await this.store.find({ state: 'pending' });
    stillPending.forEach((approval) => {
      this.schedule(approval);
    });
    // A crash may have come between a request and its count: every session's flag is made true again.
    const counts = new Map<string, number>();
    for (const approval of stillPending) counts.set(approval.session, (counts.get(approval.session) ?? 0) + 1);
    for (const session of await this.sessions.allStored()) {
      if ((session.pending_approvals ?? 0) !== (counts.get(session.name) ?? 0))
        await this.sessions.approvalsChanged(session.name);
    }
  }

  /** Another process changed the session's requests: new pending ones are timed here too, waiters look again. */
  private async follow(name: string): Promise<void> {
    const pending = await this.store.find({ session: name, state: 'pending' });
    pending.forEach((approval) => {
      this.schedule(approval);
    });
    const still = new Set(pending.map((approval) => approval.id));
    for (const [id, { session }] of this.timers) if (session === name && !still.has(id)) this.unschedule(id);
    this.bus.emit(sessionKey(name));
  }

  private async forget(name: string): Promise<void> {
    for (const [id, { session }] of this.timers) if (session === name) this.unschedule(id);
    await this.store.removeSession(name);
    this.bus.emit(sessionKey(name));
  }

  private async recordEvent(name: string, run: number, event: EventInput): Promise<void> {
    try {
      await this.sessions.record(name, [event], { run, force: true });
    } catch (error) {
      // The run moved on or the session went away: the request itself is what counts.
      if (error instanceof HttpProblem && (error.status === 404 || error.status === 409)) return;
      throw error;
    }
  }

  private async require(id: string): Promise<Approval> {
    const approval = await this.store.get(id);
    if (!approval) throw notFound(`Approval request '${id}' not found`, 'approval-not-found');
    return approval;
  }
}

/** What waiters on a session's requests listen to: they changed, look again. */
const sessionKey = (session: string) => `session:${session}`;
