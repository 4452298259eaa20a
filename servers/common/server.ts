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
