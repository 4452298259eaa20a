import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger, type Logger } from '../../servers/common/logger.js';
import { startRegistry, type RegistryOptions } from '../../servers/registry/server.js';
import type { RunningServer } from '../../servers/common/server.js';

export const tempDir = (prefix = 'aof-test-') => mkdtemp(join(tmpdir(), prefix));

export interface TestRegistry extends RunningServer {
  dataDir: string;
}

/** The real Agent Registry on an ephemeral loopback port with a fresh data dir (unless given one). */
export async function startTestRegistry(options: Partial<RegistryOptions> = {}): Promise<TestRegistry> {
  const dataDir = options.dataDir ?? (await tempDir());
  const server = await startRegistry({
    url: new URL('http://127.0.0.1:0'),
    logger: options.logger ?? testLogger(),
    ...options,
    dataDir,
  });
  return { ...server, dataDir };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Quiet unless AOF_TEST_LOGS=1, which shows the servers' logs while debugging a test. */
export function testLogger(name = 'test'): Logger {
  return process.env.AOF_TEST_LOGS ? createLogger(name) : silentLogger;
}
