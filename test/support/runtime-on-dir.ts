import { Orchestrator } from '../../sdk/index.js';
import { startRuntime, type RunningRuntime, type RuntimeOptions } from '../../servers/runtime/server.js';
import { testLogger } from './servers.js';

/** No registry: sessions without blueprints only. */
const NO_REGISTRY = 'http://127.0.0.1:9';

/**
 * The real runtime alone in this process on a given data dir (no registry, no executor: runs move
 * only by posted events), on a free port; `more` overrides any option (a logger, a database, blueprints).
 */
export function startLoneRuntime(dataDir: string, more: Partial<RuntimeOptions> = {}): Promise<RunningRuntime> {
  return startRuntime({
    url: new URL('http://127.0.0.1:0'),
    dataDir,
    registryUrl: new URL(NO_REGISTRY),
    executor: 'none',
    logger: testLogger('runtime'),
    blueprints: { find: async () => null },
    ...more,
  });
}

/** The lone runtime and a client of it: for tests of what a data dir holds across starts. */
export async function startRuntimeOn(dataDir: string): Promise<{ runtime: RunningRuntime; client: Orchestrator }> {
  const runtime = await startLoneRuntime(dataDir);
  return { runtime, client: new Orchestrator({ runtimeUrl: runtime.url, registryUrl: NO_REGISTRY, token: null }) };
}
