/**
 * What the executor needs from the runtime, whichever side of a network it is on. The runtime's
 * own executor talks to the session service in-process (`localRunPort`, below); `aof runner` talks
 * to a runtime over HTTP (servers/runner/http-run-port.ts). The executor's code is the same for both:
 * it claims a run, runs Claude Code, reports what it said under its lease, and obeys stop.
 */
import { HttpProblem } from '../../common/problem.js';
import type { LeaseStatus } from '../leases.js';
import type { RunLeases } from '../run-leases.js';
import type { SessionService } from '../session-service.js';
import { adopt, isHeldBy, retry } from '../run-machine.js';
import { isFinal, lastRun, type EventInput, type StoredRun, type StoredSession } from '../session-store.js';

/** A run this runner holds a lease on, with what it needs to run it. */
export interface ClaimedRun {
  session: StoredSession;
  run: StoredRun;
  attempt: number;
  /** Events of this attempt the runtime has: where the next report starts. */
  reported: number;
  /** Claude Code's conversation as saved after the session's last run (gzip), if the runtime keeps one. */
  conversation?: Buffer | null | undefined;
  /**
   * The run's own credential, the only one its agent gets. Known to the runner that claimed the run;
   * a re-adopted agent has it in its environment already.
   */
  credential?: string | undefined;
}

export interface RunPort {
  /** The runner's name, in its leases. */
  readonly runner: string;
  /** Whether `claim` waits for a run itself (a long poll); else the executor polls. */
  readonly waits: boolean;
  /** How long a lease lasts; heartbeats go three times as often. */
  readonly leaseMs: number;
  /** The next run to start, leased to this runner, or null. */
  claim(): Promise<ClaimedRun | null>;
  /** The runs this runner held when it last stopped: to re-adopt their agents. */
  held(): Promise<ClaimedRun[]>;
  /**
   * Reports events (and the start, with `started`) of the claimed run; resolves false when the run is
   * no longer this runner's (deleted, ended, or its lease lost): its agent must end.
   */
  record(claim: ClaimedRun, events: EventInput[], options?: RecordOptions): Promise<boolean>;
  /** Events of the run that came from the agent's output, as the runtime has them. */
  parsedEvents(claim: ClaimedRun): Promise<number>;
  /** The answer broke the output schema: the run asks `prompt` once more. */
  startRetry(claim: ClaimedRun, prompt: string): Promise<void>;
  /** Whether a stop was asked for (or the run is no longer this runner's). */
  stopRequested(claim: ClaimedRun): Promise<boolean>;
  /** Extends the leases; says of each claim whether it is held, to stop, or lost. */
  heartbeat(claims: readonly ClaimedRun[]): Promise<LeaseStatus[]>;
}

export interface RecordOptions {
  force?: boolean;
  started?: boolean;
  /** Claude Code's conversation after the run (gzip): kept with the session, before the events. */
  conversation?: Buffer | undefined;
}

/** Whether an error says the run is not (or no longer) this runner's to report on. */
export function isGone(error: unknown): boolean {
  return error instanceof HttpProblem && (error.status === 404 || error.status === 409);
}

/** The runtime's own runner: the same executor, reporting to the session service in this process. */
export function localRunPort(
  sessions: SessionService,
  leases: RunLeases,
  runner: string,
  tags: readonly string[] = [],
): RunPort {
  const leaseMs = leases.options.leaseMs;
  return {
    runner,
    waits: false,
    leaseMs,
    async claim() {
      const claim = await leases.claim({ runner, tags });
      return (
        claim && {
          session: claim.session,
          run: lastRun(claim.session),
          attempt: claim.attempt,
          reported: 0,
          conversation: claim.conversation,
          credential: claim.credential,
        }
      );
    },
    async held() {
      // Runs this runner holds, and running runs of a runtime from before leases existed.
      const held: ClaimedRun[] = [];
      for (const stored of (await sessions.active()).filter((session) => isHeldBy(session, runner))) {
        const claim = await sessions.update(stored.name, (session, now) => {
          const adopted = adopt(session, runner, now, leaseMs);
          return adopted && { session, ...adopted };
        });
        if (claim) held.push(claim);
      }
      return held;
    },
    async record(claim, events, { conversation, ...options } = {}) {
      try {
        if (conversation) await sessions.saveConversation(claim.session.name, conversation);
        await sessions.record(claim.session.name, events, {
          run: claim.run.number,
          ...options,
          lease: { runner, attempt: claim.attempt, from: claim.reported, leaseMs },
        });
        claim.reported += events.length;
        return true;
      } catch (error) {
        if (isGone(error)) return false;
        throw error;
      }
    },
    parsedEvents: (claim) => sessions.countParsedEvents(claim.session.name, claim.run.number),
    async startRetry(claim, prompt) {
      const events = await sessions.countParsedEvents(claim.session.name, claim.run.number);
      await sessions.updateRun(claim.session.name, claim.run.number, (run) => retry(run, prompt, events));
    },
    async stopRequested(claim) {
      const session = await sessions.getStored(claim.session.name);
      const run = session && lastRun(session);
      return !run || run.number !== claim.run.number || isFinal(run.state) || run.stop_requested === true;
    },
    async heartbeat(claims) {
      const answers = await leases.heartbeat(
        runner,
        claims.map((c) => ({ session: c.session.name, run: c.run.number, attempt: c.attempt })),
      );
      return answers.map((a) => a.status);
    },
  };
}
