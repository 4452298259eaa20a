/**
 * What the executor needs from the runtime, whichever side of a network it is on. The runtime's
 * own executor talks to the session service in-process (servers/runtime/run-port.ts); `aof runner`
 * talks to a runtime over HTTP (servers/runner/http-run-port.ts). The executor's code is the same for
 * both: it claims a run (its RunSpec), runs the agent, reports what it said under its lease, and obeys stop.
 */
import type { components } from '../../sdk/generated/runtime.js';
import { HttpProblem } from '../common/contract/problem.js';
import type { RunSpec } from './run-spec.js';

export type EventInput = components['schemas']['EventInput'];
export type LeaseStatus = components['schemas']['LeaseStatus']['status'];
export type WarmPoolKey = components['schemas']['WarmPoolKey'];

/** A run this runner holds a lease on, with what it needs to run it. */
export interface ClaimedRun {
  spec: RunSpec;
  attempt: number;
  /** Events of this attempt the runtime has: where the next report starts. */
  reported: number;
  /** The run was started before (its agent may still be there to re-adopt); absent: not known to have been. */
  running?: boolean | undefined;
  /** When it started, if it did. */
  startedAt?: string | null | undefined;
  /** A stop was asked for already. */
  stopRequested?: boolean | undefined;
  /** The run is in its output-schema retry: its prompt, and the events recorded before it. */
  retry?: { prompt: string; events_before: number } | null | undefined;
}

export interface RunPort {
  /** The runner's name, in its leases. */
  readonly runner: string;
  /** Whether `claim` waits for a run itself (a long poll); else the executor polls. */
  readonly waits: boolean;
  /** How long a lease lasts; heartbeats go three times as often. */
  readonly leaseMs: number;
  /** Where the agents reach the runtime (AGENT_ORCHESTRATOR_SESSION_API_URL); empty when not known yet. */
  readonly runtimeUrl: string;
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
  /**
   * Extends the leases; says of each claim whether it is held, to stop, or lost. `warmPool`: the
   * executor's warm processes per key, for a port that tells the runtime (`reportsWarmPool`).
   */
  heartbeat(claims: readonly ClaimedRun[], warmPool?: WarmPoolKey[]): Promise<LeaseStatus[]>;
  /** Whether heartbeats tell the runtime the warm pool (a runner's: the runtime cannot see it otherwise). */
  readonly reportsWarmPool?: boolean;
}

export interface RecordOptions {
  force?: boolean;
  started?: boolean;
  /** The agent's conversation after the run (gzip): kept with the session, before the events. */
  conversation?: Buffer | undefined;
}

/** Whether an error says the run is not (or no longer) this runner's to report on. */
export function isGone(error: unknown): boolean {
  return error instanceof HttpProblem && (error.status === 404 || error.status === 409);
}
