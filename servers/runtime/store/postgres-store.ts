import type { Logger } from '../../common/logger.js';
import { openDatabase } from '../../common/postgres.js';
import type { RuntimeStore } from './interfaces.js';
import { PostgresConversationStore } from './postgres-conversations.js';
import { PostgresEventLog } from './postgres-events.js';
import { RUNTIME_MIGRATIONS } from './postgres-schema.js';
import { PostgresSessionStore } from './postgres-sessions.js';

/** The advisory lock that claims of runs take, in every runtime process on the database. */
const CLAIM_LOCK = 0x616f6663; // "aofc"

/**
 * The PostgreSQL backend (`AGENT_ORCHESTRATOR_DATABASE_URL`): sessions, events and conversations in
 * one database, which may be shared by several runtime processes. Its migrations are applied first.
 */
export async function openPostgresStore(url: string, options: { logger?: Logger | undefined } = {}): Promise<RuntimeStore> {
  const db = await openDatabase(url, 'runtime', RUNTIME_MIGRATIONS, options.logger);
  return {
    sessions: new PostgresSessionStore(db),
    events: new PostgresEventLog(db),
    conversations: new PostgresConversationStore(db),
    serialize: (work) => db.withLock(CLAIM_LOCK, work),
    close: () => db.end(),
  };
}
