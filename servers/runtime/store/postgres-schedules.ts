import type { Logger } from '../../common/logger.js';
import { openDatabase, type Database, type Queries } from '../../common/storage/postgres.js';
import { SCHEDULE_MIGRATIONS } from './schedule-schema.js';
import { PostgresTriggerStore } from './postgres-triggers.js';
import type { TriggerStore } from './trigger-store.js';
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

const ms = (date: Date | null): number | null => (date ? date.getTime() : null);
const date = (time: number | null): Date | null => (time === null ? null : new Date(time));

interface ScheduleRow extends Omit<StoredSchedule, 'created_at' | 'next_fire_at' | 'last_fire_at'> {
  created_at: Date;
  next_fire_at: Date | null;
  last_fire_at: Date | null;
}

interface FiringRow extends Omit<StoredFiring, 'due_at' | 'fire_at' | 'fired_at' | 'first_claimed_at'> {
  due_at: Date;
  fire_at: Date;
  fired_at: Date | null;
  first_claimed_at: Date | null;
}

const SCHEDULE_COLUMNS =
  'name, spec, paused, paused_reason, created_at, next_fire_at, last_fire_at, last_session, last_outcome, last_result, failures_in_row, missed, fired';
const FIRING_COLUMNS =
  'id, schedule, due_at, fire_at, fired_at, outcome, session, run, reason, manual, attempts, first_claimed_at';

const scheduleOf = (row: ScheduleRow): StoredSchedule => ({
  ...row,
  created_at: row.created_at.getTime(),
  next_fire_at: ms(row.next_fire_at),
  last_fire_at: ms(row.last_fire_at),
});

const firingOf = (row: FiringRow): StoredFiring => ({
  ...row,
  due_at: row.due_at.getTime(),
  fire_at: row.fire_at.getTime(),
  fired_at: ms(row.fired_at),
  first_claimed_at: ms(row.first_claimed_at),
});

/** The schedules' store in PostgreSQL (its own migrations, on its own pool), shared by every runtime process. */
export async function openPostgresSchedules(
  url: string,
  logger?: Logger,
): Promise<{ schedules: ScheduleStore; triggers: TriggerStore; close(): Promise<void> }> {
  const db = await openDatabase(url, 'runtime-schedules', SCHEDULE_MIGRATIONS, logger);
  return { schedules: new PostgresScheduleStore(db), triggers: new PostgresTriggerStore(db), close: () => db.end() };
}

/**
 * Schedules in `aof_schedules`, firings in `aof_firings` (schedule-schema.ts). A schedule's next
 * firing moves by a conditional UPDATE (of the row still at the time this process read), and a firing
 * is claimed as the webhook outbox's notices are: one UPDATE of the row picked with `FOR UPDATE SKIP
 * LOCKED`, until `claimed_until` on the database's clock. A settlement is recorded only by the
 * claimant that still holds the firing, in one transaction with what it changes of its schedule.
 */
export class PostgresScheduleStore implements ScheduleStore {
  constructor(private readonly db: Database) {}

  async insert(s: StoredSchedule): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO aof_schedules (${SCHEDULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (name) DO NOTHING`,
      [
        s.name,
        JSON.stringify(s.spec),
        s.paused,
        s.paused_reason,
        date(s.created_at),
        date(s.next_fire_at),
        date(s.last_fire_at),
        s.last_session,
        s.last_outcome,
        s.last_result,
        s.failures_in_row,
        s.missed,
        s.fired,
      ],
    );
    return (rowCount ?? 0) > 0;
  }

  async get(name: string, db: Queries = this.db, lock = false): Promise<StoredSchedule | null> {
    const { rows } = await db.query<ScheduleRow>(
      `SELECT ${SCHEDULE_COLUMNS} FROM aof_schedules WHERE name = $1${lock ? ' FOR UPDATE' : ''}`,
      [name],
    );
    return rows[0] ? scheduleOf(rows[0]) : null;
  }

  async list(): Promise<StoredSchedule[]> {
    const { rows } = await this.db.query<ScheduleRow>(`SELECT ${SCHEDULE_COLUMNS} FROM aof_schedules ORDER BY name`);
    return rows.map(scheduleOf);
  }

  async remove(name: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM aof_schedules WHERE name = $1', [name]);
    return (rowCount ?? 0) > 0;
  }

  async setPaused(
    name: string,
    change: { paused: true; reason: string | null } | { paused: false; next_fire_at: number | null },
  ): Promise<StoredSchedule | null> {
    const { rows } = change.paused
      ? await this.db.query<ScheduleRow>(
          `UPDATE aof_schedules SET paused = true, paused_reason = $2 WHERE name = $1 RETURNING ${SCHEDULE_COLUMNS}`,
          [name, change.reason],
        )
      : await this.db.query<ScheduleRow>(
          `UPDATE aof_schedules SET paused = false, paused_reason = NULL, next_fire_at = $2, failures_in_row = 0
           WHERE name = $1 RETURNING ${SCHEDULE_COLUMNS}`,
          [name, date(change.next_fire_at)],
        );
    return rows[0] ? scheduleOf(rows[0]) : null;
  }

  async due(limit: number): Promise<{ now: number; schedules: StoredSchedule[] }> {
    // One statement, so what is due is due by the clock it answers with.
    const { rows } = await this.db.query<ScheduleRow & { db_now: Date }>(
      `WITH clock AS (SELECT now() AS db_now)
       SELECT clock.db_now, ${SCHEDULE_COLUMNS.split(', ')
         .map((c) => `s.${c}`)
         .join(', ')}
       FROM clock LEFT JOIN aof_schedules s ON NOT s.paused AND s.next_fire_at <= clock.db_now
       ORDER BY s.next_fire_at LIMIT $1`,
      [limit],
    );
    const now = rows[0]!.db_now.getTime();
    return {
      now,
      schedules: rows.filter((r) => r.name !== null).map(({ db_now, ...row }) => scheduleOf(row)),
    };
  }

  async advance(name: string, from: number, to: number | null, missed: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'UPDATE aof_schedules SET next_fire_at = $3, missed = missed + $4 WHERE name = $1 AND next_fire_at = $2',
      [name, date(from), date(to), missed],
    );
    return (rowCount ?? 0) > 0;
  }

  async addFirings(firings: NewFiring[]): Promise<void> {
    for (const f of firings) {
      await this.db.query(
        `INSERT INTO aof_firings (id, schedule, due_at, fire_at, outcome, reason, manual)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
        [f.id, f.schedule, date(f.due_at), date(f.fire_at), f.outcome, f.reason, f.manual],
      );
    }
  }

  async claimFiring(claimant: string, claimMs: number): Promise<StoredFiring | null> {
    const { rows } = await this.db.query<FiringRow>(
      `UPDATE aof_firings SET claimed_by = $1, claimed_until = now() + $2 * interval '1 millisecond',
         attempts = attempts + 1, first_claimed_at = COALESCE(first_claimed_at, now())
       WHERE id = (
         SELECT id FROM aof_firings
         WHERE outcome IN ('pending', 'waiting') AND fire_at <= now() AND (claimed_until IS NULL OR claimed_until <= now())
         ORDER BY fire_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
       ) RETURNING ${FIRING_COLUMNS}`,
      [claimant, claimMs],
    );
    return rows[0] ? firingOf(rows[0]) : null;
  }

  async renewFiring(id: string, claimant: string, claimMs: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      "UPDATE aof_firings SET claimed_until = now() + $3 * interval '1 millisecond' WHERE id = $1 AND claimed_by = $2",
      [id, claimant, claimMs],
    );
    return (rowCount ?? 0) > 0;
  }

  settleFiring(id: string, claimant: string, settlement: FiringSettlement): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ schedule: string; now: Date }>(
        `UPDATE aof_firings SET outcome = $3, reason = $4, session = $5, run = $6,
           fired_at = CASE WHEN $3 = 'running' THEN now() ELSE fired_at END,
           claimed_by = NULL, claimed_until = NULL,
           attempts = CASE WHEN $3 = 'waiting' THEN 0 ELSE attempts END,
           first_claimed_at = CASE WHEN $3 = 'waiting' THEN NULL ELSE first_claimed_at END
         WHERE id = $1 AND claimed_by = $2 RETURNING schedule, now() AS now`,
        [
          id,
          claimant,
          settlement.outcome,
          'reason' in settlement ? settlement.reason : null,
          'session' in settlement ? (settlement.session ?? null) : null,
          settlement.outcome === 'running' ? settlement.run : null,
        ],
      );
      if (!rows[0]) return false;
      const schedule = await this.get(rows[0].schedule, tx, true);
      if (schedule) await this.write(tx, afterSettlement(schedule, settlement, rows[0].now.getTime()));
      return true;
    });
  }

  endFiring(id: string, end: FiringEnd): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ schedule: string }>(
        "UPDATE aof_firings SET outcome = $2 WHERE id = $1 AND outcome = 'running' RETURNING schedule",
        [id, end.outcome],
      );
      if (!rows[0]) return false;
      const schedule = await this.get(rows[0].schedule, tx, true);
      if (schedule) await this.write(tx, afterEnd(schedule, end));
      return true;
    });
  }

  /** Writes what firings change of a schedule (never its spec or its next firing). */
  private async write(tx: Queries, s: StoredSchedule): Promise<void> {
    await tx.query(
      `UPDATE aof_schedules SET paused = $2, paused_reason = $3, last_fire_at = $4, last_session = $5,
         last_outcome = $6, last_result = $7, failures_in_row = $8, fired = $9 WHERE name = $1`,
      [
        s.name,
        s.paused,
        s.paused_reason,
        date(s.last_fire_at),
        s.last_session,
        s.last_outcome,
        s.last_result,
        s.failures_in_row,
        s.fired,
      ],
    );
  }

  async firings(schedule: string, limit: number): Promise<StoredFiring[]> {
    const { rows } = await this.db.query<FiringRow>(
      `SELECT ${FIRING_COLUMNS} FROM aof_firings WHERE schedule = $1 ORDER BY due_at DESC, id DESC LIMIT $2`,
      [schedule, limit],
    );
    return rows.map(firingOf);
  }

  async unsettled(schedule?: string): Promise<StoredFiring[]> {
    const { rows } = await this.db.query<FiringRow>(
      `SELECT ${FIRING_COLUMNS} FROM aof_firings WHERE outcome IN ('running', 'waiting')
       AND ($1::text IS NULL OR schedule = $1) ORDER BY due_at, id`,
      [schedule ?? null],
    );
    return rows.map(firingOf);
  }

  async nextDueInMs(): Promise<number | null> {
    const { rows } = await this.db.query<{ ms: string | null }>(
      `SELECT CEIL(EXTRACT(EPOCH FROM (LEAST(
         (SELECT min(next_fire_at) FROM aof_schedules WHERE NOT paused),
         (SELECT min(GREATEST(fire_at, COALESCE(claimed_until, fire_at))) FROM aof_firings WHERE outcome = 'pending')
       ) - now())) * 1000) AS ms`,
      [], // prepared (common/storage/postgres.ts): asked after every run's end
    );
    const value = rows[0]?.ms;
    return value === null || value === undefined ? null : Math.max(0, Number(value));
  }
}
