import type { Queries } from '../../common/postgres.js';
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
 * `aof_event_heads` and inserts its events under that number in one transaction. The head's row lock
 * makes concurrent appends to one session (from any process) wait for each other, and a failed
 * append rolls its head back with it, so numbers never collide and never leave a gap. The primary
 * key (session, seq) would refuse a collision anyway. An append resolves after the commit, so its
 * events are durable.
 */
export class PostgresEventLog implements EventLog {
  constructor(private readonly db: Queries) {}

  async append(session: string, events: UnnumberedEvent[]): Promise<Event[]> {
    if (!events.length) return [];
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ last_seq: string }>(
        `INSERT INTO aof_event_heads (session, last_seq) VALUES ($1, $2)
         ON CONFLICT (session) DO UPDATE SET last_seq = aof_event_heads.last_seq + EXCLUDED.last_seq
         RETURNING last_seq`,
        [session, events.length],
      );
      const first = Number(rows[0]!.last_seq) - events.length + 1;
      const numbered: Event[] = events.map((e, i) => ({ ...e, session, seq: first + i }));
      await tx.query(
        `INSERT INTO aof_events (session, seq, run, type, at, data)
         SELECT $1, seq, run, type, at, data::json
         FROM unnest($2::bigint[], $3::integer[], $4::text[], $5::text[], $6::text[]) AS e(seq, run, type, at, data)`,
        [
          session,
          numbered.map((e) => e.seq),
          numbered.map((e) => e.run),
          numbered.map((e) => e.type),
          numbered.map((e) => e.at),
          numbered.map((e) => JSON.stringify(e.data)),
        ],
      );
      return numbered;
    });
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
