/**
 * What the runtime stores about a session and how the contract sees it (the whole session, a list
 * summary). Where it is stored is the store's business: `store/interfaces.ts` and its backends.
 */
import { FINAL_STATES } from '../../sdk/generated/rules.js';
import type { components } from '../../sdk/generated/runtime.js';
import type { CatalogueEntry } from './store/catalogue.js';
import type { RunLease } from './leases.js';
import { addUsage, noUsage } from '../common/usage.js';
import { type FiguresAt, runSpend, wallMs } from './run-figures.js';

export type Session = components['schemas']['Session'];
export type Run = components['schemas']['Run'];
export type RunState = components['schemas']['RunState'];
export type Event = components['schemas']['Event'];
export type EventInput = components['schemas']['EventInput'];
export type Blueprint = components['schemas']['Blueprint'];
export type Usage = components['schemas']['Usage'];
export type SessionSummary = components['schemas']['SessionSummary'];

/** A run as stored: the contract's fields plus what the runtime keeps for itself. */
export interface StoredRun extends Run {
  /** Set when a stop was asked for, so the end of the process reads as `stopped`. */
  stop_requested?: boolean;
  /** The executor's handle on the process (pid, start marker), to re-adopt it after a restart. */
  process?: { pid: number; started: string };
  /** Whether the result line said success; decides finished vs failed when the process ends. */
  outcome?: 'success' | 'error';
  /** Why the stop was asked for, when not by a person (a crossed limit); becomes the run's error. */
  stop_reason?: string;
  /** The callbacks this run delivered (their ids): stored with the run, so none is delivered twice. */
  callbacks?: string[];
  /** Set when the run's answer broke its output schema and the agent was asked once more (structured-output.ts). */
  retry?: OutputRetry;
  /** Which runner may run it, until when, under which attempt (leases.ts). */
  lease?: RunLease;
  /** When the agent's first event of the run was recorded (the metrics' time to first event). */
  first_event_at?: string;
  /** The hash of the run's own credential, given to its agent when it was claimed (agent-credentials.ts). */
  credential_hash?: string;
  /** The CLI said the run hit the account's usage limit (its result); its end then reads `stopped` (usage-limits.ts). */
  limit_hit?: { resets_at: string | null; kind?: string | undefined };
}

/** The second attempt of a run: its prompt, and what the first attempt recorded and billed. */
export interface OutputRetry {
  prompt: string;
  /** Events of the run recorded before the retry started (a restarted runtime skips them). */
  events_before: number;
  usage: Usage | null;
  cost_usd: number | null;
  num_turns: number | null;
  duration_ms: number | null;
}

export interface StoredSession
  extends Omit<Session, 'runs' | 'totals' | 'state' | 'output_schema' | 'pending_approvals' | 'parent'> {
  /** Approval requests waiting for an answer (kept by the ApprovalService); absent means 0. */
  pending_approvals?: number;
  /** Absent in sessions stored before parents existed. */
  parent?: string | null;
  _id: string;
  runs: StoredRun[];
  /** The output schema as JSON text (see structured-output.ts). */
  output_schema?: string | null;
  /** Claude Code has opened the conversation (an init line was seen), so later runs resume it. */
  conversation_started?: boolean;
  /** The model Claude Code said it uses (its init line), to estimate costs. */
  model?: string;
}

export { FINAL_STATES };
export const isFinal = (state: RunState) => FINAL_STATES.has(state);

/** The contract's view of a stored session: its state is its last run's, its totals are summed. */
export function toSession(stored: StoredSession, at: FiguresAt = { now: Date.now() }): Session {
  const { _id, runs, conversation_started, output_schema, pending_approvals, model, ...rest } = stored;
  const publicRuns = runs.map(
    ({
      stop_requested,
      process,
      outcome,
      stop_reason,
      callbacks,
      retry,
      lease,
      first_event_at,
      credential_hash,
      limit_hit,
      ...run
    }) => run,
  );
  const usage = noUsage();
  let cost = 0;
  let duration = 0;
  let wall = 0;
  let estimated = false;
  for (const run of publicRuns) {
    const spend = runSpend(run, model, at.live);
    addUsage(usage, spend.usage);
    cost += spend.cost_usd;
    estimated ||= spend.estimated;
    duration += run.duration_ms ?? 0;
    wall += wallMs(run, at.now);
  }
  return {
    ...rest,
    parent: rest.parent ?? null,
    created_by: rest.created_by ?? null,
    ...(output_schema ? { output_schema: JSON.parse(output_schema) as Record<string, unknown> } : {}),
    state: lastRun(stored).state,
    pending_approvals: pending_approvals ?? 0,
    runs: publicRuns,
    totals: {
      runs: publicRuns.length,
      usage,
      cost_usd: Math.round(cost * 1e8) / 1e8,
      duration_ms: duration,
      wall_ms: wall,
      estimated,
    },
  };
}

const MAX_SUMMARY_ERROR = 500;

/** The list's view of a stored session: no prompts, results or blueprint. */
export function toSummary(stored: StoredSession, at: FiguresAt = { now: Date.now() }): SessionSummary {
  const {
    name,
    agent,
    project_dir,
    state,
    pending_approvals,
    created_at,
    updated_at,
    last_resumed_at,
    runs,
    totals,
    parent,
    worktree,
    forked_from,
    created_by,
  } = toSession(stored, at);
  const last = runs[runs.length - 1]!;
  const error =
    last.error !== null && last.error.length > MAX_SUMMARY_ERROR
      ? `${last.error.slice(0, MAX_SUMMARY_ERROR - 1)}…`
      : last.error;
  return {
    name,
    agent,
    project_dir,
    state,
    pending_approvals,
    created_at,
    updated_at,
    last_resumed_at,
    parent,
    runs: runs.length,
    last_run: {
      number: last.number,
      state: last.state,
      queued_at: last.queued_at,
      started_at: last.started_at,
      ended_at: last.ended_at,
      error,
      ...(last.stopped_by !== undefined ? { stopped_by: last.stopped_by } : {}),
      ...(last.usage_limit ? { usage_limit: last.usage_limit } : {}),
      ...(last.stalled_at ? { stalled_at: last.stalled_at } : {}),
    },
    totals,
    ...(worktree ? { worktree: { branch: worktree.branch, has_changes: worktree.has_changes } } : {}),
    ...(forked_from ? { forked_from: forked_from.session } : {}),
    created_by: created_by ?? null,
  };
}

export function catalogueEntry(stored: StoredSession): CatalogueEntry {
  return {
    name: stored.name,
    updated_at: stored.updated_at,
    state: lastRun(stored).state,
    agent: stored.agent,
    project_dir: stored.project_dir,
    waiting: (stored.pending_approvals ?? 0) > 0,
    parent: stored.parent ?? null,
  };
}

export function lastRun(session: StoredSession): StoredRun {
  const run = session.runs[session.runs.length - 1];
  if (!run) throw new Error(`session ${session._id} has no runs`);
  return run;
}

/** A run queued at `now` (an ISO time): pure, so the same arguments give the same run. */
export function newRun(number: number, prompt: string, now: string): StoredRun {
  return {
    number,
    prompt,
    state: 'queued',
    queued_at: now,
    started_at: null,
    ended_at: null,
    exit_code: null,
    error: null,
    result: null,
    usage: null,
    cost_usd: null,
    num_turns: null,
    duration_ms: null,
  };
}
