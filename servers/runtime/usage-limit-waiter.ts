/**
 * Waits out the account's usage limits (the rules are usage-limits.ts): resumes each session whose
 * last run ended on the limit when its `resume_at` comes, and meanwhile keeps the queued runs of the
 * same account from being claimed. One per runtime process, on its start/close lifecycle.
 *
 * It knows the limited runs this process records as they end (a run observer), and looks for those
 * other processes recorded (or that ended before a restart) at start and every `rescanMs`. A resume
 * is queued only if the limited run is still the session's last (`resume(..., { after })`, under the
 * session's hold), so of several processes due at once one resumes it.
 */
import type { Logger } from '../common/logger.js';
import { HttpProblem } from '../common/contract/problem.js';
import { Pump } from './pump.js';
import type { SessionService } from './session-service.js';
import { lastRun, type StoredRun, type StoredSession } from './session-store.js';
import {
  accountOf,
  dueResumes,
  heldAccounts,
  limitedRun,
  nextDue,
  resumePrompt,
  type LimitedRun,
  type LimitPolicy,
} from './usage-limits.js';

export interface UsageLimitWaiterOptions {
  policy: LimitPolicy;
  logger: Logger;
  /** How often it looks for limited runs other processes recorded. */
  rescanMs?: number;
}

export class UsageLimitWaiter {
  private readonly limited = new Map<string, LimitedRun>();
  private readonly pump: Pump;
  private timer: NodeJS.Timeout | undefined;
  private scannedAt = 0;
  private closed = false;

  constructor(
    private readonly sessions: SessionService,
    private readonly options: UsageLimitWaiterOptions,
  ) {
    this.pump = new Pump(
      () => this.tick(),
      (error) => options.logger.warn(`could not resume sessions after their usage limit: ${(error as Error).message}`),
    );
  }

  get rescanMs(): number {
    return this.options.rescanMs ?? 60_000;
  }

  start(): void {
    this.pump.every(this.rescanMs).wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.pump.close();
  }

  /** A run ended here (the run observer's `ended`): kept when it ended on the limit. */
  ended(session: StoredSession, _run: StoredRun): void {
    const entry = limitedRun(session, this.options.policy);
    if (!entry) {
      this.limited.delete(session.name);
      return;
    }
    this.limited.set(session.name, entry);
    const { logger, policy } = this.options;
    const run = lastRun(session);
    logger.info(`session '${session.name}' run ${run.number} ${run.error ?? 'hit the usage limit'}`);
    if (!entry.resumeAt && run.usage_limit?.attempt && run.usage_limit.attempt > policy.maxAttempts)
      logger.warn(`session '${session.name}' is left stopped after ${policy.maxAttempts} usage-limit retries`);
    this.pump.wake();
  }

  /**
   * The only sessions whose queued runs may be claimed now: while a usage limit holds an account, the
   * queued sessions of the other accounts (one queued after this look waits for the next claim);
   * undefined when no account is held.
   */
  async claimable(): Promise<string[] | undefined> {
    const held = heldAccounts(this.limited.values(), Date.now());
    if (!held.size) return undefined;
    const active = await this.sessions.active();
    return active
      .filter((session) => lastRun(session).state === 'queued' && !held.has(accountOf(session)))
      .map((session) => session.name);
  }

  private async tick(): Promise<void> {
    if (Date.now() - this.scannedAt >= this.rescanMs) await this.scan();
    for (const entry of dueResumes(this.limited.values(), Date.now())) await this.resume(entry);
    // A hold that ended lets the account's queued runs go: claims look again now.
    this.sessions.wake();
    this.schedule();
  }

  /** The limited runs in the store (others' and before a restart): sessions stopped on the limit. */
  private async scan(): Promise<void> {
    const stopped = await this.sessions.inStates(['stopped']);
    this.limited.clear();
    for (const session of stopped) {
      const entry = limitedRun(session, this.options.policy);
      if (entry) this.limited.set(session.name, entry);
    }
    this.scannedAt = Date.now();
  }

  private async resume(entry: LimitedRun): Promise<void> {
    this.limited.delete(entry.session);
    const session = await this.sessions.getStored(entry.session);
    const run = session?.runs.find((r) => r.number === entry.run);
    if (!session || !run || lastRun(session) !== run) return;
    try {
      await this.sessions.resume(entry.session, resumePrompt(run.prompt), { after: entry.run });
      this.options.logger.info(`resumed session '${entry.session}' after its usage limit (run ${entry.run + 1})`);
    } catch (error) {
      // Resumed meanwhile (by a person, or by another process), or deleted: nothing to do.
      if (error instanceof HttpProblem && (error.status === 409 || error.status === 404)) return;
      throw error;
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    const next = nextDue(this.limited.values(), Date.now());
    if (next === null) return;
    this.timer = setTimeout(() => this.pump.wake(), Math.max(0, next - Date.now()));
    this.timer.unref();
  }
}
