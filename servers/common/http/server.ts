import type Koa from 'koa';
import { redactDatabaseUrl, URL_VARIABLES } from '../config.js';
import { lockDataDir } from '../storage/data-dir.js';
import { listen } from './listen.js';
import type { Logger } from '../logger.js';

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
  /** A postgres:// URL: the data is kept in that database rather than in the data dir. */
  databaseUrl?: string | undefined;
  token?: string | undefined;
  allowedOrigins?: string[];
  /** More Host names the server answers to (a load balancer's): AGENT_ORCHESTRATOR_ALLOWED_HOSTS. */
  allowedHosts?: string[] | undefined;
  logger: Logger;
}

export { VERSION } from '../version.js';

/** Why a server could not listen, naming the server and the variable that moves it. */
function cannotListen(title: string, owner: 'registry' | 'runtime', url: URL, error: NodeJS.ErrnoException): Error {
  const move = `set ${URL_VARIABLES[owner]} to another address`;
  const where = `${title} cannot listen on ${url.origin}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new Error(`${where}: the port is in use (another aof, or another program); stop it or ${move}`);
    case 'EACCES':
      return new Error(`${where}: permission denied (ports below 1024 need privileges); ${move}`);
    case 'EADDRNOTAVAIL':
      return new Error(`${where}: this machine has no such address; ${move}`);
    default:
      return new Error(`${where}: ${error.message}; ${move}`);
  }
}

/**
 * Starts a server that owns its data dir: takes the lock, sets up, listens. `close` undoes all of it,
 * and so does a failure on the way up.
 */
export async function serveLocked(
  options: CommonServerOptions,
  owner: 'registry' | 'runtime',
  title: string,
  setUp: () => Promise<{ app: Koa; onClose?: () => Promise<void>; onListening?: (url: string) => Promise<void> }>,
): Promise<RunningServer> {
  const unlock = await lockDataDir(options.dataDir, owner);
  try {
    const { app, onClose, onListening } = await setUp();
    const listening = await listen(app, options.url).catch(async (error: NodeJS.ErrnoException) => {
      await onClose?.();
      throw cannotListen(title, owner, options.url, error);
    });
    // Done before the server says it listens: whoever waits for that line finds it done.
    await onListening?.(listening.url).catch(async (error: unknown) => {
      await listening.close();
      await onClose?.();
      throw error;
    });
    options.logger.info(
      `${title} listening on ${listening.url} (data in ${options.databaseUrl ? redactDatabaseUrl(options.databaseUrl) : options.dataDir})`,
    );
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
