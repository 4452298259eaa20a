/**
 * What both servers share when they keep their data in PostgreSQL: a connection pool and versioned
 * migrations. Several processes may start at once on one database (runtime replicas, a registry next
 * to them): the migrations run under one advisory lock, so each is applied exactly once, in order.
 */
import pg from 'pg';
import { DATABASE_URL_VARIABLE, redactDatabaseUrl } from './config.js';
import type { Logger } from './logger.js';

/** A schema change: applied once, in order of `version`, each in its own transaction. */
export interface Migration {
  version: number;
  /** What it does, kept in the migrations table for whoever reads the database. */
  name: string;
  sql: string;
}

/** The key of the advisory lock that migrations run under (any fixed 64-bit number; "aof" in ASCII). */
const MIGRATION_LOCK = 0x616f66;

/**
 * A pool on `url`. A connection that breaks while idle (the server restarted) is dropped and
 * reported, never thrown: the next query opens a new one.
 */
export function openPool(url: string, logger?: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
  pool.on('error', (error) => logger?.warn(`PostgreSQL connection lost: ${error.message}`));
  return pool;
}

/**
 * Applies the migrations of `component` that the database does not have yet; resolves with how many
 * were applied. Safe when several processes call it at once.
 */
export async function migrate(pool: pg.Pool, component: string, migrations: readonly Migration[]): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS aof_migrations (
        component text NOT NULL, version integer NOT NULL, name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM aof_migrations WHERE component = $1', [component]);
      const applied = new Set(rows.map((r) => r.version));
      let count = 0;
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO aof_migrations (component, version, name) VALUES ($1, $2, $3)', [component, migration.version, migration.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(`PostgreSQL migration ${component} ${migration.version} (${migration.name}) failed: ${(error as Error).message}`);
        }
        count++;
      }
      return count;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

/**
 * A pool on `url` with the migrations of `component` applied: what a server opens at start. Fails
 * with a message that names the database (without its password) and the variable that sets it.
 */
export async function openDatabase(url: string, component: string, migrations: readonly Migration[], logger?: Logger): Promise<pg.Pool> {
  const pool = openPool(url, logger);
  try {
    const applied = await migrate(pool, component, migrations);
    if (applied) logger?.info(`applied ${applied} ${component} migration(s) to ${redactDatabaseUrl(url)}`);
    return pool;
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new Error(`cannot use PostgreSQL at ${redactDatabaseUrl(url)} (${DATABASE_URL_VARIABLE}): ${(error as Error).message}`);
  }
}

/** Runs `work` in one transaction on one connection of the pool. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is broken: the pool drops it rather than reuse it.
    await client.query('ROLLBACK').catch((rollback: Error) => { broken = rollback; });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** PostgreSQL's code for a unique constraint that an insert would break. */
export const UNIQUE_VIOLATION = '23505';
