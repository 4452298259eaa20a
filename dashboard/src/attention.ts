/**
 * What needs a person first: the board's order of states, how long ago something happened, when a
 * running session looks stalled, and what the tab's title and icon say. Pure, so it is unit-tested.
 */
import { formatUsd } from '../../sdk/money.js';
import type { RunState } from '../../sdk/types.js';

/** The states, most urgent first (the board's filter buttons). */
export const ATTENTION_ORDER: readonly RunState[] = ['failed', 'stopped', 'running', 'queued', 'finished'];

/**
 * The board's sections, most urgent first: `waiting` holds the sessions whose agent waits for a
 * person's answer (they are running, and shown there and not under `running`).
 */
export type SectionKey = 'waiting' | RunState;
export const BOARD_ORDER: readonly SectionKey[] = ['waiting', ...ATTENTION_ORDER];

/** A section's heading: `Waiting for you`, `Failed`, … */
export function sectionTitle(key: SectionKey): string {
  return key === 'waiting' ? 'Waiting for you' : key.charAt(0).toUpperCase() + key.slice(1);
}

/** A running session with no event for this long is shown as stalled. */
export const STALL_SECONDS = 120;

export type Counts = Record<RunState, number>;

export function secondsSince(iso: string, now: number): number {
  return Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
}

/** "5 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(iso: string, now: number): string {
  const s = secondsSince(iso, now);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * A running session whose last event (`updated_at`) is older than STALL_SECONDS. One that waits for
 * a person's answer is not stalled: it is quiet because it waits.
 */
export function isStalled(
  session: { state: RunState; updated_at: string; pending_approvals?: number | undefined },
  now: number,
): boolean {
  if ((session.pending_approvals ?? 0) > 0) return false;
  return session.state === 'running' && secondsSince(session.updated_at, now) >= STALL_SECONDS;
}

/**
 * A session stopped on the account's usage limit that the runtime will resume: "resumes at 15:02 UTC"
 * (or "resumes now" once the time has passed); null otherwise.
 */
export function limitWait(
  session: { state: RunState; last_run: { usage_limit?: { resume_at: string | null } | undefined } },
  now: number,
): string | null {
  const at = session.last_run.usage_limit?.resume_at;
  if (session.state !== 'stopped' || !at) return null;
  return Date.parse(at) <= now ? 'resumes now' : `resumes at ${at.slice(11, 16)} UTC`;
}

/** "1 asks you · 2 running · 1 failed · aof": what matters, readable in a tab strip. */
export function tabTitle(counts: Counts | undefined, waiting = 0): string {
  if (!counts) return 'aof';
  const parts: string[] = [];
  if (waiting) parts.push(`${waiting} ask${waiting === 1 ? 's' : ''} you`);
  if (counts.running) parts.push(`${counts.running} running`);
  if (counts.failed) parts.push(`${counts.failed} failed`);
  return parts.length ? `${parts.join(' · ')} · aof` : 'aof';
}

/** An icon with the running count, red when something failed. */
export function faviconSvg(counts: Counts | undefined): string {
  const failed = counts?.failed ?? 0;
  const running = counts?.running ?? 0;
  const fill = failed ? '#e03131' : running ? '#2f9e44' : '#3b5bdb';
  const label = running > 99 ? '99+' : running ? String(running) : 'ao';
  const size = label.length > 2 ? 12 : 16;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="${fill}"/>` +
    `<text x="16" y="22" font-family="sans-serif" font-size="${size}" font-weight="700" text-anchor="middle" fill="#fff">${label}</text></svg>`
  );
}

/** A run's wall time: from its start to its end, or to `now` while it runs; null before it starts. */
export function wallTimeMs(run: { started_at: string | null; ended_at: string | null }, now: number): number | null {
  if (!run.started_at) return null;
  return Math.max(0, (run.ended_at ? Date.parse(run.ended_at) : now) - Date.parse(run.started_at));
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Dollars as `ao-usage` shows them (sdk/money.ts), `~` for an estimate; `–` when unknown. */
export function formatCost(usd: number | null | undefined, estimated = false): string {
  if (usd === null || usd === undefined) return '–';
  return formatUsd(usd, estimated);
}

/**
 * What a total's cost and tokens cover while a run goes. A runtime that counts the running run's
 * tokens billed so far says so (`estimated`); one that does not counts the ended runs only.
 */
export function liveNote(totals: { cost_usd: number; estimated?: boolean }, running: number | undefined): string {
  if (running === undefined) return '';
  return totals.estimated === undefined
    ? `ended runs only; run ${running} counts when it ends`
    : 'so far: an estimate until the run ends';
}

export function formatTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}
