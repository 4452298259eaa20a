/** How many warm Claude Code processes an executor keeps, and for how long (from the environment). */
export interface WarmOptions {
  /** Warm processes at most, over all keys (0: no pool, unless `all`). */
  max: number;
  /** An idle warm process ends this long after it started. */
  idleTtlSeconds: number;
  /** Keep one warm for every key a run used, and each session's follow-up for a minute. */
  all: boolean;
  /** The idle warm processes' resident memory at most (MB, over all keys); 0: no cap beside `max`. */
  maxMemoryMb?: number | undefined;
}

/**
 * 4 by default: an idle warm process holds about 160 MB and no CPU; a few cover a blueprint's next
 * sessions and a follow-up or two. 10 minutes to live: a warm process that long unused is not wanted.
 */
export const DEFAULT_WARM_MAX = 4;
export const DEFAULT_WARM_TTL_SECONDS = 600;
/** 2 GB: the default count's processes (about 160 MB each) fit many times; `all`'s 16 of a large config may not. */
export const DEFAULT_WARM_MAX_MEMORY_MB = 2048;

export function warmOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WarmOptions {
  const all = env.AGENT_ORCHESTRATOR_WARM_ALL === '1';
  const max = Number(env.AGENT_ORCHESTRATOR_WARM_MAX);
  const ttl = Number(env.AGENT_ORCHESTRATOR_WARM_TTL_SECONDS);
  const memory = env.AGENT_ORCHESTRATOR_WARM_MAX_MEMORY_MB?.trim()
    ? Number(env.AGENT_ORCHESTRATOR_WARM_MAX_MEMORY_MB)
    : NaN;
  return {
    max: Number.isInteger(max) && max >= 0 ? max : all ? 16 : DEFAULT_WARM_MAX,
    idleTtlSeconds: Number.isFinite(ttl) && ttl > 0 ? ttl : DEFAULT_WARM_TTL_SECONDS,
    all,
    maxMemoryMb: Number.isFinite(memory) && memory >= 0 ? memory : DEFAULT_WARM_MAX_MEMORY_MB,
  };
}
