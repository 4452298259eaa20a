/**
 * The file in a data dir (the runtime's, or a runner's) that says where the runtime listens: the
 * permission tool of an agent in approval mode reads it on every attempt, so it finds a runtime that
 * restarted on another port.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const RUNTIME_URL_FILE = 'runtime.url';

export async function writeRuntimeUrl(dataDir: string, url: string): Promise<void> {
  const file = join(dataDir, RUNTIME_URL_FILE);
  await writeFile(`${file}.tmp`, `${url}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
