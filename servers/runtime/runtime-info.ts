/**
 * `GET /runtime`: what the runtime is doing now (cap, running, queue) and whether the Agent Registry
 * answers, for the dashboard's runtime view.
 */
import type { components } from '../../sdk/generated/runtime.js';
import { VERSION } from '../common/http/server.js';
import type { Executor } from '../executor/index.js';
import type { SessionService } from './session-service.js';
import { lastRun, type StoredSession } from './session-store.js';

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
  /** The warm pools runners reported (runner-pools.ts). */
  runnerPools?: (() => NonNullable<RuntimeInfo['runner_warm_pools']>) | undefined;
}

export async function runtimeInfo(source: RuntimeInfoSource): Promise<RuntimeInfo> {
  const now = Date.now();
  const [work, registry, recent] = await Promise.all([
    currentWork(source),
    probeRegistry(source.registryUrl, source.token),
    source.sessions.activeSince(new Date(now - HOUR_MS).toISOString(), RECENT_SESSIONS),
  ]);
  return {
    version: VERSION,
    data_dir: source.dataDir,
    executor: source.executor ? 'local' : 'none',
    ...work,
    registry,
    last_hour: lastHour(recent, now),
    ...(source.executor?.snapshot().warm ? { warm_pool: source.executor.snapshot().warm } : {}),
    ...runnerWarmPools(source),
  };
}

function runnerWarmPools(source: RuntimeInfoSource): Pick<RuntimeInfo, 'runner_warm_pools'> {
  const pools = source.runnerPools?.() ?? [];
  return pools.length ? { runner_warm_pools: pools } : {};
}

const HOUR_MS = 3600_000;
/** Sessions read for `last_hour`, at most (the most recently active). */
const RECENT_SESSIONS = 5000;

/** Runs that ended within the hour before `now`: how many, their durations, their agents' time to a first event. */
export function lastHour(sessions: readonly StoredSession[], now: number): RuntimeInfo['last_hour'] {
  const since = new Date(now - HOUR_MS).toISOString();
  const durations: number[] = [];
  const firstEvents: number[] = [];
  let ended = 0;
  for (const session of sessions) {
    for (const run of session.runs) {
      if (!run.ended_at || run.ended_at < since) continue;
      ended++;
      if (run.started_at) durations.push(Date.parse(run.ended_at) - Date.parse(run.started_at));
      if (run.started_at && run.first_event_at)
        firstEvents.push(Date.parse(run.first_event_at) - Date.parse(run.started_at));
    }
  }
  return {
    runs_ended: ended,
    run_duration_seconds: quantiles(durations),
    time_to_first_event_seconds: quantiles(firstEvents),
  };
}

function quantiles(ms: number[]): RuntimeInfo['last_hour']['run_duration_seconds'] {
  const sorted = ms.filter((v) => v >= 0).sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! / 1000 : null;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9) };
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
