import type { Queries } from '../../common/postgres.js';
import type { QueueEntry } from '../leases.js';
import { catalogueEntry, type StoredSession } from '../session-store.js';
import { emptyCounts, type SessionFilter, type StateCounts } from './catalogue.js';
import type { ListPosition } from './cursor.js';
import type { SessionStore } from './interfaces.js';

const LIST_ORDER = 'ORDER BY updated_at DESC, name ASC';

/**
 * Sessions in `aof_sessions` (see postgres-schema.ts). The primary key decides that a name is taken,
 * so two creations of one name cannot both succeed, also from two processes. Lists, filters and
 * counts are queries on the list columns, kept in step with the JSON in the same statement.
 */
export class PostgresSessionStore implements SessionStore {
  constructor(private readonly db: Queries) {}

  async insert(session: StoredSession): Promise<boolean> {
    const entry = catalogueEntry(session);
    const { rowCount } = await this.db.query(
      `INSERT INTO aof_sessions (name, updated_at, state, agent, project_dir, doc) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO NOTHING`,
      [entry.name, entry.updated_at, entry.state, entry.agent, entry.project_dir, JSON.stringify(session)],
    );
    return rowCount === 1;
  }

  async find(name: string): Promise<StoredSession | null> {
    const { rows } = await this.db.query<{ doc: StoredSession }>('SELECT doc FROM aof_sessions WHERE name = $1', [name]);
    return rows[0]?.doc ?? null;
  }

  async replace(session: StoredSession): Promise<void> {
    const entry = catalogueEntry(session);
    await this.db.query(
      'UPDATE aof_sessions SET updated_at = $2, state = $3, agent = $4, project_dir = $5, doc = $6 WHERE name = $1',
      [entry.name, entry.updated_at, entry.state, entry.agent, entry.project_dir, JSON.stringify(session)],
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
    if (filter.waiting !== undefined) where.push(`(COALESCE((doc->>'pending_approvals')::int, 0) > 0) = ${param(filter.waiting)}`);
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
    const { rows } = await this.db.query<{ state: keyof StateCounts; n: string }>('SELECT state, count(*) AS n FROM aof_sessions GROUP BY state');
    const counts = emptyCounts();
    for (const row of rows) counts[row.state] = Number(row.n);
    return counts;
  }

  async all(): Promise<StoredSession[]> {
    const { rows } = await this.db.query<{ doc: StoredSession }>(`SELECT doc FROM aof_sessions ${LIST_ORDER}`);
    return rows.map((r) => r.doc);
  }

  /**
   * Only the fields a claim needs, taken out of the documents by PostgreSQL: the rows of waiting and
   * running sessions (the state index), not their whole documents, reach this process.
   */
  async runQueue(): Promise<QueueEntry[]> {
    const { rows } = await this.db.query<{
      name: string; state: 'queued' | 'running'; queued_at: string; lease_expires_at: string | null; stop_requested: boolean | null; runner_tags: string[] | null;
    }>(
      `SELECT name, state, run->>'queued_at' COLLATE "C" AS queued_at, run->'lease'->>'expires_at' AS lease_expires_at,
              (run->>'stop_requested')::boolean AS stop_requested, doc->'runner_tags' AS runner_tags
         FROM (SELECT name, state, doc, doc->'runs'->-1 AS run FROM aof_sessions WHERE state IN ('queued', 'running')) AS waiting
        ORDER BY queued_at, name`,
    );
    return rows.map((r) => ({
      name: r.name, state: r.state, queued_at: r.queued_at, lease_expires_at: r.lease_expires_at,
      stop_requested: r.stop_requested === true, runner_tags: r.runner_tags ?? [],
    }));
  }

  /** Makes the space of deleted and overwritten rows reusable; it takes no lock that stops writes. */
  async compact(): Promise<void> {
    await this.db.query('VACUUM aof_sessions');
  }
}
