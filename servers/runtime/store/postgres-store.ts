import pg from 'pg';
import { PostgresTokenStore } from './postgres-tokens.js';
import { PostgresAuditStore } from '../../common/audit/postgres-audit.js';
import type { Logger } from '../../common/logger.js';
import { openDatabase, type Queries } from '../../common/storage/postgres.js';
import { KeyedLock } from '../keyed-lock.js';
import type { Notice, RuntimeStore } from './interfaces.js';
import { PostgresApprovalStore } from './postgres-approvals.js';
import { PostgresCallbackStore } from './postgres-callbacks.js';
import { PostgresConversationStore } from './postgres-conversations.js';
import { PostgresEventLog } from './postgres-events.js';
import { PostgresNotices } from './postgres-notices.js';
import { RUNTIME_MIGRATIONS } from './postgres-schema.js';
import { PostgresSessionStore } from './postgres-sessions.js';
import { PostgresWebhookStore } from './postgres-webhooks.js';

/** The database's clock, in ms since the epoch (the time it is read, not the transaction's start). */
const CLOCK = 'floor(extract(epoch FROM clock_timestamp()) * 1000)';

/** The database's clock, in ms since the epoch (the time of the call, not of the transaction's start). */
async function clockOf(db: Queries): Promise<number> {
  const { rows } = await db.query<{ ms: string }>(`SELECT ${CLOCK} AS ms`);
  return Number(rows[0]!.ms);
}

/**
 * The first key of the advisory locks that `exclusive` holds on sessions (the second is a hash of the
 * name). Two-key advisory locks never meet one-key ones (the migrations').
 */
const SESSION_LOCK = 0x616f66;

/**
 * The PostgreSQL backend (`AGENT_ORCHESTRATOR_DATABASE_URL`): sessions, events, conversations,
 * approval requests, callbacks and the webhook outbox in one database, which may be shared by several
 * runtime processes. Its migrations are applied first.
 *
 * `exclusive` is one transaction holding a transaction-scoped advisory lock on the session's name, so
 * writers to one session in any process wait for each other, and what the work wrote and the notices
 * it sent are committed together or not at all. In this process, writers to one session also queue
 * in a KeyedLock before they take a connection, so a burst on one session holds one connection of the
 * pool, not all of them. (Two names whose hashes are equal share a lock: they wait for each other.)
 */
export async function openPostgresStore(
  url: string,
  options: { logger?: Logger | undefined } = {},
): Promise<RuntimeStore> {
  const db = await openDatabase(url, 'runtime', RUNTIME_MIGRATIONS, options.logger);
  let notices: PostgresNotices;
  try {
    notices = await PostgresNotices.open(url, options.logger);
  } catch (error) {
    await db.end();
    throw error;
  }
  const lock = new KeyedLock();
  /** The store's halves in the transaction `tx`, whose hold on the session was taken at `heldAt` (the database's clock). */
  const halves = (tx: Queries, heldAt: number) => ({
    sessions: new PostgresSessionStore(tx, true),
    events: new PostgresEventLog(tx),
    conversations: new PostgresConversationStore(tx),
    approvals: new PostgresApprovalStore(tx),
    webhooks: new PostgresWebhookStore(tx),
    notify: (list: Notice[]) => notices.send(tx, list),
    clock: async () => heldAt,
  });
  return {
    sessions: new PostgresSessionStore(db),
    events: new PostgresEventLog(db),
    conversations: new PostgresConversationStore(db),
    approvals: new PostgresApprovalStore(db),
    callbacks: new PostgresCallbackStore(db),
    webhooks: new PostgresWebhookStore(db),
    tokens: new PostgresTokenStore(db),
    audit: new PostgresAuditStore(db),
    exclusive: (name, work) =>
      lock.run(name, () =>
        db.transaction(
          (tx, [held]) => work(halves(tx, Number(held!.ms))),
          // With the BEGIN, in its round trip; the clock once the lock is held (a select list is read in order).
          `SELECT pg_advisory_xact_lock(${SESSION_LOCK}, hashtext(${pg.escapeLiteral(name)})), ${CLOCK} AS ms`,
        ),
      ),
    tryExclusive: async (name, work) => {
      if (lock.busy(name)) return { done: false };
      return lock.run(name, () =>
        db.transaction(async (tx) => {
          const { rows } = await tx.query<{ held: boolean }>(
            'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS held',
            [SESSION_LOCK, name],
          );
          if (!rows[0]!.held) return { done: false as const };
          // The row too: one locked by any other transaction is passed over, not waited for.
          const row = await tx.query<{ ms: string }>(
            `SELECT ${CLOCK} AS ms FROM aof_sessions WHERE name = $1 FOR UPDATE SKIP LOCKED`,
            [name],
          );
          if (!row.rowCount) return { done: false as const };
          return { done: true as const, value: await work(halves(tx, Number(row.rows[0]!.ms))) };
        }),
      );
    },
    notices,
    clock: () => clockOf(db),
    close: async () => {
      await notices.close();
      await db.end();
    },
  };
}
