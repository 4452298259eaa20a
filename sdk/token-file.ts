/**
 * The token `aof up` keeps in its data dir when none is configured (mode 0600): clients on the same
 * machine, as the same Unix user, find it there, so nothing has to be set by hand. Read only in Node
 * (never in a browser, which is given its credential otherwise).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The file's name in the data dir. */
export const TOKEN_FILE = 'api-token';

/** The data dir a client looks in: AGENT_ORCHESTRATOR_DATA_DIR, else ~/.agent-orchestrator (as the servers). */
export function dataDirOf(env: NodeJS.ProcessEnv): string | undefined {
  if (env.AGENT_ORCHESTRATOR_DATA_DIR) return path.resolve(env.AGENT_ORCHESTRATOR_DATA_DIR);
  return env.HOME ? path.join(env.HOME, '.agent-orchestrator') : undefined;
}

/** The token in the data dir named by `env`, or undefined when there is none (or no file system). */
export function tokenFromFile(env: NodeJS.ProcessEnv): string | undefined {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  const dir = dataDirOf(env);
  if (!dir) return undefined;
  try {
    return fs.readFileSync(path.join(dir, TOKEN_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
