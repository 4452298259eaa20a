import type Koa from 'koa';
import { lockDataDir } from './data-dir.js';
import { listen } from './listen.js';
import type { Logger } from './logger.js';

/** What starting either server gives back. */
export interface RunningServer {
  /** Where it answers, e.g. `http://127.0.0.1:8767`. */
  url: string;
  /** Stops listening, closes open streams, flushes and unlocks the data. */
  close(): Promise<void>;
}

export interface CommonServerOptions {
  /** Host and port to listen on; port 0 picks a free one. */
  url: URL;
  dataDir: string;
  token?: string | undefined;
  allowedOrigins?: string[];
  logger: Logger;
}

export const VERSION = '0.1.0';

/**
 * Starts a server that owns its data dir: takes the lock, sets up, listens. `close` undoes all of it,
 * and so does a failure on the way up.
 */
export async function serveLocked(
  options: CommonServerOptions,
  owner: 'registry' | 'runtime',
  title: string,
  setUp: () => Promise<{ app: Koa; onClose?: () => Promise<void> }>,
): Promise<RunningServer> {
  const unlock = await lockDataDir(options.dataDir, owner);
  try {
    const { app, onClose } = await setUp();
    const listening = await listen(app, options.url);
    options.logger.info(`${title} listening on ${listening.url} (data in ${options.dataDir})`);
    return {
      url: listening.url,
      async close() {
        await listening.close();
        await onClose?.();
        await unlock();
      },
    };
  } catch (error) {
    await unlock();
    throw error;
  }
}
