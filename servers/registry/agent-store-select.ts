import type { Logger } from '../common/logger.js';
import type { AgentStore } from './agent-store.js';

/**
 * The registry's backend: PostgreSQL when a database URL is given, else `agents.db` in the data dir.
 * Each is imported only when chosen (PostgreSQL's client is slow to load).
 */
export async function openAgentStore(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
  logger?: Logger | undefined;
}): Promise<AgentStore> {
  if (options.databaseUrl) {
    const { PostgresAgentStore } = await import('./agent-store-postgres.js');
    return PostgresAgentStore.open(options.databaseUrl, options.logger);
  }
  const { NedbAgentStore } = await import('./agent-store-nedb.js');
  return NedbAgentStore.open(options.dataDir);
}
