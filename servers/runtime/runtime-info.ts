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
const LIST_LIMIT = 500; // the list's largest page

export interface RuntimeInfoSource {
  dataDir: string;
  registryUrl: URL;
  token?: string | undefined;
  sessions: SessionService;
  executor: Executor | undefined;
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

async function currentWork({ sessions, executor }: RuntimeInfoSource) {
  if (executor) {
    const { maxConcurrent, active, queue } = executor.snapshot();
    const listed = await Promise.all(queue.slice(0, QUEUE_LISTED).map(async (name) => {
      const stored = await sessions.getStored(name);
      return stored ? { name, queued_at: lastRun(stored).queued_at } : undefined;
    }));
    return {
      max_concurrent: maxConcurrent,
      running: active.length,
      running_sessions: active,
      queue: listed.filter((entry) => entry !== undefined),
      queued: queue.length,
    };
  }
  // Runs wait for an executor elsewhere: the store's queued runs, oldest first.
  const [running, queued] = await Promise.all([
    sessions.list({ states: ['running'], limit: LIST_LIMIT }),
    sessions.list({ states: ['queued'], limit: LIST_LIMIT }),
  ]);
  const queue = queued.sessions
    .map((s) => ({ name: s.name, queued_at: s.last_run.queued_at }))
    .sort((a, b) => a.queued_at.localeCompare(b.queued_at));
  return {
    max_concurrent: null,
    running: running.counts.running,
    running_sessions: running.sessions.map((s) => s.name),
    queue: queue.slice(0, QUEUE_LISTED),
    queued: queued.counts.queued,
  };
}

async function probeRegistry(registryUrl: URL, token: string | undefined): Promise<RuntimeInfo['registry']> {
  const url = registryUrl.href.replace(/\/$/, '');
  try {
    const response = await fetch(`${url}/health`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(REGISTRY_PROBE_MS),
    });
    if (!response.ok) return { url, reachable: false, version: null, error: `HTTP ${response.status} from ${url}/health` };
    const health = (await response.json()) as { version?: unknown };
    return { url, reachable: true, version: typeof health.version === 'string' ? health.version : null, error: null };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { url, reachable: false, version: null, error: cause ?? (error instanceof Error ? error.message : String(error)) };
  }
}
