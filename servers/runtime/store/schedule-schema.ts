import type { Migration } from '../../common/storage/postgres.js';

/**
 * The schedules' tables, a migration series of their own (component `runtime-schedules` in
 * `aof_migrations`), so they version apart from the sessions' tables. `aof_schedules` holds each
 * schedule: its spec as given (JSON), and the columns the scheduler selects and updates by.
 * `aof_triggers` and `aof_trigger_deliveries` (version 2) hold triggers and, keyed by the sender's
 * delivery id, what each delivery did. `aof_firings` holds each firing, one row per schedule and nominal time (its id), claimed by one
 * process at a time (`claimed_by` until `claimed_until`) like the webhook outbox's notices.
 *
 * Append-only: a released migration is never edited, a change is a new version.
 */
export const SCHEDULE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'schedules and firings',
    sql: `
      CREATE TABLE aof_schedules (
        name text COLLATE "C" PRIMARY KEY,
        spec json NOT NULL,
        paused boolean NOT NULL,
        paused_reason text,
        created_at timestamptz NOT NULL,
        next_fire_at timestamptz,
        last_fire_at timestamptz,
        last_session text,
        last_outcome text,
        last_result text,
        failures_in_row integer NOT NULL DEFAULT 0,
        missed integer NOT NULL DEFAULT 0,
        fired integer NOT NULL DEFAULT 0
      );
      CREATE INDEX aof_schedules_due ON aof_schedules (next_fire_at) WHERE NOT paused;
      CREATE TABLE aof_firings (
        id text COLLATE "C" PRIMARY KEY,
        schedule text COLLATE "C" NOT NULL REFERENCES aof_schedules (name) ON DELETE CASCADE,
        due_at timestamptz NOT NULL,
        fire_at timestamptz NOT NULL,
        fired_at timestamptz,
        outcome text NOT NULL,
        session text,
        run integer,
        reason text,
        manual boolean NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        first_claimed_at timestamptz,
        claimed_by text,
        claimed_until timestamptz
      );
      CREATE INDEX aof_firings_due ON aof_firings (fire_at, id) WHERE outcome IN ('pending', 'waiting');
      CREATE INDEX aof_firings_schedule ON aof_firings (schedule, due_at DESC);
      CREATE INDEX aof_firings_unsettled ON aof_firings (schedule) WHERE outcome IN ('running', 'waiting');
    `,
  },
  {
    version: 2,
    name: 'triggers and their deliveries',
    sql: `
      CREATE TABLE aof_triggers (
        name text COLLATE "C" PRIMARY KEY,
        spec json NOT NULL,
        created_at timestamptz NOT NULL,
        deliveries integer NOT NULL DEFAULT 0
      );
      CREATE TABLE aof_trigger_deliveries (
        trigger text COLLATE "C" NOT NULL REFERENCES aof_triggers (name) ON DELETE CASCADE,
        id text COLLATE "C" NOT NULL,
        received_at timestamptz NOT NULL,
        outcome text NOT NULL,
        session text,
        reason text,
        PRIMARY KEY (trigger, id)
      );
      CREATE INDEX aof_trigger_deliveries_recent ON aof_trigger_deliveries (trigger, received_at DESC);
    `,
  },
];
