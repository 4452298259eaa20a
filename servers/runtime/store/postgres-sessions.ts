import type { Queries } from '../../common/postgres.js';
import { queueEntry, type ClaimView, type RunnerOffer } from '../leases.js';
import { catalogueEntry, type StoredSession } from '../session-store.js';
import { emptyCounts, type SessionFilter, type StateCounts } from './catalogue.js';
import type { ListPosition } from './cursor.js';
import type { SessionStore } from './interfaces.js';

const LIST_ORDER = 'ORDER BY updated_at DESC, name ASC';

/** A session's row, in the column order of insert and replace: the list columns, the document, the claim columns. */
function columns(session: StoredSession): unknown[] {
  const entry = catalogueEntry(session);
  const queued = queueEntry(session);
  return [
    entry.name,
    entry.updated_at,
    entry.state,
    entry.agent,
    entry.project_dir,
    JSON.stringify(session),
    queued?.queued_at ?? null,
    queued?.lease_expires_at ?? null,
    queued?.stop_requested ?? false,
    queued?.runner_tags ?? [],
  ];
}

/**
 * Sessions in `aof_sessions` (see postgres-schema.ts). The primary key decides that a name is taken,
 * so two creations of one name cannot both succeed, also from two processes. Lists, filters and
 * counts are queries on the list columns, kept in step with the JSON in the same statement.
 */
export class PostgresSessionStore implements SessionStore {
  constructor(private readonly db: Queries) {}

  async insert(session: StoredSession): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO aof_sessions (name, updated_at, state, agent, project_dir, doc, queued_at, lease_expires_at, stop_requested, runner_tags)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (name) DO NOTHING`,
      columns(session),
    );
    return rowCount === 1;
  }

  async find(name: string): Promise<StoredSession | null> {
    const { rows } = await this.db.query<{ doc: StoredSession }>('SELECT doc FROM aof_sessions WHERE name = $1', [
      name,
    ]);
    return rows[0]?.doc ?? null;
  }

  async replace(session: StoredSession): Promise<void> {
    await this.db.query(
      `UPDATE aof_sessions SET updated_at = $2, state = $3, agent = $4, project_dir = $5, doc = $6,
         queued_at = $7, lease_expires_at = $8, stop_requested = $9, runner_tags = $10 WHERE name = $1`,
      columns(session),
    );
  }

  async remove(name: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM aof_sessions WHERE name = $1', [name]);
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
    const { rows } = await this.db.query<{ doc: StoredSession }>(
      `SELECT doc FROM aof_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${LIST_ORDER} LIMIT ${param(limit)}`,
      values,
    );
    return rows.map((r) => r.doc);
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
    const { rows } = await this.db.query<{ doc: StoredSession }>(`SELECT doc FROM aof_sessions ${LIST_ORDER}`);
    return rows.map((r) => r.doc);
  }

  /**
   * The claim's rules (`claimView` in leases.ts) in SQL on the claim columns: a count of the runs in
   * flight (running, or queued under a live lease: two small index scans), and the first `limit`
   * claimable runs from the queue's index, whatever the length of the queue.
   */
  async claimView(offer: Pick<RunnerOffer, 'tags'>, now: number, limit: number): Promise<ClaimView> {
    const at = new Date(now).toISOString();
    const [flight, candidates] = await Promise.all([
      this.db.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM aof_sessions WHERE state = 'running')
              + (SELECT count(*) FROM aof_sessions WHERE state = 'queued' AND lease_expires_at IS NOT NULL AND lease_expires_at > $1) AS n`,
        [at],
      ),
      this.db.query<{ name: string; queued_at: string; lease_expires_at: string | null; runner_tags: string[] }>(
        `SELECT name, queued_at, lease_expires_at, runner_tags FROM aof_sessions
          WHERE state = 'queued' AND NOT stop_requested AND (lease_expires_at IS NULL OR lease_expires_at <= $1) AND runner_tags <@ $2::text[]
          ORDER BY queued_at, name LIMIT $3`,
        [at, offer.tags, limit],
      ),
    ]);
    return {
      inFlight: Number(flight.rows[0]!.n),
      candidates: candidates.rows.map((r) => ({
        name: r.name,
        state: 'queued',
        queued_at: r.queued_at,
        lease_expires_at: r.lease_expires_at,
        stop_requested: false,
        runner_tags: r.runner_tags,
      })),
    };
  }

  /** Makes the space of deleted and overwritten rows reusable; it takes no lock that stops writes. */
  async compact(): Promise<void> {
    await this.db.query('VACUUM aof_sessions');
  }
}
