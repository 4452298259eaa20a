/**
 * The rules of schedules: when a schedule fires next, what a runtime that was down does about the
 * firings it missed, what happens when the previous firing still runs, and how prompts and session
 * names are made from templates. Pure (the time is an argument), so every rule is unit-tested
 * (test/runtime/schedule-rules.test.ts); the scheduler (scheduler.ts) applies them to the store.
 */
import { createHash } from 'node:crypto';
import { Cron } from 'croner';

/** When a schedule fires: a cron expression in a time zone, or every so long. */
export type Timing = { cron: string; tz?: string | undefined } | { every: string };

export type OverlapPolicy = 'skip' | 'queue_one' | 'allow';

/** What a firing does about a previous firing of its schedule that still runs. */
export type OverlapDecision = 'start' | 'skip' | 'wait';

/** 1 hour: a runtime down for less than this catches up the latest firing it missed. */
export const DEFAULT_CATCH_UP_SECONDS = 3600;

/** Intervals shorter than this are refused (a firing costs a session). */
export const MIN_EVERY_MS = 1000;

/** Firings stepped over at most when a runtime comes back: beyond, the rest are counted at once. */
const MAX_STEPS = 10_000;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30m`, `1h30m`, `10s`, `2d` (optionally after `every `) in milliseconds; throws a message for people. */
export function parseEvery(text: string): number {
  const spec = text.trim().replace(/^every\s+/i, '');
  const parts = [...spec.matchAll(/(\d+)\s*([smhd])/gi)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== spec.replace(/\s+/g, '')) {
    throw new Error(`'${text}' is not an interval such as 30s, 15m, 1h30m or 1d`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!.toLowerCase()]!, 0);
  if (ms < MIN_EVERY_MS) throw new Error(`'${text}' is shorter than 1s`);
  return ms;
}

/** Throws a message for people when the cron expression or the time zone is not valid. */
export function checkCron(cron: string, tz: string | undefined): void {
  try {
    new Cron(cron, { paused: true, ...(tz ? { timezone: tz } : {}) }).nextRun(new Date(0));
  } catch (error) {
    const message = (error as Error).message;
    if (/timezone/i.test(message)) throw new Error(`'${tz}' is not an IANA time zone (such as Europe/Berlin)`);
    throw new Error(`'${cron}' is not a cron expression (five or six fields): ${message.replace(/^[^:]*: /, '')}`);
  }
}

export interface Window {
  /** Epoch ms: no firing before it. Intervals count from it (or from `anchor` without it). */
  start?: number | undefined;
  /** Epoch ms: no firing after it. */
  end?: number | undefined;
  /** Where intervals count from when there is no `start` (the schedule's creation). */
  anchor: number;
}

/** The first firing strictly after `after` (epoch ms), or null when there is none (past the end). */
export function nextFiring(timing: Timing, window: Window, after: number): number | null {
  const from = window.start !== undefined && window.start - 1 > after ? window.start - 1 : after;
  let next: number | null;
  if ('every' in timing) {
    const every = parseEvery(timing.every);
    const origin = window.start ?? window.anchor;
    const steps = from < origin ? 0 : Math.floor((from - origin) / every) + 1;
    next = origin + steps * every;
  } else {
    const cron = new Cron(timing.cron, { paused: true, ...(timing.tz ? { timezone: timing.tz } : {}) });
    next = cron.nextRun(new Date(from))?.getTime() ?? null;
  }
  if (next === null || (window.end !== undefined && next > window.end)) return null;
  return next;
}

export interface DueFirings {
  /** The firings to make now (their nominal times, earliest first). */
  fire: number[];
  /** Firings passed over: due while no runtime looked, longer ago than the grace of a late loop. */
  missed: number;
  /** The schedule's next firing after these, or null when it has none left. */
  next: number | null;
}

/**
 * 10 s: a firing at most this late is made as usual, whatever else fell due (a busy loop looked late,
 * no runtime was down); one later than this was due while no runtime looked.
 */
export const ON_TIME_MS = 10_000;

/**
 * What a schedule whose next firing was due at `due` does at `now`. Firings at most ON_TIME_MS late
 * are all made. Of the firings due longer ago (while no runtime was up), the latest that is at most
 * `catchUpMs` old is made, once; the others are missed and counted. A runtime
 * that was down for a night therefore does not start a night's worth of sessions.
 */
export function dueFirings(timing: Timing, window: Window, due: number, now: number, catchUpMs: number): DueFirings {
  const onTime: number[] = [];
  let late: number | null = null;
  let lateCount = 0;
  const take = (time: number) => {
    if (now - time <= ON_TIME_MS) onTime.push(time);
    else {
      late = time;
      lateCount++;
    }
  };
  take(due);
  let next = nextFiring(timing, window, due);
  for (let steps = 0; next !== null && next <= now; steps++) {
    if (steps >= MAX_STEPS) {
      // A very long outage of a very frequent schedule: an interval's firings are counted at once, the
      // last one taken as caught up; a cron expression's are not stepped through further.
      if (!('every' in timing))
        return { fire: [], missed: lateCount + onTime.length, next: nextFiring(timing, window, now) };
      const every = parseEvery(timing.every);
      const more = Math.floor((now - next) / every);
      lateCount += more;
      take(next + more * every);
      next = nextFiring(timing, window, next + more * every);
      break;
    }
    take(next);
    next = nextFiring(timing, window, next);
  }
  const caughtUp: number[] = late !== null && now - late <= catchUpMs ? [late] : [];
  const fire = [...caughtUp, ...onTime];
  return { fire, missed: lateCount + onTime.length - fire.length, next };
}

/** How late past its nominal time a firing is made: the same for every process (a hash), below `jitterMs`. */
export function jitterOf(schedule: string, due: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const hash = createHash('sha256').update(`${schedule}@${due}`).digest();
  return hash.readUInt32BE(0) % jitterMs;
}

/**
 * What a firing does when a previous firing of its schedule still runs (`active`), or another
 * firing already waits for it (`waiting`). A schedule that resumes one session cannot run two firings
 * at once: `allow` waits there, like `queue_one`.
 */
export function overlapDecision(
  policy: OverlapPolicy,
  state: { active: boolean; waiting: boolean; resumes: boolean },
): OverlapDecision {
  if (!state.active) return 'start';
  if (policy === 'skip') return 'skip';
  if (policy === 'allow' && !state.resumes) return 'start';
  return state.waiting ? 'skip' : 'wait';
}

/** The parts of a firing's time that templates name, in the schedule's time zone (UTC without one). */
export function timeParts(at: number, tz: string | undefined): { date: string; time: string; stamp: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: tz ?? 'UTC',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  const time = `${parts.hour}${parts.minute}${parts.second}`;
  return { date, time, stamp: `${date.replaceAll('-', '')}-${time}` };
}

/**
 * Fills `{name}` placeholders of `template` from `values`; unknown placeholders stay as written (a
 * prompt may well contain braces). Values are text, never evaluated.
 */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z_][a-z0-9_.]*)\}/gi, (whole, key: string) =>
    Object.hasOwn(values, key) ? values[key]! : whole,
  );
}

/** The default name of the sessions a schedule starts: unique per firing down to the second. */
export const DEFAULT_NAME_TEMPLATE = '{schedule}-{stamp}';
