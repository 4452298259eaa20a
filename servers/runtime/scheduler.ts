/**
 * Schedules: what the API does with them, and the loop that fires them in every runtime process.
 *
 * A tick (every second at most, sooner when something is due): runs that firings started and that
 * ended are recorded; schedules whose next firing is due get their firing added (one row, whichever
 * processes see it due) and their next time moved on (a conditional write: one process moves it);
 * then due firings are claimed, one claimant each, and made: the overlap rule, the pre-check, then a
 * new session or a resumed one. A claim is renewed while its firing is made and runs out when its
 * process dies, so another process makes the firing then; a new session's name comes from the
 * firing's time, and a resumed session's run is looked for, so a firing taken over is not made twice.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { components } from '../../sdk/generated/runtime.js';
import { isValidName } from '../../sdk/generated/rules.js';
import type { Logger } from '../common/logger.js';
import { conflict, HttpProblem, notFound, unprocessable } from '../common/contract/problem.js';
import { withoutServerSecrets } from '../executor/index.js';
import {
  checkCron,
  DEFAULT_CATCH_UP_SECONDS,
  DEFAULT_NAME_TEMPLATE,
  dueFirings,
  fillTemplate,
  jitterOf,
  nextFiring,
  overlapDecision,
  parseEvery,
  timeParts,
  type Timing,
  type Window,
} from './schedule-rules.js';
import { DEFAULT_CHECK_TIMEOUT_SECONDS, runPreCheck } from './schedule-precheck.js';
import type { SessionService } from './session-service.js';
import { isFinal } from './session-store.js';
import type {
  FiringSettlement,
  ScheduleCreate,
  ScheduleStore,
  StoredFiring,
  StoredSchedule,
} from './store/schedule-store.js';

export type Schedule = components['schemas']['Schedule'];
export type Firing = components['schemas']['Firing'];
export type ScheduleDetail = components['schemas']['ScheduleDetail'];
type Session = components['schemas']['Session'];

/** A tick at least this often: firings due, runs ended elsewhere. */
const MAX_TICK_MS = 1000;
/** Schedules advanced and firings made per tick at most (the next tick goes on). */
const PER_TICK = 20;
/** Firings `GET /schedules/{name}` shows. */
const RECENT_FIRINGS = 50;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface SchedulerOptions {
  /** This process's name in claims (its runner name). */
  claimant: string;
  /** How long a claim on a firing lasts unless renewed (a runner lease's length). */
  claimMs: number;
  logger: Logger;
  /** Whether a blueprint exists and is active; throws the API's problem when not. */
  checkAgent?: (name: string) => Promise<void>;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private offChange: (() => void) | undefined;
  /**
   * The sessions whose runs firings started and that had not ended at the last look (that tick's
   * firings not settled, and those made since), and whether a firing waited then: the run ends that
   * can change a firing. Other runs' ends do not wake the loop (its tick at least every second reads
   * every firing again, whichever process made it).
   */
  private readonly watched = new Set<string>();
  private firingsWait = false;

  constructor(
    private readonly store: ScheduleStore,
    private readonly sessions: SessionService,
    private readonly options: SchedulerOptions,
  ) {}

  /* ---------- the API ---------- */

  async create(input: ScheduleCreate): Promise<Schedule> {
    const { name, paused, ...spec } = input;
    await this.check(input);
    const now = Date.now();
    const stored: StoredSchedule = {
      name,
      spec,
      paused: paused === true,
      paused_reason: null,
      created_at: now,
      next_fire_at: nextFiring(timingOf(spec), windowOf(spec, now), now),
      last_fire_at: null,
      last_session: null,
      last_outcome: null,
      last_result: null,
      failures_in_row: 0,
      missed: 0,
      fired: 0,
    };
    if (!(await this.store.insert(stored)))
      throw conflict(`Schedule '${name}' already exists; delete it first or choose another name`, 'schedule-exists');
    this.wake();
    return view(stored);
  }

  async list(): Promise<Schedule[]> {
    return (await this.store.list()).map(view);
  }

  async get(name: string): Promise<ScheduleDetail> {
    const schedule = await this.require(name);
    const firings = await this.store.firings(name, RECENT_FIRINGS);
    return { schedule: view(schedule), firings: firings.map(firingView) };
  }

  async delete(name: string): Promise<void> {
    if (!(await this.store.remove(name))) throw missing(name);
  }

  async pause(name: string): Promise<Schedule> {
    const schedule = await this.store.setPaused(name, { paused: true, reason: null });
    if (!schedule) throw missing(name);
    return view(schedule);
  }

  /** Fires again from the next time after now: what fell due while paused is not made. */
  async resume(name: string): Promise<Schedule> {
    const schedule = await this.require(name);
    const now = Date.now();
    const next = nextFiring(timingOf(schedule.spec), windowOf(schedule.spec, schedule.created_at), now);
    const resumed = await this.store.setPaused(name, { paused: false, next_fire_at: next });
    if (!resumed) throw missing(name);
    this.wake();
    return view(resumed);
  }

  /** A firing due now, besides the schedule's times. */
  async fireNow(name: string): Promise<Firing> {
    await this.require(name);
    const now = Date.now();
    const firing = {
      id: `${name}@now-${randomUUID()}`,
      schedule: name,
      due_at: now,
      fire_at: now,
      outcome: 'pending' as const,
      reason: null,
      manual: true,
    };
    await this.store.addFirings([firing]);
    this.wake();
    return firingView({ ...firing, fired_at: null, session: null, run: null, attempts: 0, first_claimed_at: null });
  }

  private async require(name: string): Promise<StoredSchedule> {
    const schedule = await this.store.get(name);
    if (!schedule) throw missing(name);
    return schedule;
  }

  /** Refuses (422, naming the field) what could never fire. */
  private async check(input: ScheduleCreate): Promise<void> {
    if ((input.cron === undefined) === (input.every === undefined))
      throw unprocessable('body.cron', 'give exactly one of cron and every');
    if (input.tz !== undefined && input.cron === undefined)
      throw unprocessable('body.tz', 'a time zone goes with cron (an interval has none)');
    try {
      if (input.cron !== undefined) checkCron(input.cron, input.tz);
    } catch (error) {
      throw unprocessable(
        input.tz !== undefined && /time zone/.test((error as Error).message) ? 'body.tz' : 'body.cron',
        (error as Error).message,
      );
    }
    try {
      if (input.every !== undefined) parseEvery(input.every);
    } catch (error) {
      throw unprocessable('body.every', (error as Error).message);
    }
    if (input.start_at && input.end_at && Date.parse(input.end_at) <= Date.parse(input.start_at))
      throw unprocessable('body.end_at', 'must be after start_at');
    if (input.session !== undefined) {
      for (const field of ['agent', 'session_name', 'project_dir', 'worktree', 'parent', 'limits'] as const) {
        if (input[field] !== undefined)
          throw unprocessable(`body.${field}`, 'goes with a new session each firing, not with session (a resume)');
      }
      await this.sessions.get(input.session).catch((error: unknown) => {
        if (error instanceof HttpProblem && error.status === 404)
          throw unprocessable('body.session', `session '${input.session}' not found`, 'session-not-found');
        throw error;
      });
      return;
    }
    const sample = sessionName(input.session_name, input.name, Date.now(), input.tz);
    if (!isValidName(sample))
      throw unprocessable(
        'body.session_name',
        `makes '${sample}', not a valid session name (letters, digits, _ and -, at most 60)`,
      );
    if (input.project_dir !== undefined) {
      const dir = input.project_dir;
      const isDir =
        isAbsolute(dir) &&
        (await stat(dir).then(
          (s) => s.isDirectory(),
          () => false,
        ));
      if (!isDir)
        throw unprocessable(
          'body.project_dir',
          `'${dir}' is not an absolute path of an existing directory`,
          'project-dir-invalid',
        );
    }
    if (input.agent !== undefined) await this.options.checkAgent?.(input.agent);
  }

  /* ---------- the loop ---------- */

  start(): void {
    // A run that ends may let a waiting firing go, and is recorded as its firing's outcome (a run that
    // is queued or starts does neither: the tick at a firing's time reads who is active).
    this.offChange = this.sessions.onChange((change) => {
      if (change.change !== 'deleted' && !(change.change === 'state' && change.state && isFinal(change.state))) return;
      // During a tick, any end: a firing made in it may not be watched yet.
      if (this.ticking || this.firingsWait || this.watched.has(change.name)) this.wake();
    });
    this.wake();
  }

  /** Ticks as soon as the tick in progress (if any) is done. */
  wake(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.ticking = this.tick()
      .catch((error: unknown) => this.options.logger.warn(`schedules: ${(error as Error).message}`))
      .then(async () => {
        const due = await this.store.nextDueInMs().catch(() => null);
        return due;
      })
      .then((due) => {
        this.ticking = undefined;
        if (this.closed) return;
        const delay = this.again ? 0 : Math.max(10, Math.min(MAX_TICK_MS, due ?? MAX_TICK_MS));
        this.again = false;
        this.timer = setTimeout(() => this.wake(), delay);
        this.timer.unref();
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.offChange?.();
    clearTimeout(this.timer);
    await this.ticking;
  }

  private async tick(): Promise<void> {
    await this.recordEnds();
    await this.advanceDue();
    for (let made = 0; made < PER_TICK && !this.closed; made++) {
      const firing = await this.store.claimFiring(this.options.claimant, this.options.claimMs);
      if (!firing) break;
      await this.holding(firing, () => this.make(firing));
    }
  }

  /** Records the outcome of firings whose run ended (once, whichever process sees it first). */
  private async recordEnds(): Promise<void> {
    const unsettled = await this.store.unsettled();
    this.watched.clear();
    this.firingsWait = false;
    for (const firing of unsettled) {
      if (firing.outcome === 'waiting') this.firingsWait = true;
      else if (firing.session) this.watched.add(firing.session);
    }
    for (const firing of unsettled) {
      if (firing.outcome !== 'running' || !firing.session || !firing.run) continue;
      const session = await this.sessionOf(firing.session);
      const run = session?.runs.find((r) => r.number === firing.run);
      if (!session || !run) {
        await this.store.endFiring(firing.id, { outcome: 'stopped', result: null });
        continue;
      }
      if (run.state === 'finished' || run.state === 'failed' || run.state === 'stopped') {
        await this.store.endFiring(firing.id, {
          outcome: run.state,
          result: run.state === 'finished' ? run.result : run.error,
        });
      }
    }
  }

  /** Adds the firings of schedules that fell due, and moves their next time on. */
  private async advanceDue(): Promise<void> {
    const { now, schedules } = await this.store.due(PER_TICK);
    for (const schedule of schedules) {
      const due = schedule.next_fire_at!;
      const { spec } = schedule;
      const { fire, missed, next } = dueFirings(
        timingOf(spec),
        windowOf(spec, schedule.created_at),
        due,
        now,
        (spec.catch_up_seconds ?? DEFAULT_CATCH_UP_SECONDS) * 1000,
      );
      const firings = [];
      if (missed > 0) {
        firings.push({
          id: `${schedule.name}@${due}`,
          schedule: schedule.name,
          due_at: due,
          fire_at: due,
          outcome: 'missed' as const,
          reason: `${missed} firing${missed === 1 ? '' : 's'} due while no runtime was up (of those, only the latest within the catch-up window is made)`,
          manual: false,
        });
      }
      for (const time of fire) {
        firings.push({
          id: `${schedule.name}@${time}`,
          schedule: schedule.name,
          due_at: time,
          fire_at: time + jitterOf(schedule.name, time, (spec.jitter_seconds ?? 0) * 1000),
          outcome: 'pending' as const,
          reason: null,
          manual: false,
        });
      }
      // Added first: a process that dies before moving the time on leaves the same firings to add.
      await this.store.addFirings(firings);
      await this.store.advance(schedule.name, due, next, missed);
    }
  }

  /** Runs `work` while renewing the claim on `firing`, so a long pre-check or set-up keeps it. */
  private async holding(firing: StoredFiring, work: () => Promise<void>): Promise<void> {
    const renew = setInterval(
      () => {
        void this.store.renewFiring(firing.id, this.options.claimant, this.options.claimMs).catch(() => undefined);
      },
      Math.max(100, this.options.claimMs / 3),
    );
    try {
      await work();
    } catch (error) {
      this.options.logger.warn(`schedule firing ${firing.id}: ${(error as Error).message}`);
      await this.settle(firing, { outcome: 'error', reason: (error as Error).message.slice(0, 2000) });
    } finally {
      clearInterval(renew);
    }
  }

  private settle(firing: StoredFiring, settlement: FiringSettlement): Promise<boolean> {
    if (settlement.outcome === 'running') this.watched.add(settlement.session);
    if (settlement.outcome === 'waiting') this.firingsWait = true;
    return this.store.settleFiring(firing.id, this.options.claimant, settlement);
  }

  /** Makes one claimed firing. */
  private async make(firing: StoredFiring): Promise<void> {
    const schedule = await this.store.get(firing.schedule);
    if (!schedule) return; // deleted: its firings went with it
    const { spec } = schedule;
    if (schedule.paused && !firing.manual) {
      await this.settle(firing, { outcome: 'skipped', reason: 'the schedule is paused' });
      return;
    }
    const resumes = spec.session !== undefined;
    const unsettled = (await this.store.unsettled(schedule.name)).filter((f) => f.id !== firing.id);
    const taken = firing.attempts > 1 ? await this.madeBefore(firing, spec) : null;
    if (taken) {
      await this.settle(firing, { outcome: 'running', ...taken });
      return;
    }
    const active = resumes
      ? await this.busy(spec.session!)
      : (
          await Promise.all(
            unsettled.filter((f) => f.outcome === 'running' && f.session).map((f) => this.runs(f.session!, f.run)),
          )
        ).some(Boolean);
    const decision = overlapDecision(spec.overlap ?? 'skip', {
      active,
      waiting: unsettled.some((f) => f.outcome === 'waiting'),
      resumes,
    });
    if (decision === 'skip') {
      await this.settle(firing, {
        outcome: 'skipped',
        reason: active ? 'the previous firing still runs' : 'a firing waits already',
      });
      return;
    }
    if (decision === 'wait') {
      await this.settle(firing, { outcome: 'waiting', reason: 'waits for the previous firing to end' });
      return;
    }
    const projectDir = resumes ? (await this.sessionOf(spec.session!))?.project_dir : spec.project_dir;
    let check = '';
    if (spec.pre_check) {
      const result = await runPreCheck(spec.pre_check.command, {
        cwd: projectDir ?? process.cwd(),
        env: { ...withoutServerSecrets(process.env), AGENT_ORCHESTRATOR_SCHEDULE: schedule.name },
        timeoutMs: (spec.pre_check.timeout_seconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS) * 1000,
      });
      if (!result.fire) {
        await this.settle(firing, { outcome: 'skipped', reason: result.reason ?? 'pre-check said no' });
        return;
      }
      check = result.output;
    }
    const prompt = promptOf(schedule, firing.due_at, check);
    if (resumes) {
      const session = await this.sessions.resume(spec.session!, prompt);
      await this.settle(firing, { outcome: 'running', session: session.name, run: session.runs.at(-1)!.number });
      return;
    }
    const name = sessionName(spec.session_name, schedule.name, firing.due_at, spec.tz, firing.manual);
    const session = await this.sessions.create({
      name,
      prompt,
      ...(spec.agent !== undefined ? { agent: spec.agent } : {}),
      ...(spec.project_dir !== undefined ? { project_dir: spec.project_dir } : {}),
      ...(spec.worktree !== undefined ? { worktree: spec.worktree } : {}),
      parent: spec.parent ?? null,
      ...(spec.limits !== undefined ? { limits: spec.limits } : {}),
    });
    await this.settle(firing, { outcome: 'running', session: session.name, run: 1 });
  }

  /**
   * What an earlier claimant of `firing` made before it died, if anything: the new session its time
   * names, or a run of the resumed session queued since the firing was first claimed.
   */
  private async madeBefore(firing: StoredFiring, spec: StoredSchedule['spec']) {
    if (spec.session !== undefined) {
      const session = await this.sessionOf(spec.session);
      const run = session?.runs.find(
        (r) => firing.first_claimed_at !== null && Date.parse(r.queued_at) >= firing.first_claimed_at,
      );
      return session && run ? { session: session.name, run: run.number } : null;
    }
    const name = sessionName(spec.session_name, firing.schedule, firing.due_at, spec.tz, firing.manual);
    const session = await this.sessionOf(name);
    return session && Date.parse(session.created_at) >= (firing.first_claimed_at ?? Infinity) - this.options.claimMs
      ? { session: name, run: 1 }
      : null;
  }

  private async sessionOf(name: string): Promise<Session | null> {
    try {
      return await this.sessions.get(name);
    } catch (error) {
      if (error instanceof HttpProblem && error.status === 404) return null;
      throw error;
    }
  }

  /** Whether the session's last run has not ended. */
  private async busy(name: string): Promise<boolean> {
    const session = await this.sessionOf(name);
    return session !== null && (session.state === 'queued' || session.state === 'running');
  }

  /** Whether run `run` of the session (its last when null) has not ended. */
  private async runs(name: string, run: number | null): Promise<boolean> {
    const session = await this.sessionOf(name);
    const found = session?.runs.find((r) => r.number === run) ?? session?.runs.at(-1);
    return found !== undefined && (found.state === 'queued' || found.state === 'running');
  }
}

const missing = (name: string) => notFound(`Schedule '${name}' not found — see ao-schedule list`, 'schedule-not-found');

function timingOf(spec: StoredSchedule['spec']): Timing {
  return spec.cron !== undefined ? { cron: spec.cron, tz: spec.tz } : { every: spec.every! };
}

function windowOf(spec: StoredSchedule['spec'], created: number): Window {
  return {
    anchor: created,
    ...(spec.start_at ? { start: Date.parse(spec.start_at) } : {}),
    ...(spec.end_at ? { end: Date.parse(spec.end_at) } : {}),
  };
}

/** The name of the session a firing at `due` starts (a firing on request adds its second too). */
function sessionName(template: string | undefined, schedule: string, due: number, tz?: string, manual = false): string {
  const parts = timeParts(due, tz);
  const name = fillTemplate(template ?? DEFAULT_NAME_TEMPLATE, { schedule, ...parts });
  return manual && template === undefined ? `${name}-now` : name;
}

function promptOf(schedule: StoredSchedule, due: number, check: string): string {
  const { spec } = schedule;
  const values = {
    schedule: schedule.name,
    ...timeParts(due, spec.tz),
    last_run: iso(schedule.last_fire_at) ?? 'never',
    last_result: schedule.last_result ?? '',
    check,
  };
  const prompt = fillTemplate(spec.prompt, values);
  return check && !spec.prompt.includes('{check}') ? `${prompt}\n\nOutput of the pre-check:\n${check}` : prompt;
}

function view(s: StoredSchedule): Schedule {
  const { spec } = s;
  return {
    name: s.name,
    ...spec,
    overlap: spec.overlap ?? 'skip',
    catch_up_seconds: spec.catch_up_seconds ?? DEFAULT_CATCH_UP_SECONDS,
    paused: s.paused,
    ...(s.paused_reason ? { paused_reason: s.paused_reason } : {}),
    created_at: iso(s.created_at)!,
    next_fire_at: s.paused ? null : iso(s.next_fire_at),
    last_fire_at: iso(s.last_fire_at),
    last_session: s.last_session,
    last_outcome: s.last_outcome,
    failures_in_row: s.failures_in_row,
    missed: s.missed,
    fired: s.fired,
  };
}

function firingView(f: StoredFiring): Firing {
  return {
    id: f.id,
    schedule: f.schedule,
    due_at: iso(f.due_at)!,
    fire_at: iso(f.fire_at)!,
    fired_at: iso(f.fired_at),
    outcome: f.outcome,
    session: f.session,
    run: f.run,
    reason: f.reason,
    ...(f.manual ? { manual: true } : {}),
  };
}
