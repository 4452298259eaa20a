import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { backoffMs } from '../../../sdk/backoff.js';
import type { Logger } from '../../common/logger.js';
import type { Queries } from '../../common/storage/postgres.js';
import type { Notice, NoticeListener } from './interfaces.js';
import { decodePayload, encodePayloads } from './notice-payloads.js';

/** The channel runtime processes on one database tell each other their changes on. */
export const NOTICE_CHANNEL = 'aof_runtime';

/** Waits between attempts to get the listening connection back: doubling from the first to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_LAST_MS = 2000;

/**
 * The runtime processes of one database telling each other what they changed, over PostgreSQL
 * LISTEN/NOTIFY. A notice is sent inside the transaction of the change it tells (`send`), so
 * PostgreSQL delivers it when that commits and never when it rolls back. Each process listens on
 * one connection of its own; when that breaks (a database restart), it connects again until it
 * can, LISTENs again, and tells its listeners to `resync`: what was sent meanwhile is not delivered.
 */
export class PostgresNotices {
  /** This process, as named in what it sends: its own notices come back to it, and are skipped. */
  readonly origin = randomUUID();
  private readonly listeners = new Set<NoticeListener>();
  private client: pg.Client | undefined;
  private closed = false;
  private reconnecting: Promise<void> | undefined;

  private constructor(
    private readonly url: string,
    private readonly logger: Logger | undefined,
  ) {}

  /** Connected and listening. */
  static async open(url: string, logger?: Logger): Promise<PostgresNotices> {
    const notices = new PostgresNotices(url, logger);
    notices.client = await notices.listen();
    return notices;
  }

  /** Sends `notices` with the transaction `tx` belongs to (or at once, outside one). */
  async send(tx: Queries, notices: readonly Notice[]): Promise<void> {
    if (!notices.length) return;
    const payloads = encodePayloads(this.origin, notices);
    if (tx.atCommit) {
      // With the COMMIT, in its round trip.
      const channel = pg.escapeLiteral(NOTICE_CHANNEL);
      tx.atCommit(`SELECT ${payloads.map((p) => `pg_notify(${channel}, ${pg.escapeLiteral(p)})`).join(', ')}`);
      return;
    }
    await tx.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [NOTICE_CHANNEL, payloads]);
  }

  subscribe(listener: NoticeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reconnecting;
    await this.client?.end().catch(() => undefined);
  }

  /** A new connection that LISTENs and hands what it hears to the listeners. */
  private async listen(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, keepAlive: true });
    // A connection lost before the handlers below are on reports through the failed connect.
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(`LISTEN ${NOTICE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    client.on('notification', (message) => this.deliver(message.payload));
    const lost = () => this.lost(client);
    client.on('error', lost);
    client.on('end', lost);
    return client;
  }

  private deliver(text: string | undefined): void {
    const payload = decodePayload(text);
    if (!payload || payload.from === this.origin) return;
    for (const notice of payload.notices) {
      for (const listener of this.listeners) listener.notice(notice);
    }
  }

  private lost(client: pg.Client): void {
    if (this.closed || client !== this.client || this.reconnecting) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.logger?.warn('PostgreSQL connection for notices from other runtime processes lost; reconnecting');
    this.reconnecting = this.reconnect().finally(() => {
      this.reconnecting = undefined;
    });
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, RETRY_FIRST_MS, RETRY_LAST_MS)));
      if (this.closed) return;
      try {
        const client = await this.listen();
        if (this.closed) {
          await client.end().catch(() => undefined);
          return;
        }
        this.client = client;
      } catch {
        continue;
      }
      this.logger?.info('PostgreSQL connection for notices from other runtime processes back');
      for (const listener of this.listeners) listener.resync();
      return;
    }
  }
}
