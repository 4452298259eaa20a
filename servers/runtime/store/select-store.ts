import type { Logger } from '../../common/logger.js';
import { openEmbeddedStore } from './embedded-store.js';
import type { RuntimeStore } from './interfaces.js';
import { openPostgresStore } from './postgres-store.js';

/** The runtime's backend: PostgreSQL when a database URL is given, else the embedded store in the data dir. */
export function openRuntimeStore(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
  logger?: Logger | undefined;
}): Promise<RuntimeStore> {
  return options.databaseUrl
    ? openPostgresStore(options.databaseUrl, { logger: options.logger })
    : openEmbeddedStore(options.dataDir, { logger: options.logger });
}
