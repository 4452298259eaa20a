/**
 * The stall watchdog (the rules are stall-rules.ts): looks at the running runs every `checkMs`, and
 * for each one silent past its blueprint's `stall_after_seconds` records a `stalled` event (once per
 * run: of several processes finding it at once, one records it) and takes the blueprint's
 * `stall_action`: `notify` leaves it running; `stop` stops it with the reason; `nudge` stops it the
 * same way and, once the run has ended, resumes the session with a short status question. One per
 * runtime process, on its start/close lifecycle.
 */
import type { Logger } from '../common/logger.js';
import { HttpProblem } from '../common/contract/problem.js';
import { Pump } from './pump.js';
import type { SessionService } from './session-service.js';
import { isFinal } from './session-store.js';
import { nudgePrompt, type Stall, stallOf, stallReason } from './stall-rules.js';

export const DEFAULT_STALL_CHECK_MS = 5_000;

export class StallWatchdog {
  private readonly pump: Pump;

  constructor(
    private readonly sessions: SessionService,
    private readonly logger: Logger,
    private readonly checkMs = DEFAULT_STALL_CHECK_MS,
  ) {
    this.pump = new Pump(
      () => this.check(),
      (error) => logger.warn(`could not look for stalled runs: ${(error as Error).message}`),
    );
  }

  start(): void {
    this.pump.every(this.checkMs);
  }

  close(): Promise<void> {
    return this.pump.close();
  }

  private async check(): Promise<void> {
    const now = Date.now();
    for (const session of await this.sessions.inStates(['running'])) {
      const stall = stallOf(session, now);
      if (stall) await this.act(stall).catch((error) => this.failed(stall, error));
    }
  }

  private async act(stall: Stall): Promise<void> {
    const recorded = await this.sessions.record(
      stall.session,
      [{ type: 'stalled', data: { silent_seconds: stall.silentSeconds, action: stall.action } }],
      { run: stall.run },
    );
    // Recorded by another process, or the run ended meanwhile.
    if (!recorded.length) return;
    this.logger.warn(
      `run ${stall.run} of session '${stall.session}' stalled: no event for ${stall.silentSeconds} s (${stall.action})`,
    );
    if (stall.action === 'notify') return;
    const stopped = await this.sessions.stop(stall.session, { reason: stallReason(stall) });
    if (stall.action !== 'nudge') return;
    const run = stopped.runs[stopped.runs.length - 1];
    // Still ending on a runner elsewhere: no nudge (it would find the run in flight).
    if (!run || run.number !== stall.run || !isFinal(run.state)) return;
    await this.sessions.resume(stall.session, nudgePrompt(stall), { after: stall.run });
    this.logger.info(`nudged session '${stall.session}' (run ${stall.run + 1}) after its stalled run`);
  }

  private failed(stall: Stall, error: unknown): void {
    // Ended, resumed or deleted meanwhile: nothing left to do.
    if (error instanceof HttpProblem && (error.status === 404 || error.status === 409)) return;
    this.logger.warn(`could not act on the stalled run of session '${stall.session}': ${(error as Error).message}`);
  }
}
