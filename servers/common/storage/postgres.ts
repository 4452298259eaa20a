/**
 * What both servers share when they keep their data in PostgreSQL: a connection pool and versioned
 * migrations. Several processes may start at once on one database (runtime replicas, a registry next
 * to them): the migrations run under one advisory lock, so each is applied exactly once, in order.
 */
import pg from 'pg';
import { DATABASE_URL_VARIABLE, redactDatabaseUrl } from '../config.js';
import type { Logger } from '../logger.js';
import { HttpProblem } from '../contract/problem.js';

/**
 * A schema change: applied once, in order of `version`, each in its own transaction. Versions may
 * leave gaps, and one added below a version a database already has is applied there all the same.
 */
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
  // A connection lost between two statements fails the next one; it must not be an uncaught error.
  client.on('error', () => undefined);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS aof_migrations (
        component text NOT NULL, version integer NOT NULL, name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`);
      const { rows } = await client.query<{ version: number }>(
        'SELECT version FROM aof_migrations WHERE component = $1',
        [component],
      );
      const applied = new Set(rows.map((r) => r.version));
      let count = 0;
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO aof_migrations (component, version, name) VALUES ($1, $2, $3)', [
            component,
            migration.version,
            migration.name,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(
            `PostgreSQL migration ${component} ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
          );
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
export async function openDatabase(
  url: string,
  component: string,
  migrations: readonly Migration[],
  logger?: Logger,
): Promise<Database> {
  const pool = openPool(url, logger);
  try {
    const applied = await migrate(pool, component, migrations);
    if (applied) logger?.info(`applied ${applied} ${component} migration(s) to ${redactDatabaseUrl(url)}`);
    return new Database(pool);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new Error(
      `cannot use PostgreSQL at ${redactDatabaseUrl(url)} (${DATABASE_URL_VARIABLE}): ${(error as Error).message}`,
    );
  }
}

/** PostgreSQL's code for a unique constraint that an insert would break. */
export const UNIQUE_VIOLATION = '23505';

/** SQLSTATEs of a server that is going down, starting up or full; class 08 (connection) besides. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

/** Whether `error` says the database cannot be reached (rather than that a statement was wrong). */
export function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (
    typeof code === 'string' &&
    (code.startsWith('08') || UNAVAILABLE_STATES.has(code) || UNAVAILABLE_ERRNOS.has(code))
  )
    return true;
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i.test(message)
  );
}

/** What a request gets while the database is away: 503, and a `type` a client can retry on. */
export const databaseUnavailable = () =>
  new HttpProblem(503, 'The database cannot be reached right now; retry shortly', {
    code: 'database-unavailable',
  });

const asProblem = (error: unknown) => (isUnavailable(error) ? databaseUnavailable() : error);

/** What `work` resolves to, or its error as a problem when it says the database is away. */
async function asAnswer<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw asProblem(error);
  }
}

/**
 * What a store queries through: the pool (each statement on its own), or one connection inside a
 * transaction (every statement in it). A store written against this runs either way unchanged.
 */
export interface Queries {
  query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
  /** Runs `work` in one transaction; inside one already, as part of that one. */
  transaction<T>(work: (tx: Queries) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction: runs `sql` (no parameters: literals escaped with `pg.escapeLiteral`) as the
   * transaction commits, sent with its COMMIT in one round trip; its failure rolls the transaction
   * back. Absent outside one (run the statement at once).
   */
  atCommit?(sql: string): void;
}

/** Statements with parameters prepared under a name at most (beyond, they are parsed at every call). */
const MAX_PREPARED = 1000;
const preparedNames = new Map<string, string>();

/**
 * A statement with parameters as a prepared statement of the connection, named after its text (a
 * number per text in this process): PostgreSQL parses and plans it once per connection (and keeps a
 * generic plan once it is no dearer than a custom one) instead of at every call. Planning a claim or a
 * session's read cost more than running them. Statements without parameters (literals escaped in
 * their text) are sent as they are.
 */
function prepared(sql: string, values: unknown[] | undefined): pg.QueryConfig {
  if (values === undefined) return { text: sql };
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `aof_${preparedNames.size + 1}`;
    preparedNames.set(sql, name);
  }
  return name === undefined ? { text: sql, values } : { name, text: sql, values };
}

/** One connection in an open transaction: statements go to it, a nested transaction is this one. */
class TransactionQueries implements Queries {
  /** Statements sent with the COMMIT (`atCommit`). */
  readonly closing: string[] = [];

  constructor(private readonly client: pg.PoolClient) {}

  atCommit(sql: string): void {
    this.closing.push(sql);
  }

  query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>> {
    return asAnswer(this.client.query<T>(prepared(sql, values)));
  }

  transaction<T>(work: (tx: Queries) => Promise<T>): Promise<T> {
    return work(this);
  }
}

/**
 * The pool as the stores use it. A query that fails because the database is away (restarting, out of
 * reach) becomes a 503 problem; the pool opens new connections once it is back, so nothing else has
 * to reconnect. Other errors pass unchanged.
 */
export class Database implements Queries {
  constructor(private readonly pool: pg.Pool) {}

  query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>> {
    return asAnswer(this.pool.query<T>(prepared(sql, values)));
  }

  /**
   * Runs `work` in one transaction on one connection; it commits when `work` resolves. `opening`: a
   * statement (no parameters: literals escaped with `pg.escapeLiteral`) sent with the BEGIN in one
   * round trip, such as the lock the transaction takes first; `work` gets the rows it answered.
   */
  transaction<T>(work: (tx: Queries, opened: pg.QueryResultRow[]) => Promise<T>, opening?: string): Promise<T> {
    return this.withConnection(async (client, broke) => {
      try {
        const begun = (await client.query(opening ? `BEGIN; ${opening}` : 'BEGIN')) as
          | pg.QueryResult
          | pg.QueryResult[];
        const tx = new TransactionQueries(client);
        const result = await work(tx, Array.isArray(begun) ? (begun[begun.length - 1]?.rows ?? []) : []);
        await client.query([...tx.closing, 'COMMIT'].join('; '));
        return result;
      } catch (error) {
        // A connection that cannot even roll back is broken: the pool drops it rather than reuse it.
        await client.query('ROLLBACK').catch(broke);
        throw asProblem(error);
      }
    });
  }

  /**
   * Runs `work` holding the advisory lock `key` on a connection of its own: one process at a time,
   * among all that use the database. A connection lost meanwhile gives the lock up by itself.
   */
  withLock<T>(key: number, work: () => Promise<T>): Promise<T> {
    return this.withConnection(async (client, broke) => {
      await asAnswer(client.query('SELECT pg_advisory_lock($1)', [key]));
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(broke);
      }
    });
  }

  /**
   * Runs `work` on a connection of the pool. A connection that breaks meanwhile reports it here (not
   * as an uncaught error), and the pool drops it rather than reuse it.
   */
  private async withConnection<T>(
    work: (client: pg.PoolClient, broke: (error: Error) => void) => Promise<T>,
  ): Promise<T> {
    const client = await asAnswer(this.pool.connect());
    let broken: Error | undefined;
    const broke = (error: Error) => {
      broken ??= error;
    };
    client.on('error', broke);
    try {
      return await work(client, broke);
    } finally {
      client.off('error', broke);
      client.release(broken);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
