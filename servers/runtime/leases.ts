/**
 * Leases on runs: which runner may run a queued run, for how long, and under which attempt number.
 * Pure (the time is an argument), so every rule is unit-tested (test/runtime/leases.test.ts).
 *
 * Why a lease and not a flag: a runner can die, lose its network or come back late. A lease expires
 * unless the runner's heartbeats keep extending it, so a run is never held by a runner that is gone;
 * and every claim raises the run's attempt number, which every report names, so a runner that comes
 * back after its lease was given up is refused (fenced) instead of writing over the next attempt.
 */
import { conflict, HttpProblem } from '../common/contract/problem.js';
import { isFinal, lastRun, type StoredRun, type StoredSession } from './session-store.js';

/** 30 s: long enough that a runner's brief network hiccup (heartbeats every 10 s) keeps its runs. */
export const DEFAULT_LEASE_SECONDS = 30;

/** A run's lease, kept with the run. Left on the run once it ended (the runner that ran it). */
export interface RunLease {
  runner: string;
  host?: string | undefined;
  attempt: number;
  expires_at: string;
  /** Events of this attempt the runtime has from the runner (what `from` in a report counts). */
  reported: number;
}

/** Who asks for a run. */
export interface RunnerOffer {
  runner: string;
  host?: string | undefined;
  tags: readonly string[];
}

export type LeaseStatus = 'held' | 'stop' | 'lost';

const at = (now: number) => new Date(now).toISOString();

/** Whether a lease ending at `expiresAt` (none: null or undefined) still holds at `now`. */
const holdsAt = (expiresAt: string | null | undefined, now: number) =>
  expiresAt !== null && expiresAt !== undefined && expiresAt > at(now);

/** Whether the run is held by a lease that has not expired. */
export function isLeased(run: StoredRun, now: number): boolean {
  return !isFinal(run.state) && holdsAt(run.lease?.expires_at, now);
}

/**
 * What a claim needs to know of a session whose last run is queued or running, and nothing more:
 * the fields the stores' claims select by (the columns and indexes of their run records).
 */
export interface QueueEntry {
  name: string;
  state: 'queued' | 'running';
  queued_at: string;
  /** When the run's lease ends, if it has one (claimed, or running on a runner). */
  lease_expires_at: string | null;
  stop_requested: boolean;
  runner_tags: readonly string[];
}

/** The session as the run queue holds it, or null when its last run has ended. */
export function queueEntry(session: StoredSession): QueueEntry | null {
  const run = lastRun(session);
  if (run.state !== 'queued' && run.state !== 'running') return null;
  return {
    name: session.name,
    state: run.state,
    queued_at: run.queued_at,
    lease_expires_at: run.lease?.expires_at ?? null,
    stop_requested: run.stop_requested === true,
    runner_tags: session.runner_tags ?? [],
  };
}

/** Claim order: first come first served (`queued_at`), then by name. */
export function compareQueueOrder(a: QueueEntry, b: QueueEntry): number {
  return a.queued_at < b.queued_at
    ? -1
    : a.queued_at > b.queued_at
      ? 1
      : a.name < b.name
        ? -1
        : a.name > b.name
          ? 1
          : 0;
}

/** Runs in flight: running, or claimed and not yet started. What the global cap counts. */
export function inFlight(queue: readonly QueueEntry[], now: number): number {
  return queue.filter((entry) => entry.state === 'running' || holdsAt(entry.lease_expires_at, now)).length;
}

/** The queued runs `offer` may claim, in claim order. */
export function claimable(queue: readonly QueueEntry[], offer: Pick<RunnerOffer, 'tags'>, now: number): QueueEntry[] {
  return queue.filter((entry) => isClaimable(entry, offer, now)).sort(compareQueueOrder);
}

/** Queued, not being stopped, held by no live lease, and `offer` has every tag the session asks for. */
function isClaimable(entry: QueueEntry, offer: Pick<RunnerOffer, 'tags'>, now: number): boolean {
  return (
    entry.state === 'queued' &&
    !entry.stop_requested &&
    !holdsAt(entry.lease_expires_at, now) &&
    entry.runner_tags.every((tag) => offer.tags.includes(tag))
  );
}

/** Whether `offer` may claim the session's last run now (checked again on the session itself, under its hold). */
export function canClaim(session: StoredSession, offer: RunnerOffer, now: number): boolean {
  const entry = queueEntry(session);
  return entry !== null && isClaimable(entry, offer, now);
}

/** Gives `offer` a lease on the session's last run (a new attempt); returns the attempt number. */
export function grant(session: StoredSession, offer: RunnerOffer, now: number, leaseMs: number): number {
  const run = lastRun(session);
  const attempt = (run.lease?.attempt ?? 0) + 1;
  run.lease = {
    runner: offer.runner,
    ...(offer.host ? { host: offer.host } : {}),
    attempt,
    expires_at: at(now + leaseMs),
    reported: 0,
  };
  run.runner = offer.host ? `${offer.runner}@${offer.host}` : offer.runner;
  return attempt;
}

/** Whether `runner` holds the run under `attempt` (expired or not: the sweeper decides expiry). */
export function holds(
  run: StoredRun | undefined,
  runner: string,
  attempt: number,
): run is StoredRun & { lease: RunLease } {
  return run?.lease !== undefined && run.lease.runner === runner && run.lease.attempt === attempt;
}

/** Refuses a runner that no longer holds the run (409 `lease-lost`): it must end its agent. */
export function checkHolds(
  session: StoredSession,
  run: StoredRun,
  runner: string,
  attempt: number,
): asserts run is StoredRun & { lease: RunLease } {
  if (!holds(run, runner, attempt) || lastRun(session) !== run) {
    throw new HttpProblem(
      409,
      `Runner '${runner}' no longer holds run ${run.number} of session '${session.name}' (attempt ${attempt}); end its agent`,
      {
        code: 'lease-lost',
      },
    );
  }
}

/** What a heartbeat answers for one of the runner's runs, extending the lease when it is still held. */
export function beat(
  session: StoredSession | null,
  runNumber: number,
  runner: string,
  attempt: number,
  now: number,
  leaseMs: number,
): LeaseStatus {
  const run = session ? lastRun(session) : undefined;
  if (!session || !run || run.number !== runNumber || isFinal(run.state) || !holds(run, runner, attempt)) return 'lost';
  run.lease!.expires_at = at(now + leaseMs);
  return run.stop_requested ? 'stop' : 'held';
}

/** Whether the run's lease has expired while the run is still in flight: its runner is gone. */
export function isExpired(run: StoredRun, now: number): boolean {
  return !isFinal(run.state) && run.lease !== undefined && run.lease.expires_at <= at(now);
}

/** Why a run whose runner stopped answering failed. */
export function runnerLostReason(lease: RunLease): string {
  const who = lease.host ? `'${lease.runner}' on ${lease.host}` : `'${lease.runner}'`;
  return `runner lost: runner ${who} stopped answering and its lease expired at ${lease.expires_at}`;
}

/** The events of a report that the runtime does not have yet; throws when some would be missing. */
export function freshEvents<T>(events: readonly T[], from: number, reported: number): T[] {
  if (from > reported) {
    throw conflict(
      `The report starts at event ${from} of this attempt, but the runtime has ${reported}: send from ${reported}`,
    );
  }
  return events.slice(reported - from);
}
