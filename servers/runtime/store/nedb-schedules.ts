import type Datastore from 'nedb-promises';
import { openCollection } from '../../common/storage/data-dir.js';
import { KeyedLock } from '../keyed-lock.js';
import {
  afterEnd,
  afterSettlement,
  type FiringEnd,
  type FiringSettlement,
  type NewFiring,
  type ScheduleStore,
  type StoredFiring,
  type StoredSchedule,
} from './schedule-store.js';

type ScheduleDocument = StoredSchedule & { _id: string };
type FiringDocument = StoredFiring & { _id: string; claimed_by: string | null; claimed_until: number | null };

const strip = <T extends { _id: string }>({ _id, ...rest }: T) => rest;
const firingOf = ({ _id, claimed_by, claimed_until, ...rest }: FiringDocument): StoredFiring => rest;

/**
 * Schedules (`schedules.db`) and their firings (`firings.db`) in nedb files of the data dir. One
 * process uses a data dir: claims left by a process that died are let go at open, and writes that read
 * first take turns here.
 */
export class NedbScheduleStore implements ScheduleStore {
  private readonly turns = new KeyedLock();

  private constructor(
    private readonly schedules: Datastore<ScheduleDocument>,
    private readonly firingDocs: Datastore<FiringDocument>,
  ) {}

  static async open(dataDir: string): Promise<NedbScheduleStore> {
    const schedules = await openCollection<ScheduleDocument>(dataDir, 'schedules.db', []);
    const firings = await openCollection<FiringDocument>(dataDir, 'firings.db', [
      { fieldName: 'schedule' },
      { fieldName: 'outcome' },
    ]);
    await firings.update(
      { claimed_by: { $ne: null } },
      { $set: { claimed_by: null, claimed_until: null } },
      { multi: true },
    );
    return new NedbScheduleStore(schedules, firings);
  }

  private turn<T>(work: () => Promise<T>): Promise<T> {
    return this.turns.run('', work);
  }

  insert(schedule: StoredSchedule): Promise<boolean> {
    return this.turn(async () => {
      if (await this.schedules.findOne({ _id: schedule.name })) return false;
      await this.schedules.insert({ ...schedule, _id: schedule.name });
      return true;
    });
  }

  async get(name: string): Promise<StoredSchedule | null> {
    const doc = await this.schedules.findOne({ _id: name });
    return doc ? strip(doc) : null;
  }

  async list(): Promise<StoredSchedule[]> {
    return (await this.schedules.find({}).sort({ _id: 1 })).map(strip);
  }

  remove(name: string): Promise<boolean> {
    return this.turn(async () => {
      const removed = await this.schedules.remove({ _id: name }, {});
      await this.firingDocs.remove({ schedule: name }, { multi: true });
      return removed > 0;
    });
  }

  setPaused(
    name: string,
    change: { paused: true; reason: string | null } | { paused: false; next_fire_at: number | null },
  ): Promise<StoredSchedule | null> {
    return this.turn(async () => {
      const set = change.paused
        ? { paused: true, paused_reason: change.reason }
        : { paused: false, paused_reason: null, next_fire_at: change.next_fire_at, failures_in_row: 0 };
      const doc = await this.schedules.findOne({ _id: name });
      if (!doc) return null;
      await this.schedules.update({ _id: name }, { $set: set });
      return strip({ ...doc, ...set });
    });
  }

  async due(limit: number): Promise<{ now: number; schedules: StoredSchedule[] }> {
    const now = Date.now();
    const docs = await this.schedules
      .find({ paused: false, next_fire_at: { $lte: now } })
      .sort({ next_fire_at: 1 })
      .limit(limit);
    return { now, schedules: docs.map(strip) };
  }

  advance(name: string, from: number, to: number | null, missed: number): Promise<boolean> {
    return this.turn(async () => {
      const changed = await this.schedules.update(
        { _id: name, next_fire_at: from },
        { $set: { next_fire_at: to }, $inc: { missed } },
      );
      return changed > 0;
    });
  }

  addFirings(firings: NewFiring[]): Promise<void> {
    return this.turn(async () => {
      for (const firing of firings) {
        if (await this.firingDocs.findOne({ _id: firing.id })) continue;
        await this.firingDocs.insert({
          ...firing,
          _id: firing.id,
          fired_at: null,
          session: null,
          run: null,
          attempts: 0,
          first_claimed_at: null,
          claimed_by: null,
          claimed_until: null,
        });
      }
    });
  }

  claimFiring(claimant: string, claimMs: number): Promise<StoredFiring | null> {
    return this.turn(async () => {
      const now = Date.now();
      const [doc] = await this.firingDocs
        .find({
          outcome: { $in: ['pending', 'waiting'] },
          fire_at: { $lte: now },
          $or: [{ claimed_until: null }, { claimed_until: { $lte: now } }],
        })
        .sort({ fire_at: 1, _id: 1 })
        .limit(1);
      if (!doc) return null;
      const set = {
        claimed_by: claimant,
        claimed_until: now + claimMs,
        attempts: doc.attempts + 1,
        first_claimed_at: doc.first_claimed_at ?? now,
      };
      await this.firingDocs.update({ _id: doc._id }, { $set: set });
      return firingOf({ ...doc, ...set });
    });
  }

  renewFiring(id: string, claimant: string, claimMs: number): Promise<boolean> {
    return this.turn(async () => {
      const changed = await this.firingDocs.update(
        { _id: id, claimed_by: claimant },
        { $set: { claimed_until: Date.now() + claimMs } },
      );
      return changed > 0;
    });
  }

  settleFiring(id: string, claimant: string, settlement: FiringSettlement): Promise<boolean> {
    return this.turn(async () => {
      const doc = await this.firingDocs.findOne({ _id: id, claimed_by: claimant });
      if (!doc) return false;
      const now = Date.now();
      await this.firingDocs.update(
        { _id: id },
        {
          $set: {
            outcome: settlement.outcome,
            reason: 'reason' in settlement ? settlement.reason : null,
            session: 'session' in settlement ? (settlement.session ?? null) : null,
            run: settlement.outcome === 'running' ? settlement.run : null,
            fired_at: settlement.outcome === 'running' ? now : doc.fired_at,
            claimed_by: null,
            claimed_until: null,
            ...(settlement.outcome === 'waiting' ? { attempts: 0, first_claimed_at: null } : {}),
          },
        },
      );
      const schedule = await this.schedules.findOne({ _id: doc.schedule });
      if (schedule) await this.schedules.update({ _id: schedule._id }, afterSettlement(schedule, settlement, now));
      return true;
    });
  }

  endFiring(id: string, end: FiringEnd): Promise<boolean> {
    return this.turn(async () => {
      const doc = await this.firingDocs.findOne({ _id: id, outcome: 'running' });
      if (!doc) return false;
      await this.firingDocs.update({ _id: id }, { $set: { outcome: end.outcome } });
      const schedule = await this.schedules.findOne({ _id: doc.schedule });
      if (schedule) await this.schedules.update({ _id: schedule._id }, afterEnd(schedule, end));
      return true;
    });
  }

  async firings(schedule: string, limit: number): Promise<StoredFiring[]> {
    const docs = await this.firingDocs.find({ schedule }).sort({ due_at: -1, _id: -1 }).limit(limit);
    return docs.map(firingOf);
  }

  async unsettled(schedule?: string): Promise<StoredFiring[]> {
    const docs = await this.firingDocs
      .find({ outcome: { $in: ['running', 'waiting'] }, ...(schedule ? { schedule } : {}) })
      .sort({ due_at: 1, _id: 1 });
    return docs.map(firingOf);
  }

  async nextDueInMs(): Promise<number | null> {
    const now = Date.now();
    const [schedule] = await this.schedules
      .find({ paused: false, next_fire_at: { $ne: null } })
      .sort({ next_fire_at: 1 })
      .limit(1);
    const [firing] = await this.firingDocs.find({ outcome: 'pending' }).sort({ fire_at: 1 }).limit(1);
    const times = [schedule?.next_fire_at, firing ? Math.max(firing.fire_at, firing.claimed_until ?? 0) : undefined];
    const known = times.filter((t): t is number => typeof t === 'number');
    return known.length ? Math.max(0, Math.min(...known) - now) : null;
  }

  /** Waits for the writes in flight. */
  async close(): Promise<void> {
    await this.turn(async () => undefined);
  }
}
