/**
 * Safe by default: with no AGENT_ORCHESTRATOR_API_TOKEN, `aof` keeps an admin token in the data dir
 * (`api-token`, mode 0600), made at the first start and read at the next ones. Clients of the same
 * Unix user find it there (sdk/token-file.ts), so a person sets nothing, and any other process is
 * refused. Agents run as the same user can read it too, unless run as another user: see docs/security.md.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOKEN_FILE } from '../../../sdk/token-file.js';

export { TOKEN_FILE };

/** The data dir's token: read, or made when there is none (two servers starting at once agree on one). */
export async function ensureTokenFile(dataDir: string): Promise<{ token: string; path: string; created: boolean }> {
  const path = join(dataDir, TOKEN_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const existing = await readToken(path);
  if (existing) return { token: existing, path, created: false };
  // Written whole under another name, then linked: the file appears complete or not at all, and of
  // two servers making one, the second's link fails and it reads the first's.
  const token = `aofp_${randomBytes(32).toString('base64url')}`;
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, `${token}\n`, { mode: 0o600 });
  try {
    await link(draft, path);
    return { token, path, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const theirs = await readToken(path);
    if (!theirs) throw new Error(`${path} is empty; remove it to have a new token made`);
    return { token: theirs, path, created: false };
  } finally {
    await rm(draft, { force: true });
  }
}

async function readToken(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
