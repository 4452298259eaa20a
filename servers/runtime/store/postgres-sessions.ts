import { AGENT_CREDENTIAL_PREFIX } from '../../common/http/principal.js';
import type { Queries } from '../../common/storage/postgres.js';
import { catalogueEntry, lastRun, type StoredRun, type StoredSession } from '../session-store.js';
import { emptyCounts, type SessionFilter, type StateCounts } from './catalogue.js';
import type { ListPosition } from './cursor.js';
import type { SessionStore } from './interfaces.js';
import {
  claimableKeys,
  factsOf,
  runsBySession,
  tagsKey,
  withRuns,
  type ClaimedRunRef,
  type ClaimRequest,
  type SessionFacts,
} from './run-records.js';

const LIST_ORDER = 'ORDER BY updated_at DESC, name ASC';

/** Writes runs' rows (`rows`: VALUES lists in the order of RUN_COLUMNS), new or over the old. */
const upsertRuns = (rows: string) =>
  `INSERT INTO aof_runs (${RUN_COLUMNS}) VALUES ${rows}
   ON CONFLICT (session, number) DO UPDATE SET state = EXCLUDED.state, queued_at = EXCLUDED.queued_at,
     tags_key = EXCLUDED.tags_key, stop_requested = EXCLUDED.stop_requested, attempt = EXCLUDED.attempt,
     lease_runner = EXCLUDED.lease_runner, lease_host = EXCLUDED.lease_host, lease_expires_at = EXCLUDED.lease_expires_at,
     reported = EXCLUDED.reported, runner = EXCLUDED.runner, credential_hash = EXCLUDED.credential_hash, doc = EXCLUDED.doc`;

/** A session's row, in the column order of insert and replace: the list columns, then the facts. */
function sessionColumns(session: StoredSession): unknown[] {
  const entry = catalogueEntry(session);
  return [entry.name, entry.updated_at, entry.state, entry.agent, entry.project_dir, JSON.stringify(factsOf(session))];
}

const RUN_COLUMNS =
  'session, number, state, queued_at, tags_key, stop_requested, attempt, lease_runner, lease_host, lease_expires_at, reported, runner, credential_hash, doc';

const runColumnsOf = (table: string) =>
  RUN_COLUMNS.split(', ')
    .map((column) => `${table}.${column}`)
    .join(', ');
const RUN_COLUMNS_OF_R = runColumnsOf('r');
const RUN_COLUMNS_OF_C = runColumnsOf('c');

interface RunRow {
  session: string;
  number: number;
  state: StoredRun['state'];
  queued_at: string;
  stop_requested: boolean;
  attempt: number;
  lease_runner: string | null;
  lease_host: string | null;
  lease_expires_at: Date | null;
  reported: number;
  runner: string | null;
  credential_hash: string | null;
  doc: Partial<StoredRun>;
}

/** A run's row, in the order of RUN_COLUMNS: its claim columns, then the rest of the run as JSON. */
function runColumns(session: Pick<StoredSession, 'name' | 'runner_tags'>, run: StoredRun): unknown[] {
  const { number, state, queued_at, stop_requested, lease, runner, credential_hash, ...rest } = run;
  return [
    session.name,
    number,
    state,
    queued_at,
    tagsKey(session.runner_tags),
    stop_requested === true,
    lease?.attempt ?? 0,
    lease?.runner ?? null,
    lease?.host ?? null,
    lease?.expires_at || null,
    lease?.reported ?? 0,
    runner ?? null,
    credential_hash ?? null,
    JSON.stringify(rest),
  ];
}

function runOf(row: RunRow): StoredRun {
  return {
    ...(row.doc as StoredRun),
    number: row.number,
    state: row.state,
    queued_at: row.queued_at,
    ...(row.stop_requested ? { stop_requested: true } : {}),
    ...(row.lease_runner !== null
      ? {
          lease: {
            runner: row.lease_runner,
            ...(row.lease_host ? { host: row.lease_host } : {}),
            attempt: row.attempt,
            expires_at: row.lease_expires_at ? row.lease_expires_at.toISOString() : '',
            reported: row.reported,
          },
        }
      : {}),
    ...(row.runner !== null ? { runner: row.runner } : {}),
    ...(row.credential_hash !== null ? { credential_hash: row.credential_hash } : {}),
  };
}

/**
 * Sessions in `aof_sessions` and their runs in `aof_runs` (see postgres-schema.ts). The primary key
 * decides that a name is taken, so two creations of one name cannot both succeed, also from two
 * processes. Lists, filters and counts are queries on the list columns, kept in step with the JSON in
 * the same statement. Inside a transaction (`exclusive`), reading a session locks its runs' rows, so
 * a claim (which skips locked rows) never leases a run that a writer is changing.
 */
export class PostgresSessionStore implements SessionStore {
  constructor(
    private readonly db: Queries,
    /** Whether reads lock the runs they read (inside `exclusive`'s transaction). */
    private readonly locking = false,
  ) {}

  async insert(session: StoredSession): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO aof_sessions (name, updated_at, state, agent, project_dir, doc)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING`,
      sessionColumns(session),
    );
    if (rowCount !== 1) return false;
    // Runs of a name deleted while its session was being written would be taken as this session's.
    await this.db.query('DELETE FROM aof_runs WHERE session = $1', [session.name]);
    for (const run of session.runs) await this.writeRun(session, run);
    return true;
  }

  /** One query: the session's facts on each of its runs' rows (a session has one run at least). */
  async find(name: string): Promise<StoredSession | null> {
    const { rows } = await this.db.query<RunRow & { facts: SessionFacts }>(
      `SELECT s.doc AS facts, ${RUN_COLUMNS_OF_R}
       FROM aof_sessions s JOIN aof_runs r ON r.session = s.name WHERE s.name = $1
       ORDER BY r.number${this.locking ? ' FOR UPDATE OF r' : ''}`,
      [name],
    );
    const facts = rows[0]?.facts;
    return facts ? withRuns(facts, rows.map(runOf)) : null;
  }

  /** One statement: the session's row, and its runs' (a data-modifying WITH runs whether read or not). */
  async replace(session: StoredSession, runs: readonly StoredRun[] = [lastRun(session)]): Promise<void> {
    const values = sessionColumns(session);
    const update =
      'UPDATE aof_sessions SET updated_at = $2, state = $3, agent = $4, project_dir = $5, doc = $6 WHERE name = $1';
    if (!runs.length) {
      await this.db.query(update, values);
      return;
    }
    const rows = runs.map((run) => {
      const first = values.length;
      values.push(...runColumns(session, run));
      return `(${RUN_COLUMNS.split(', ')
        .map((_, i) => `$${first + i + 1}`)
        .join(', ')})`;
    });
    await this.db.query(`WITH session AS (${update}) ${upsertRuns(rows.join(', '))}`, values);
  }

  async remove(name: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM aof_sessions WHERE name = $1', [name]);
    await this.db.query('DELETE FROM aof_runs WHERE session = $1', [name]);
    return rowCount === 1;
  }

  async page(filter: SessionFilter, after: ListPosition | null, limit: number): Promise<StoredSession[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (value: unknown) => `$${values.push(value)}`;
    if (filter.states?.length) where.push(`state = ANY(${param(filter.states)})`);
    if (filter.agent !== undefined) where.push(`agent = ${param(filter.agent)}`);
    if (filter.prefix !== undefined) where.push(`starts_with(name, ${param(filter.prefix)})`);
    if (filter.project_dir !== undefined) where.push(`project_dir = ${param(filter.project_dir)}`);
    // Children: the parent is kept in the document only (json, so ->> reads it); a list of children is rare.
    if (filter.parent !== undefined) where.push(`doc->>'parent' = ${param(filter.parent)}`);
    if (filter.waiting !== undefined)
      where.push(`(COALESCE((doc->>'pending_approvals')::int, 0) > 0) = ${param(filter.waiting)}`);
    if (filter.names !== undefined) where.push(`name = ANY(${param([...filter.names])})`);
    if (after) {
      const at = param(after.updated_at);
      where.push(`(updated_at < ${at} OR (updated_at = ${at} AND name > ${param(after.name)}))`);
    }
    const { rows } = await this.db.query<{ doc: SessionFacts }>(
      `SELECT doc FROM aof_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${LIST_ORDER} LIMIT ${param(limit)}`,
      values,
    );
    return this.withTheirRuns(rows.map((r) => r.doc));
  }

  async counts(): Promise<StateCounts> {
    const { rows } = await this.db.query<{ state: keyof StateCounts; n: string }>(
      'SELECT state, count(*) AS n FROM aof_sessions GROUP BY state',
    );
    const counts = emptyCounts();
    for (const row of rows) counts[row.state] = Number(row.n);
    return counts;
  }

  async all(): Promise<StoredSession[]> {
    const { rows } = await this.db.query<{ doc: SessionFacts }>(`SELECT doc FROM aof_sessions ${LIST_ORDER}`);
    return this.withTheirRuns(rows.map((r) => r.doc));
  }

  /**
   * The claim, in one statement on the database's clock: the first claimable run in the queue's
   * index (the runner's tags keys, then claim order), locked with SKIP LOCKED (so claims at once take
   * different runs, and a run a writer holds is passed over), leased under the next attempt, with the
   * hash of its credential (as `credentialFor` in agent-credentials.ts makes it); unless the runs in
   * flight already reach the cap. No lock beyond the run's row: within a process claims queue
   * (run-leases.ts); claims in several processes at the very same moment may each count the last free
   * place under the cap.
   */
  async claim(request: ClaimRequest): Promise<ClaimedRunRef | null> {
    const { offer } = request;
    const keys = claimableKeys(offer);
    const byTags = keys
      ? keys.length === 1
        ? 'tags_key = $1::text'
        : 'tags_key = ANY($1::text[])'
      : `string_to_array(tags_key, E'\\n') <@ $1::text[]`;
    // The session comes back in the same statement: its facts on each of its runs' rows, the claimed
    // run as the UPDATE left it and the earlier ones (ended, never changed again) as they are.
    const { rows } = await this.db.query<RunRow & { facts: SessionFacts }>(
      `WITH claimed AS (UPDATE aof_runs SET attempt = attempt + 1, lease_runner = $3, lease_host = $4,
         lease_expires_at = now() + $5 * interval '1 millisecond', reported = 0, runner = $6,
         credential_hash = encode(sha256(convert_to($7 || translate(encode(convert_to(session, 'UTF8'), 'base64'), E'+/=\\n', '-_')
           || '.' || number || '.' || $8, 'UTF8')), 'hex')
       WHERE (session, number) = (
         SELECT session, number FROM aof_runs q
         WHERE state = 'queued' AND ${byTags} AND NOT stop_requested
           AND (lease_expires_at IS NULL OR lease_expires_at <= now())
           AND ($9::text[] IS NULL OR session = ANY($9::text[]))
           AND ($10::text[] IS NULL OR session <> ALL($10::text[]))
           AND NOT EXISTS (SELECT 1 FROM aof_runs n WHERE n.session = q.session AND n.number > q.number)
           AND (SELECT count(*) FROM aof_runs WHERE state = 'running')
             + (SELECT count(*) FROM aof_runs WHERE state = 'queued' AND lease_expires_at > now()) < $2
         ORDER BY queued_at, session LIMIT 1 FOR UPDATE SKIP LOCKED
       ) RETURNING ${RUN_COLUMNS})
       SELECT s.doc AS facts, ${RUN_COLUMNS_OF_C} FROM claimed c JOIN aof_sessions s ON s.name = c.session
       UNION ALL
       SELECT s.doc AS facts, ${RUN_COLUMNS_OF_R} FROM claimed c JOIN aof_sessions s ON s.name = c.session
         JOIN aof_runs r ON r.session = c.session AND r.number < c.number`,
      [
        keys ? (keys.length === 1 ? keys[0] : keys) : offer.tags,
        request.maxInFlight,
        offer.runner,
        offer.host ?? null,
        request.leaseMs,
        offer.host ? `${offer.runner}@${offer.host}` : offer.runner,
        AGENT_CREDENTIAL_PREFIX,
        request.secret,
        request.only ? [...request.only] : null,
        request.except?.length ? [...request.except] : null,
      ],
    );
    // No rows: nothing claimed, or the session was deleted as it was claimed (nothing to run).
    rows.sort((a, b) => a.number - b.number);
    const claimed = rows[rows.length - 1];
    if (!claimed) return null;
    const stored = withRuns(claimed.facts, rows.map(runOf));
    return { session: claimed.session, run: claimed.number, attempt: claimed.attempt, stored };
  }

  /** Makes the space of deleted and overwritten rows reusable; it takes no lock that stops writes. */
  async compact(): Promise<void> {
    await this.db.query('VACUUM aof_sessions');
    await this.db.query('VACUUM aof_runs');
  }

  private async writeRun(session: StoredSession, run: StoredRun): Promise<void> {
    await this.db.query(
      upsertRuns('($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)'),
      runColumns(session, run),
    );
  }

  /** The sessions with their runs, in the order given. */
  private async withTheirRuns(facts: SessionFacts[]): Promise<StoredSession[]> {
    if (!facts.length) return [];
    const { rows } = await this.db.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM aof_runs WHERE session = ANY($1) ORDER BY session, number`,
      [facts.map((f) => f.name)],
    );
    const runs = runsBySession(rows, (row) => row.session, runOf);
    return facts.flatMap((f) => {
      const list = runs.get(f.name);
      return list ? [withRuns(f, list)] : [];
    });
  }
}
