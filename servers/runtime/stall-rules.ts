/**
 * The stall watchdog's rules: when a running run counts as stalled, what is done about it, and what
 * a nudged agent is asked. Pure (the time is an argument), so each rule is unit-tested
 * (test/runtime/stall-rules.test.ts); the StallWatchdog (stall-watchdog.ts) applies them.
 *
 * A run is stalled when its session's blueprint sets `stall_after_seconds` and the run has been
 * `running` that long without any event (the session's last activity: its `updated_at`, which every
 * recorded event moves), while no approval request waits for a person (the agent then waits for
 * them, not stuck), and no stop was asked for. Each run is judged stalled once (`stalled_at`).
 */
import type { components } from '../../sdk/generated/runtime.js';
import { lastRun, type StoredSession } from './session-store.js';

export type StallAction = components['schemas']['StallAction'];

export interface Stall {
  session: string;
  run: number;
  silentSeconds: number;
  action: StallAction;
}

/** The session's last run, when it is stalled at `now`; null otherwise. */
export function stallOf(session: StoredSession, now: number): Stall | null {
  const after = session.blueprint?.stall_after_seconds;
  const run = lastRun(session);
  if (!after || run.state !== 'running' || run.stalled_at || run.stop_requested) return null;
  if ((session.pending_approvals ?? 0) > 0) return null;
  const since = Math.max(Date.parse(session.updated_at), Date.parse(run.started_at ?? session.updated_at));
  const silentMs = now - since;
  if (!(silentMs >= after * 1000)) return null;
  return {
    session: session.name,
    run: run.number,
    silentSeconds: Math.floor(silentMs / 1000),
    action: session.blueprint?.stall_action ?? 'notify',
  };
}

/** The run's error when the watchdog stops it (`stop`, `nudge`). */
export function stallReason(stall: Stall): string {
  const then = stall.action === 'nudge' ? '; resumed with a status question' : '';
  return `stalled: no event for ${stall.silentSeconds} s (the blueprint's stall_after_seconds), stopped by the watchdog${then}`;
}

/** What a nudged agent is asked, in the same conversation, once its stalled run has ended. */
export function nudgePrompt(stall: Stall): string {
  return [
    `Your last turn went ${stall.silentSeconds} seconds without any output, so it was stopped.`,
    'In two or three sentences: where do you stand (what is done, what is left, what blocks you)?',
    'Then carry on with the task; if a command hangs, run it differently (in the background, with a timeout).',
  ].join(' ');
}
