import type { Logger } from '../common/logger.js';
import type { AgentStore } from './agent-store.js';
import { NedbAgentStore } from './agent-store-nedb.js';
import { PostgresAgentStore } from './agent-store-postgres.js';

/** The registry's backend: PostgreSQL when a database URL is given, else `agents.db` in the data dir. */
export function openAgentStore(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
  logger?: Logger | undefined;
}): Promise<AgentStore> {
  return options.databaseUrl
    ? PostgresAgentStore.open(options.databaseUrl, options.logger)
    : NedbAgentStore.open(options.dataDir);
}
