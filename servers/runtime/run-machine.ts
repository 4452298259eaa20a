/**
 * The run state machine: the one place where a run changes. Every transition is here, pure (the
 * time is an argument, in milliseconds, read from the store's clock by the caller), so each rule is
 * unit-tested (test/runtime/run-machine.test.ts); the services load a run, apply a transition and
 * store what it gave.
 *
 *   queue   a new run at the end of a session (`queue`), or a session's first (`newRun`)
 *   lease   grant (`claim`), beat (`heartbeat`), expire (`isExpired`), re-adopt (`adopt`); each claim
 *           raises the fencing `attempt`, and a report under an older attempt is refused (leases.ts)
 *   start   the run's process exists (`start`), or its agent's first event arrived (`record`)
 *   record  events move the run: a result, the end (`record`); a runner's report is fenced first (`admit`)
 *   retry   the answer broke the output schema, the agent is asked once more (`retry`)
 *   end     `session_stop` (recorded), or a failure before it could start (`fail`); a run whose
 *           result said the account's usage limit was hit ends `stopped` with `usage_limit` (usage-limits.ts)
 *   stop    a stop is asked for (`requestStop`); the end then reads `stopped`
 *
 * PostgreSQL claims in one statement (store/postgres-runs.ts): the same rule as `claim`, in SQL, on
 * the database's clock; the store conformance suite holds both stores to it.
 */
import { mintCredential } from './agent-credentials.js';
import { conflict } from '../common/contract/problem.js';
import { canClaim, checkHolds, freshEvents, grant, beat, holds, type LeaseStatus, type RunnerOffer } from './leases.js';
import { isFinal, lastRun, newRun, type EventInput, type StoredRun, type StoredSession } from './session-store.js';
import { addFirstAttempt, judgeAnswer, startRetry } from './structured-output.js';
import { DEFAULT_LIMIT_POLICY, limitOutcome, limitReason, type LimitPolicy } from './usage-limits.js';

export { newRun };

const iso = (now: number) => new Date(now).toISOString();

/* ---------- queue ---------- */

/** Queues the session's next run (the session must have ended its last); returns it. */
export function queue(session: StoredSession, prompt: string, now: number, callbacks?: string[]): StoredRun {
  const run: StoredRun = {
    ...newRun(lastRun(session).number + 1, prompt, iso(now)),
    ...(callbacks ? { callbacks } : {}),
  };
  session.runs.push(run);
  return run;
}

/* ---------- lease ---------- */

/**
 * Leases the session's last run to `offer` when it may claim it now: a new attempt, and a new
 * credential for it (an attempt that lost its lease loses its credential too). Null when it may not.
 */
export function claim(
  session: StoredSession,
  offer: RunnerOffer,
  now: number,
  leaseMs: number,
  secret?: string,
): { attempt: number; credential: string } | null {
  if (!canClaim(session, offer, now)) return null;
  const attempt = grant(session, offer, now, leaseMs);
  const run = lastRun(session);
  const { credential, hash } = mintCredential(session.name, run.number, secret);
  run.credential_hash = hash;
  return { attempt, credential };
}

/** A heartbeat on one of the runner's runs: extends its lease while it is held. */
export function heartbeat(
  session: StoredSession | null,
  runNumber: number,
  runner: string,
  attempt: number,
  now: number,
  leaseMs: number,
): LeaseStatus {
  return beat(session, runNumber, runner, attempt, now, leaseMs);
}

/**
 * A runner starting again takes back the run it held when it stopped (or a running run of a runtime
 * from before leases existed): its lease runs from `now`. Null when the run is not its.
 */
export function adopt(
  session: StoredSession,
  runner: string,
  now: number,
  leaseMs: number,
): { run: StoredRun; attempt: number; reported: number } | null {
  if (!isHeldBy(session, runner)) return null;
  const run = lastRun(session);
  run.lease ??= { runner, attempt: 1, expires_at: '', reported: 0 };
  run.lease.expires_at = iso(now + leaseMs);
  return { run, attempt: run.lease.attempt, reported: run.lease.reported };
}

/** Whether the session's last run is in flight and held by `runner` (or running with no lease at all). */
export function isHeldBy(session: StoredSession, runner: string): boolean {
  const run = lastRun(session);
  return !isFinal(run.state) && (run.lease ? run.lease.runner === runner : run.state === 'running');
}

/* ---------- start ---------- */

/** The run's process exists: it is `running` from `now`. */
export function start(run: StoredRun, now: number): void {
  run.state = 'running';
  run.started_at = iso(now);
}

/* ---------- record ---------- */

/** What a report on a run must satisfy (RecordOptions of the session service). */
export interface Admission {
  /** The events are for this run, which must be the last one (409 `run-not-last`). */
  run?: number | undefined;
  /** Records nothing (and throws nothing) when the run has already ended: an end reported twice. */
  force?: boolean | undefined;
  /** The run's process exists. */
  started?: boolean | undefined;
  /** A runner's report, under its lease (409 `lease-lost` when it holds it no longer). */
  lease?: { runner: string; attempt: number; from: number } | undefined;
  /** The sweeper: only if `runner` still holds the run under `attempt` with a lease that expired before `before`. */
  expired?: { runner: string; attempt: number; before: string } | undefined;
}

/**
 * Which of `reported` a run takes: the run, and the events it does not have yet; null when nothing
 * is to be recorded (an end reported twice, a retried batch, a sweep the runner's report overtook).
 * Throws (409) when the report may not be recorded at all.
 */
export function admit(
  session: StoredSession,
  reported: EventInput[],
  options: Admission,
): { run: StoredRun; inputs: EventInput[] } | null {
  const run = lastRun(session);
  const { lease, expired } = options;
  if (lease) {
    const ran = session.runs.find((r) => r.number === options.run) ?? run;
    checkHolds(session, ran, lease.runner, lease.attempt);
  }
  // The sweeper ends a run only if its runner did not extend the lease meanwhile.
  if (expired && !(holds(run, expired.runner, expired.attempt) && run.lease.expires_at <= expired.before)) return null;
  if (options.run !== undefined && options.run !== run.number) {
    throw conflict(`Run ${options.run} of session '${session.name}' is not its last run`, 'run-not-last');
  }
  // A runner's retried batch: what the runtime has already is not stored again.
  const inputs = lease ? freshEvents(reported, lease.from, run.lease!.reported) : reported;
  if (lease && !inputs.length && !(options.started && run.state === 'queued')) return null;
  // The watchdog judges a run stalled once (two processes may find it at the same moment).
  if (inputs.length && inputs.every((input) => input.type === 'stalled') && (run.stalled_at || run.state !== 'running'))
    return null;
  if (isFinal(run.state)) {
    if (options.force) return null;
    throw conflict(`Run ${run.number} of session '${session.name}' has already ended (${run.state})`, 'run-ended');
  }
  return { run, inputs };
}

/** A change of a run that the session service tells about once it is kept. */
export type RunStep = 'started' | 'firstEvent' | 'ended';

/**
 * Applies admitted events to the run (and the few session facts they carry: the conversation's id,
 * the model). Returns the states the run went through and the steps to tell observers of.
 */
export function record(
  session: StoredSession,
  run: StoredRun,
  inputs: readonly EventInput[],
  now: number,
  options: {
    started?: boolean | undefined;
    lease?: { leaseMs: number } | undefined;
    /** How a run that hit the account's usage limit is resumed (usage-limits.ts). */
    limits?: LimitPolicy | undefined;
  } = {},
): { states: StoredRun['state'][]; steps: RunStep[] } {
  const states: StoredRun['state'][] = [];
  const steps: RunStep[] = [];
  if (options.started && run.state === 'queued') {
    start(run, now);
    states.push(run.state);
    steps.push('started');
  }
  for (const input of inputs) {
    const before = run.state;
    applyEvent(session, run, input, now, options.limits ?? DEFAULT_LIMIT_POLICY);
    if (run.state !== before) states.push(run.state);
    if (before === 'queued' && run.state === 'running') steps.push('started');
    if (!run.first_event_at && isAgentEvent(input.type) && run.state !== 'queued') {
      run.first_event_at = iso(now);
      steps.push('firstEvent');
    }
    if (!isFinal(before) && isFinal(run.state)) steps.push('ended');
  }
  if (options.lease && run.lease) {
    run.lease.reported += inputs.length;
    if (!isFinal(run.state)) run.lease.expires_at = iso(now + options.lease.leaseMs);
  }
  return { states, steps };
}

/** The event as recorded: the end of a run whose stop was asked for says why (see `stopNamed`). */
export function recordedInput(run: StoredRun, input: EventInput): EventInput {
  return stopNamed(run, input);
}

/* ---------- retry ---------- */

/** The answer broke the output schema: the run asks `prompt` once more, keeping the first attempt's figures. */
export function retry(run: StoredRun, prompt: string, eventsBefore: number): void {
  run.retry = startRetry(run, prompt, eventsBefore);
}

/* ---------- end ---------- */

/** The run failed before it could start (the worktree's setup failed). */
export function fail(run: StoredRun, now: number, error: string): void {
  run.state = 'failed';
  run.ended_at = iso(now);
  run.error = error;
}

/* ---------- stop ---------- */

/** The reason of a stop someone asked for (not a limit): not the signal it was carried out with. */
export const STOPPED_ON_REQUEST = 'stopped on request (ao-stop, the dashboard or the API)';

/** Asks the run in flight to stop (`reason`: a crossed limit). False when there is nothing to change. */
export function requestStop(run: StoredRun, reason?: string): boolean {
  if (isFinal(run.state) || run.stop_requested) return false;
  run.stop_requested = true;
  if (reason) run.stop_reason = reason;
  return true;
}

/** The event that ends a run no process of this runtime runs (still queued, or its runner is gone). */
export function stopEvent(reason: string = STOPPED_ON_REQUEST): EventInput {
  return { type: 'session_stop', data: { exit_code: null, signal: null, reason } };
}

/* ---------- the rules behind record ---------- */

/**
 * The end of a run whose stop was asked for says why it ended (the request, or the limit crossed),
 * not how (the signal Claude Code was ended by, which stays in `signal`).
 */
function stopNamed(run: StoredRun, input: EventInput): EventInput {
  if (input.type !== 'session_stop' || !run.stop_requested || isFinal(run.state)) return input;
  return { ...input, data: { ...input.data, reason: run.stop_reason ?? STOPPED_ON_REQUEST } };
}

/** How one event moves its run. */
function applyEvent(session: StoredSession, run: StoredRun, input: EventInput, now: number, limits: LimitPolicy): void {
  // A run that ends while queued never started (stopped in the queue, or its agent could not start).
  if (run.state === 'queued' && input.type !== 'session_stop') start(run, now);
  switch (input.type) {
    case 'session_start':
      {
        // The CLI's own id when it names conversations itself (Codex, OpenCode): resume and fork use it.
        const id = input.data.claude_session_id ?? input.data.cli_session_id;
        if (id) session.claude_session_id = id;
      }
      session.conversation_started = true;
      if (input.data.model) session.model = input.data.model;
      break;
    case 'result': {
      const data = input.data;
      run.result = data.text ?? null;
      if (data.usage) run.usage = data.usage;
      if (data.total_cost_usd !== undefined) run.cost_usd = data.total_cost_usd;
      if (data.num_turns !== undefined) run.num_turns = data.num_turns;
      if (data.duration_ms !== undefined) run.duration_ms = data.duration_ms;
      addFirstAttempt(run);
      run.outcome = data.is_error ? 'error' : 'success';
      if (data.is_error) run.error = data.text || data.errors?.join('; ') || 'Claude Code reported an error';
      if (data.is_error && data.usage_limit) run.limit_hit = data.usage_limit;
      judgeAnswer(session, run, data.text);
      break;
    }
    case 'stalled':
      run.stalled_at = iso(now);
      break;
    case 'session_stop': {
      const data = input.data;
      run.ended_at = iso(now);
      run.exit_code = data.exit_code ?? null;
      // What was billed before a run ended without a result line; a result's totals win.
      if (data.usage) run.usage ??= data.usage;
      if (run.stop_requested) {
        run.state = 'stopped';
        run.error ??= run.stop_reason ?? STOPPED_ON_REQUEST;
      } else if (run.limit_hit) {
        // The account's usage limit: not a failure of the run; the runtime resumes it after the reset.
        run.state = 'stopped';
        run.usage_limit = limitOutcome(session, run, run.limit_hit, now, limits);
        run.error = limitReason(run.usage_limit, now, limits);
        delete run.limit_hit;
      } else if (run.outcome === 'success' && (run.exit_code === 0 || run.exit_code === null)) {
        run.state = 'finished';
      } else {
        run.state = 'failed';
        run.error ??= run.outcome === 'success' ? `Claude Code exited with code ${run.exit_code}` : data.reason;
      }
      delete run.outcome;
      break;
    }
    default:
      break;
  }
}

/** An event the agent itself gave (its output), not the runtime's end of the run nor an approval's. */
function isAgentEvent(type: string): boolean {
  return type !== 'session_stop' && type !== 'approval_request' && type !== 'approval_answer' && type !== 'stalled';
}
