import type { Queries } from '../../common/storage/postgres.js';
import type { Event } from '../session-store.js';
import type { EventLog, UnnumberedEvent } from './interfaces.js';

interface EventRow {
  session: string;
  seq: string;
  run: number;
  type: Event['type'];
  at: string;
  data: Event['data'];
}

const toEvent = (row: EventRow): Event => ({
  seq: Number(row.seq),
  session: row.session,
  run: row.run,
  type: row.type,
  at: row.at,
  data: row.data,
});

/**
 * Events in `aof_events`. The database numbers them: an append raises the session's head in
 * `aof_event_heads` and inserts its events under that number in one statement. The head's row lock
 * makes concurrent appends to one session (from any process) wait for each other, and a failed
 * append rolls its head back with it, so numbers never collide and never leave a gap. The primary
 * key (session, seq) would refuse a collision anyway. An append resolves after the commit, so its
 * events are durable.
 */
export class PostgresEventLog implements EventLog {
  constructor(private readonly db: Queries) {}

  async append(session: string, events: UnnumberedEvent[]): Promise<Event[]> {
    if (!events.length) return [];
    // One statement: the head is raised and the events inserted under the numbers it gives.
    const { rows } = await this.db.query<{ last_seq: string }>(
      `WITH head AS (
         INSERT INTO aof_event_heads (session, last_seq) VALUES ($1, $2)
         ON CONFLICT (session) DO UPDATE SET last_seq = aof_event_heads.last_seq + EXCLUDED.last_seq
         RETURNING last_seq
       ), added AS (
         INSERT INTO aof_events (session, seq, run, type, at, data)
         SELECT $1, head.last_seq - $2 + e.n, e.run, e.type, e.at, e.data::json
         FROM head, unnest($3::integer[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS e(run, type, at, data, n)
       )
       SELECT last_seq FROM head`,
      [
        session,
        events.length,
        events.map((e) => e.run),
        events.map((e) => e.type),
        events.map((e) => e.at),
        events.map((e) => JSON.stringify(e.data)),
      ],
    );
    const first = Number(rows[0]!.last_seq) - events.length + 1;
    return events.map((e, i) => ({ ...e, session, seq: first + i }));
  }

  async after(session: string, after: number, limit: number): Promise<Event[]> {
    const { rows } = await this.db.query<EventRow>(
      'SELECT session, seq, run, type, at, data FROM aof_events WHERE session = $1 AND seq > $2 AND seq <= $3 ORDER BY seq',
      [session, after, after + limit],
    );
    return rows.map(toEvent);
  }

  async lastSeq(session: string): Promise<number> {
    const { rows } = await this.db.query<{ last_seq: string }>(
      'SELECT last_seq FROM aof_event_heads WHERE session = $1',
      [session],
    );
    return rows[0] ? Number(rows[0].last_seq) : 0;
  }

  async count(session: string, run: number, exceptTypes: readonly string[]): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM aof_events WHERE session = $1 AND run = $2 AND NOT (type = ANY($3))',
      [session, run, exceptTypes],
    );
    return Number(rows[0]!.n);
  }

  async remove(session: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM aof_event_heads WHERE session = $1', [session]);
      await tx.query('DELETE FROM aof_events WHERE session = $1', [session]);
    });
  }
}
