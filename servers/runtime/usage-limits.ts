/**
 * Usage limits of the agent's account: when a run that hit one is resumed, what the account's other
 * runs wait for, and how the run's end says it. Pure (the time is an argument), so each rule is
 * unit-tested (test/runtime/usage-limits.test.ts); the run machine applies them when a limited run
 * ends, and the UsageLimitWaiter (usage-limit-waiter.ts) resumes sessions and holds claims by them.
 *
 * A run hits the limit when its CLI says so (Claude Code: a `rate_limit_event` whose status is
 * `rejected`, with `resetsAt` on a subscription; or an API 429): the stream parser puts
 * `usage_limit` on its `result`. Such a run ends `stopped`, with `Run.usage_limit`:
 * - with a reset time: resumed at the reset plus `marginMs`;
 * - without one: resumed after a back-off that doubles with each limited run in a row
 *   (`backoffMs`, 2x, 4x, ...), at most `maxAttempts` times, then left stopped;
 * - never when the session (or else its blueprint) says `resume_after_limit: false`.
 *
 * The account is the agent CLI a session runs (its blueprint's `cli`, default `claude`): every
 * session of one CLI on this runtime runs on the runtime's credentials for it (its environment, its
 * login), so they share one usage limit. Until the limit's hold ends (`resume_at`, else the reset
 * plus the margin), the queued runs of that account are not claimed.
 */
import type { components } from '../../sdk/generated/runtime.js';
import type { StoredRun, StoredSession } from './session-store.js';

export type UsageLimit = components['schemas']['UsageLimit'];

export interface LimitPolicy {
  /** Waited after the reset time the CLI gave, so the resumed run does not meet the limit's last second. */
  marginMs: number;
  /** The first back-off when the CLI gave no reset time; doubled for each limited run in a row after it. */
  backoffMs: number;
  /** Limited runs in a row without a reset time that are resumed; the next one is left stopped. */
  maxAttempts: number;
}

export const DEFAULT_LIMIT_POLICY: LimitPolicy = { marginMs: 60_000, backoffMs: 60_000, maxAttempts: 5 };

/** What the CLI said of the limit (the `usage_limit` of a `result` event). */
export interface LimitHit {
  resets_at: string | null;
  kind?: string | undefined;
}

/** The account a session's runs use: its agent CLI on this runtime's credentials. */
export function accountOf(session: Pick<StoredSession, 'blueprint'>): string {
  return session.blueprint?.cli ?? 'claude';
}

/** Whether the session is resumed after a limit: its own say, else its blueprint's, else yes. */
export function resumesAfterLimit(session: Pick<StoredSession, 'blueprint' | 'resume_after_limit'>): boolean {
  return session.resume_after_limit ?? session.blueprint?.resume_after_limit ?? true;
}

/** 1 for the first limited run in a row of the session, 2 when the run before `run` was limited too, ... */
export function limitAttempt(session: Pick<StoredSession, 'runs'>, run: StoredRun): number {
  let attempt = 1;
  for (let i = session.runs.indexOf(run) - 1; i >= 0 && session.runs[i]!.usage_limit; i--) attempt++;
  return attempt;
}

/** The run's `usage_limit` when it ends at `now` on `hit`. */
export function limitOutcome(
  session: Pick<StoredSession, 'blueprint' | 'resume_after_limit' | 'runs'>,
  run: StoredRun,
  hit: LimitHit,
  now: number,
  policy: LimitPolicy,
): UsageLimit {
  const attempt = limitAttempt(session, run);
  let resumeAt: number | null = null;
  if (resumesAfterLimit(session)) {
    if (hit.resets_at) resumeAt = Math.max(Date.parse(hit.resets_at), now) + policy.marginMs;
    else if (attempt <= policy.maxAttempts) resumeAt = now + policy.backoffMs * 2 ** (attempt - 1);
  }
  return {
    resets_at: hit.resets_at,
    resume_at: resumeAt === null ? null : new Date(resumeAt).toISOString(),
    attempt,
    ...(hit.kind ? { kind: hit.kind } : {}),
  };
}

/** Until when a limited run holds its account's other runs (null: it holds nothing). */
export function holdUntil(limit: UsageLimit, policy: LimitPolicy): string | null {
  if (limit.resume_at) return limit.resume_at;
  if (limit.resets_at) return new Date(Date.parse(limit.resets_at) + policy.marginMs).toISOString();
  return null;
}

/** A limited run as the waiter keeps it: its session, account, and when it resumes (or holds until). */
export interface LimitedRun {
  session: string;
  run: number;
  account: string;
  resumeAt: string | null;
  holdUntil: string | null;
}

/** The limited run of a session whose last run ended on the limit; null otherwise. */
export function limitedRun(session: StoredSession, policy: LimitPolicy): LimitedRun | null {
  const run = session.runs[session.runs.length - 1];
  if (!run?.usage_limit || run.state !== 'stopped') return null;
  return {
    session: session.name,
    run: run.number,
    account: accountOf(session),
    resumeAt: run.usage_limit.resume_at,
    holdUntil: holdUntil(run.usage_limit, policy),
  };
}

/** The accounts held at `now`, each until when. */
export function heldAccounts(limited: Iterable<LimitedRun>, now: number): Map<string, string> {
  const held = new Map<string, string>();
  const at = new Date(now).toISOString();
  for (const entry of limited) {
    if (!entry.holdUntil || entry.holdUntil <= at) continue;
    const until = held.get(entry.account);
    if (!until || until < entry.holdUntil) held.set(entry.account, entry.holdUntil);
  }
  return held;
}

/** The limited runs due to be resumed at `now`. */
export function dueResumes(limited: Iterable<LimitedRun>, now: number): LimitedRun[] {
  const at = new Date(now).toISOString();
  return [...limited].filter((entry) => entry.resumeAt !== null && entry.resumeAt <= at);
}

/**
 * When something is next due (a resume, or the end of a hold): ms since the epoch, or null. A resume
 * due already and not yet made is due now: the waiter looks at what is due and then, a moment later, at
 * what comes next, and a resume that came due in between must not fall through (it waited for the next
 * rescan, a minute). A hold that ended is nothing to wait for.
 */
export function nextDue(limited: Iterable<LimitedRun>, now: number): number | null {
  const at = new Date(now).toISOString();
  let next: number | null = null;
  for (const entry of limited) {
    for (const time of [entry.resumeAt, entry.holdUntil]) {
      if (!time || (time <= at && time !== entry.resumeAt)) continue;
      const ms = Math.max(Date.parse(time), now);
      if (next === null || ms < next) next = ms;
    }
  }
  return next;
}

/** "15:02 UTC" on the day of `now`, else "2026-12-08 15:02 UTC" (seconds shown when not 0). */
export function clockTime(iso: string, now: number): string {
  const time = iso.slice(11, iso.slice(17, 19) === '00' ? 16 : 19);
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10)
    ? `${time} UTC`
    : `${iso.slice(0, 10)} ${time} UTC`;
}

/** The run's `error`, in words: what happened and what comes next. */
export function limitReason(limit: UsageLimit, now: number, policy: LimitPolicy): string {
  const which = limit.kind ? ` (${limit.kind.replace(/_/g, ' ')})` : '';
  if (limit.resets_at) {
    const hit = `hit the usage limit${which}`;
    if (limit.resume_at) return `${hit}; resumes at ${clockTime(limit.resume_at, now)}`;
    return `${hit}; it resets at ${clockTime(limit.resets_at, now)}; not resumed (resume_after_limit is off): resume it then with ao-resume`;
  }
  const hit = `hit a usage or rate limit${which} without a reset time`;
  if (limit.resume_at)
    return `${hit}; retry ${limit.attempt} of ${policy.maxAttempts} at ${clockTime(limit.resume_at, now)}`;
  return limit.attempt > policy.maxAttempts
    ? `${hit}; gave up after ${policy.maxAttempts} retries: resume it later with ao-resume`
    : `${hit}; not resumed (resume_after_limit is off): resume it later with ao-resume`;
}

/** The prompt of the run that resumes a session after its limit: carry on, and the instruction it had. */
export function resumePrompt(limitedPrompt: string): string {
  // A resumed run that hit the limit again: its instruction is the first one's.
  const instruction = limitedPrompt.startsWith(RESUME_HEADER)
    ? limitedPrompt.slice(limitedPrompt.indexOf('\n\n') + 2)
    : limitedPrompt;
  return `${RESUME_HEADER}\nContinue where you left off. The instruction of that turn was:\n\n${instruction}`;
}

const RESUME_HEADER = "The account's usage limit interrupted your last turn; it has reset now.";
