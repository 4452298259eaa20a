import type { Logger } from '../../common/logger.js';
import type { RuntimeStore } from './interfaces.js';

/**
 * The runtime's backend: PostgreSQL when a database URL is given, else the embedded store in the data dir.
 * Each is imported only when chosen: PostgreSQL's client alone costs a start ~0.2 s of CPU to load.
 */
export async function openRuntimeStore(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
  logger?: Logger | undefined;
}): Promise<RuntimeStore> {
  if (options.databaseUrl) {
    const { openPostgresStore } = await import('./postgres-store.js');
    return openPostgresStore(options.databaseUrl, { logger: options.logger });
  }
  const { openEmbeddedStore } = await import('./embedded-store.js');
  return openEmbeddedStore(options.dataDir, { logger: options.logger });
}
