import type { Queries } from '../../common/storage/postgres.js';
import { FINAL_STATES } from '../session-store.js';
import type { Callback, CallbackSettlement, CallbackStore } from './interfaces.js';

const COLUMNS = 'id, parent, child, run, state, result, error, status, created_at, settled_at, parent_run, reason';

type CallbackRow = Omit<Callback, 'reason'> & { reason: string | null };

/**
 * Callbacks in `aof_callbacks` (see postgres-schema.ts), one row each, read by every runtime process
 * on the database. The primary key adds a callback once; a settle is an UPDATE of rows that are still
 * pending, so of two processes settling one callback, one changes it.
 */
export class PostgresCallbackStore implements CallbackStore {
  constructor(private readonly db: Queries) {}

  async insert(callback: Callback): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO aof_callbacks (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
      [
        callback.id,
        callback.parent,
        callback.child,
        callback.run,
        callback.state,
        callback.result,
        callback.error,
        callback.status,
        callback.created_at,
        callback.settled_at,
        callback.parent_run,
        callback.reason ?? null,
      ],
    );
    return rowCount === 1;
  }

  async find(parent: string, status?: Callback['status']): Promise<Callback[]> {
    const { rows } = await this.db.query<CallbackRow>(
      `SELECT ${COLUMNS} FROM aof_callbacks WHERE parent = $1 ${status ? 'AND status = $2' : ''} ORDER BY created_at, id`,
      status ? [parent, status] : [parent],
    );
    return rows.map(fromRow);
  }

  async pendingParents(): Promise<string[]> {
    const { rows } = await this.db.query<{ parent: string }>(
      "SELECT DISTINCT parent FROM aof_callbacks WHERE status = 'pending'",
    );
    return rows.map((row) => row.parent);
  }

  async countPending(): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM aof_callbacks WHERE status = 'pending'",
    );
    return Number(rows[0]?.n ?? 0);
  }

  async deliverableParents(): Promise<string[]> {
    // `state` is the state of the session's last run; children are found by the index on the parent.
    const { rows } = await this.db.query<{ parent: string }>(
      `SELECT DISTINCT c.parent FROM aof_callbacks c
       LEFT JOIN aof_sessions p ON p.name = c.parent
       WHERE c.status = 'pending'
         AND (p.name IS NULL OR p.state = ANY($1))
         AND NOT EXISTS (
           SELECT 1 FROM aof_sessions k
           WHERE k.doc->>'parent' = c.parent AND k.doc->>'callback' = 'true' AND NOT k.state = ANY($1))`,
      [[...FINAL_STATES]],
    );
    return rows.map((row) => row.parent);
  }

  async settle(ids: string[], settlement: CallbackSettlement): Promise<string[]> {
    if (!ids.length) return [];
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE aof_callbacks SET status = $2, settled_at = $3, parent_run = $4, reason = $5
       WHERE id = ANY($1) AND status = 'pending' RETURNING id`,
      [
        ids,
        settlement.status,
        settlement.settled_at,
        settlement.parent_run,
        settlement.status === 'dropped' ? settlement.reason : null,
      ],
    );
    const changed = new Set(rows.map((row) => row.id));
    return ids.filter((id) => changed.has(id));
  }
}

function fromRow({ reason, ...row }: CallbackRow): Callback {
  return reason === null ? row : { ...row, reason };
}
