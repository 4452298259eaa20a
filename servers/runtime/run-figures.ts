/**
 * The figures a run counts with in totals, the usage report and the tree, at a given moment: its
 * wall time (from start to end, or to now while it goes) and its usage and cost (while it goes and
 * has reported none: what it was billed so far, priced by the estimate table, marked as an estimate).
 * Pure: the time and the live usage are arguments.
 */
import { estimateCostUsd } from './budgets.js';
import { FINAL_STATES, type Run, type Usage } from './session-store.js';

/** What the figures are read against: the moment, and the usage billed so far by the session's active run. */
export interface FiguresAt {
  now: number;
  live?: Usage | null;
}

/** From the run's start to its end, or to `now` while it goes; 0 for a run that never started. */
export function wallMs(run: Pick<Run, 'started_at' | 'ended_at'>, now: number): number {
  if (!run.started_at) return 0;
  const start = Date.parse(run.started_at);
  const end = run.ended_at ? Date.parse(run.ended_at) : now;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : 0;
}

export interface RunSpend {
  usage: Usage | null;
  cost_usd: number;
  /** The run is still going: its figures are so far, the cost an estimate when it came from `live`. */
  estimated: boolean;
}

/**
 * The usage and cost the run counts with: Claude Code's cost where the run reported one, else the
 * estimate for its usage (a run stopped or crashed before its result line); `live` is used only for
 * a run that goes and has reported no usage yet.
 */
export function runSpend(run: Run, model: string | undefined, live: Usage | null | undefined): RunSpend {
  const going = !FINAL_STATES.has(run.state);
  // A queued run has spent nothing yet: exactly 0, no estimate.
  const running = run.state === 'running';
  const usage = run.usage ?? (going ? (live ?? null) : null);
  if (run.cost_usd !== null) return { usage, cost_usd: run.cost_usd, estimated: running };
  if (!usage) return { usage: null, cost_usd: 0, estimated: running };
  return { usage, cost_usd: estimateCostUsd(usage, model), estimated: true };
}

/** Usage billed so far by the runs still going that this process runs or hears from, by session. */
export class LiveUsage {
  private readonly bySession = new Map<string, Usage>();

  set(session: string, usage: Usage): void {
    this.bySession.set(session, usage);
  }

  delete(session: string): void {
    this.bySession.delete(session);
  }

  get(session: string): Usage | null {
    return this.bySession.get(session) ?? null;
  }
}
