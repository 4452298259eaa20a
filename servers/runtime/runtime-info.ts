/**
 * `GET /runtime`: what the runtime is doing now (cap, running, queue) and whether the Agent Registry
 * answers, for the dashboard's runtime view.
 */
import type { components } from '../../sdk/generated/runtime.js';
import { VERSION } from '../common/server.js';
import type { Executor } from './executor/index.js';
import type { SessionService } from './session-service.js';
import { lastRun } from './session-store.js';

export type RuntimeInfo = components['schemas']['RuntimeInfo'];

/** The queue is listed up to this many entries; `queued` counts them all. */
export const QUEUE_LISTED = 200;
const REGISTRY_PROBE_MS = 2000;

export interface RuntimeInfoSource {
  dataDir: string;
  registryUrl: URL;
  token?: string | undefined;
  sessions: SessionService;
  executor: Executor | undefined;
  /** The cap on runs in flight across every runner and runtime process. */
  maxConcurrent: number;
}

export async function runtimeInfo(source: RuntimeInfoSource): Promise<RuntimeInfo> {
  const [work, registry] = await Promise.all([currentWork(source), probeRegistry(source.registryUrl, source.token)]);
  return {
    version: VERSION,
    data_dir: source.dataDir,
    executor: source.executor ? 'local' : 'none',
    ...work,
    registry,
  };
}

/** From the store, so that every runtime process answers the same: the runs of every runner, and the queue oldest first. */
async function currentWork({ sessions, maxConcurrent }: RuntimeInfoSource) {
  const active = await sessions.active();
  const running = active.filter((s) => lastRun(s).state === 'running').map((s) => s.name);
  const queue = active
    .filter((s) => lastRun(s).state === 'queued')
    .map((s) => ({ name: s.name, queued_at: lastRun(s).queued_at }))
    .sort((a, b) => a.queued_at.localeCompare(b.queued_at) || (a.name < b.name ? -1 : 1));
  return {
    max_concurrent: maxConcurrent,
    running: running.length,
    running_sessions: running,
    queue: queue.slice(0, QUEUE_LISTED),
    queued: queue.length,
  };
}

async function probeRegistry(registryUrl: URL, token: string | undefined): Promise<RuntimeInfo['registry']> {
  const url = registryUrl.href.replace(/\/$/, '');
  try {
    const response = await fetch(`${url}/health`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(REGISTRY_PROBE_MS),
    });
    if (!response.ok)
      return { url, reachable: false, version: null, error: `HTTP ${response.status} from ${url}/health` };
    const health = (await response.json()) as { version?: unknown };
    return { url, reachable: true, version: typeof health.version === 'string' ? health.version : null, error: null };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return {
      url,
      reachable: false,
      version: null,
      error: cause ?? (error instanceof Error ? error.message : String(error)),
    };
  }
}
