import type { Queries } from '../../common/storage/postgres.js';
import type { ConversationStore } from './interfaces.js';

/**
 * Conversations in `aof_conversations`: one row per session, its bytes as `bytea`, replaced whole at
 * each save (an upsert, atomic like every statement), so every runtime process and runner sharing the
 * database sees the last one saved.
 */
export class PostgresConversationStore implements ConversationStore {
  constructor(private readonly db: Queries) {}

  async save(session: string, data: Buffer): Promise<void> {
    await this.db.query(
      `INSERT INTO aof_conversations (session, data, saved_at) VALUES ($1, $2, now())
       ON CONFLICT (session) DO UPDATE SET data = EXCLUDED.data, saved_at = EXCLUDED.saved_at`,
      [session, data],
    );
  }

  async load(session: string): Promise<Buffer | null> {
    const { rows } = await this.db.query<{ data: Buffer }>('SELECT data FROM aof_conversations WHERE session = $1', [
      session,
    ]);
    return rows[0]?.data ?? null;
  }

  async remove(session: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM aof_conversations WHERE session = $1', [session]);
    return (rowCount ?? 0) > 0;
  }
}
