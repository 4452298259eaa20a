import type { Queries } from '../../common/storage/postgres.js';
import type { NewWebhookDelivery, WebhookDelivery, WebhookOutcome, WebhookStore } from './interfaces.js';

interface Row extends NewWebhookDelivery {
  state: WebhookDelivery['state'];
  attempts: number;
  created_at: Date;
  next_try_at: Date;
  last_error: string | null;
  finished_at: Date | null;
}

const COLUMNS = 'id, session, run, url, body, state, attempts, created_at, next_try_at, last_error, finished_at';

/**
 * The webhook outbox in `aof_webhooks` (see postgres-schema.ts), shared by every runtime process on
 * the database. A claim is an UPDATE of rows picked with `FOR UPDATE SKIP LOCKED`, so claims at once
 * never pick the same row; a claim ends at `claimed_until` (the database's clock), after which any
 * process may take the row again. An attempt is recorded only by the claimant that still holds it.
 */
export class PostgresWebhookStore implements WebhookStore {
  constructor(private readonly db: Queries) {}

  async add(deliveries: NewWebhookDelivery[]): Promise<void> {
    for (const d of deliveries) {
      await this.db.query(
        `INSERT INTO aof_webhooks (id, session, run, url, body, state, attempts, created_at, next_try_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, now(), now()) ON CONFLICT (id) DO NOTHING`,
        [d.id, d.session, d.run, d.url, d.body],
      );
    }
  }

  async get(id: string): Promise<WebhookDelivery | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM aof_webhooks WHERE id = $1`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async find(query: { session: string }): Promise<WebhookDelivery[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM aof_webhooks WHERE session = $1 ORDER BY created_at, id`,
      [query.session],
    );
    return rows.map(fromRow);
  }

  async claim(claimant: string, claimMs: number, limit: number): Promise<WebhookDelivery[]> {
    const { rows } = await this.db.query<Row>(
      `UPDATE aof_webhooks SET claimed_by = $1, claimed_until = now() + $2 * interval '1 millisecond'
       WHERE id IN (
         SELECT id FROM aof_webhooks
         WHERE state = 'pending' AND next_try_at <= now() AND (claimed_until IS NULL OR claimed_until <= now())
         ORDER BY next_try_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
       ) RETURNING ${COLUMNS}`,
      [claimant, claimMs, limit],
    );
    return rows.map(fromRow).sort((a, b) => a.next_try_at.localeCompare(b.next_try_at) || (a.id < b.id ? -1 : 1));
  }

  async settle(id: string, claimant: string, outcome: WebhookOutcome): Promise<boolean> {
    const pending = outcome.state === 'pending';
    const { rowCount } = await this.db.query(
      `UPDATE aof_webhooks SET state = $3, attempts = attempts + 1, claimed_by = NULL, claimed_until = NULL,
         next_try_at = CASE WHEN $4::bigint IS NULL THEN next_try_at ELSE now() + $4::bigint * interval '1 millisecond' END,
         last_error = COALESCE($5, last_error),
         finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END
       WHERE id = $1 AND claimed_by = $2`,
      [
        id,
        claimant,
        outcome.state,
        pending ? outcome.retryInMs : null,
        outcome.state === 'delivered' ? null : outcome.error,
      ],
    );
    return (rowCount ?? 0) > 0;
  }

  async release(id: string, claimant: string): Promise<void> {
    await this.db.query(
      'UPDATE aof_webhooks SET claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2',
      [id, claimant],
    );
  }

  async nextDueInMs(): Promise<number | null> {
    const { rows } = await this.db.query<{ ms: string | null }>(
      `SELECT CEIL(EXTRACT(EPOCH FROM (min(GREATEST(next_try_at, COALESCE(claimed_until, next_try_at))) - now())) * 1000) AS ms
       FROM aof_webhooks WHERE state = 'pending'`,
      [], // prepared (common/storage/postgres.ts): asked after every run's end
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? null : Math.max(0, Number(ms));
  }

  async countPending(): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM aof_webhooks WHERE state = 'pending'",
    );
    return Number(rows[0]?.n ?? 0);
  }

  async prune(options: { olderThanMs: number; keep: number }): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM aof_webhooks WHERE state <> 'pending' AND (
         finished_at < now() - $1 * interval '1 millisecond'
         OR id IN (SELECT id FROM aof_webhooks WHERE state <> 'pending' ORDER BY finished_at DESC, id OFFSET $2)
       )`,
      [options.olderThanMs, options.keep],
    );
    return rowCount ?? 0;
  }
}

function fromRow(row: Row): WebhookDelivery {
  return {
    id: row.id,
    session: row.session,
    run: row.run,
    url: row.url,
    body: row.body,
    state: row.state,
    attempts: row.attempts,
    created_at: row.created_at.toISOString(),
    next_try_at: row.next_try_at.toISOString(),
    last_error: row.last_error,
    finished_at: row.finished_at ? row.finished_at.toISOString() : null,
  };
}
