import type { components } from '../../../sdk/generated/runtime.js';
import type { Logger } from '../../common/logger.js';
import type { TriggerStore } from './trigger-store.js';

export type ScheduleCreate = components['schemas']['ScheduleCreate'];
export type FiringOutcome = components['schemas']['FiringOutcome'];

/** What a schedule was made with, as given (less its name): the rules read it, it never changes. */
export type ScheduleSpec = Omit<ScheduleCreate, 'name' | 'paused'>;

/** A schedule as kept: its spec and what its firings did so far. Times are epoch milliseconds. */
export interface StoredSchedule {
  name: string;
  spec: ScheduleSpec;
  paused: boolean;
  paused_reason: string | null;
  created_at: number;
  /** The next firing's nominal time; null once past `end_at`. */
  next_fire_at: number | null;
  last_fire_at: number | null;
  last_session: string | null;
  last_outcome: FiringOutcome | null;
  /** The result of the last firing's run that finished (bounded), for `{last_result}`. */
  last_result: string | null;
  failures_in_row: number;
  missed: number;
  fired: number;
}

/** A firing as it is added: due at `due_at`, made at `fire_at` (with the jitter). */
export interface NewFiring {
  /** `<schedule>@<due_at ms>`, or `<schedule>@now-<uuid>` for one fired on request: one row per firing. */
  id: string;
  schedule: string;
  due_at: number;
  fire_at: number;
  outcome: 'pending' | 'missed';
  reason: string | null;
  manual: boolean;
}

export interface StoredFiring extends Omit<NewFiring, 'outcome'> {
  outcome: FiringOutcome;
  fired_at: number | null;
  session: string | null;
  run: number | null;
  /** Claims made on it so far: above 1, an earlier claimant may have made it before it died. */
  attempts: number;
  /** When it was first claimed: a resumed run queued since then is this firing's. */
  first_claimed_at: number | null;
}

/** How a claimed firing went: made (a run `running`), skipped, failed to start, or left `waiting`. */
export type FiringSettlement =
  | { outcome: 'running'; session: string; run: number }
  | { outcome: 'skipped' | 'error'; reason: string; session?: string | undefined }
  | { outcome: 'waiting'; reason: string };

/** How a made firing's run ended. */
export interface FiringEnd {
  outcome: 'finished' | 'failed' | 'stopped';
  /** The run's result (finished) or error, kept bounded for `{last_result}`. */
  result: string | null;
}

/**
 * Schedules and their firings, shared by every runtime process on the store. The store's clock
 * decides when a firing is due (the database's for PostgreSQL), so processes' clocks need not agree.
 * A firing is added once (its id is its schedule and nominal time: processes that both see it due add
 * one row), and made once: it is claimed like a webhook notice (one claimant at a time, the claim
 * running out when its process dies).
 */
export interface ScheduleStore {
  /** Adds the schedule; resolves false (and adds nothing) when its name is taken. */
  insert(schedule: StoredSchedule): Promise<boolean>;
  get(name: string): Promise<StoredSchedule | null>;
  /** Every schedule, by name. */
  list(): Promise<StoredSchedule[]>;
  /** Deletes the schedule and its firings; resolves false when there was none. */
  remove(name: string): Promise<boolean>;
  /**
   * Pauses (with `reason`, null when a person did) or resumes it; a resume sets `next_fire_at` and
   * clears the failures in a row. Resolves with it changed, or null when there is none.
   */
  setPaused(
    name: string,
    change: { paused: true; reason: string | null } | { paused: false; next_fire_at: number | null },
  ): Promise<StoredSchedule | null>;
  /** The store's time now, with the schedules not paused whose next firing is due by then. */
  due(limit: number): Promise<{ now: number; schedules: StoredSchedule[] }>;
  /**
   * Moves the schedule's next firing from `from` to `to`, counting `missed` more, only if it is still
   * at `from` (another process may have moved it): resolves whether this call moved it.
   */
  advance(name: string, from: number, to: number | null, missed: number): Promise<boolean>;
  /** Adds firings; one whose id is kept already is left as it is. */
  addFirings(firings: NewFiring[]): Promise<void>;
  /**
   * Claims for `claimant`, for `claimMs`, the earliest firing that is pending or waiting, due by the
   * store's clock and not claimed (or whose claim ran out). Of claims at once, each firing goes to one.
   */
  claimFiring(claimant: string, claimMs: number): Promise<StoredFiring | null>;
  /** Extends `claimant`'s claim on the firing by `claimMs` from now; resolves false when it lost it. */
  renewFiring(id: string, claimant: string, claimMs: number): Promise<boolean>;
  /**
   * Records how the firing `claimant` claimed went and ends the claim (the schedule's last firing,
   * fired count and failures in a row with it); a firing left `waiting` is claimed afresh later (its
   * attempts counted anew). Resolves false when the claim went to another claimant.
   */
  settleFiring(id: string, claimant: string, settlement: FiringSettlement): Promise<boolean>;
  /**
   * Records how a running firing's run ended, once (resolves false when it was recorded already), and
   * with it the schedule's last outcome and failures in a row, pausing it after too many.
   */
  endFiring(id: string, end: FiringEnd): Promise<boolean>;
  /** The schedule's firings, newest first. */
  firings(schedule: string, limit: number): Promise<StoredFiring[]>;
  /** Firings whose run has not ended (`running`) or that wait (`waiting`): of one schedule, or all. */
  unsettled(schedule?: string): Promise<StoredFiring[]>;
  /** Milliseconds until the next schedule or firing is due (0: now), or null when nothing is. */
  nextDueInMs(): Promise<number | null>;
}

/** 16 KiB: what a schedule keeps of a run's result for `{last_result}`. */
export const MAX_LAST_RESULT = 16 * 1024;

export const bounded = (text: string | null): string | null =>
  text === null || text.length <= MAX_LAST_RESULT ? text : `${text.slice(0, MAX_LAST_RESULT)}…`;

/** The schedules' and triggers' stores: in the database when there is one (tables of their own), else files of the data dir. */
export async function openScheduleStores(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
  logger?: Logger | undefined;
}): Promise<{ schedules: ScheduleStore; triggers: TriggerStore; close(): Promise<void> }> {
  if (options.databaseUrl) {
    const { openPostgresSchedules } = await import('./postgres-schedules.js');
    return openPostgresSchedules(options.databaseUrl, options.logger);
  }
  const { NedbScheduleStore } = await import('./nedb-schedules.js');
  const { NedbTriggerStore } = await import('./nedb-triggers.js');
  const schedules = await NedbScheduleStore.open(options.dataDir);
  const triggers = await NedbTriggerStore.open(options.dataDir);
  return { schedules, triggers, close: () => schedules.close() };
}

/** A schedule once a claimed firing of it was settled at `now` (the same in every backend). */
export function afterSettlement(schedule: StoredSchedule, settlement: FiringSettlement, now: number): StoredSchedule {
  if (settlement.outcome === 'waiting') return schedule;
  const next = { ...schedule, last_outcome: settlement.outcome };
  if (settlement.outcome === 'running') {
    Object.assign(next, { last_fire_at: now, last_session: settlement.session, fired: schedule.fired + 1 });
  }
  return settlement.outcome === 'error' ? failed(next) : next;
}

/** A schedule once a firing's run ended (the same in every backend). */
export function afterEnd(schedule: StoredSchedule, end: FiringEnd): StoredSchedule {
  const next: StoredSchedule = { ...schedule, last_outcome: end.outcome };
  if (end.outcome === 'finished') return { ...next, failures_in_row: 0, last_result: bounded(end.result) };
  // A run a person stopped is no failure of the schedule's.
  return end.outcome === 'failed' ? failed(next) : next;
}

function failed(schedule: StoredSchedule): StoredSchedule {
  const failures = schedule.failures_in_row + 1;
  const limit = schedule.spec.pause_after_failures;
  if (limit === undefined || failures < limit || schedule.paused) return { ...schedule, failures_in_row: failures };
  return {
    ...schedule,
    failures_in_row: failures,
    paused: true,
    paused_reason: `paused after ${failures} failed firings in a row`,
  };
}
