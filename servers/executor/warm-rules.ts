/**
 * Which warm Claude Code processes to keep: pure (the time is an argument), so every rule is
 * unit-tested (test/executor/warm-rules.test.ts). The pool (warm-pool.ts) asks these rules what to
 * start and what to end, and does it.
 *
 * A process is warm for one key: everything fixed when Claude Code starts (the binary, the project
 * dir, the flags, the environment, the conversation it continues). Demand for a key says how many to
 * keep and until when; processes nobody wants any more, idle past their time to live, or over the
 * global cap are ended, oldest first.
 */
import { createHash } from 'node:crypto';

/** A warm process as the rules see it. */
export interface SlotView {
  id: string;
  key: string;
  /** When it was started (ms): its idle time counts from there, since nothing has used it. */
  since: number;
}

/** Demand for a key: keep `count` processes warm, until `until` (ms; none: for as long as it is wanted). */
export interface Want {
  key: string;
  count: number;
  until?: number | undefined;
}

export interface PoolLimits {
  /** Warm processes at most, over all keys. */
  max: number;
  /** An idle process ends this long after it started (ms). */
  idleTtlMs: number;
}

export interface PoolPlan {
  /** Keys to start one more process for (a key once per process), most wanted first. */
  start: string[];
  /** Processes to end. */
  end: string[];
}

/** The demand in force at `now`: the largest count per key, of the wants that have not expired. */
export function liveWants(wants: readonly Want[], now: number): Map<string, number> {
  const live = new Map<string, number>();
  for (const want of wants) {
    if (want.until !== undefined && want.until <= now) continue;
    if (want.count <= 0) continue;
    live.set(want.key, Math.max(live.get(want.key) ?? 0, want.count));
  }
  return live;
}

/**
 * What to start and what to end at `now`. Ends: processes past their time to live, processes of keys
 * nobody wants any more (or more of them than wanted, the newest kept), and the oldest ones while
 * over the cap. Starts: for each wanted key, in the order first wanted, as many as missing, within the cap.
 */
export function planPool(
  slots: readonly SlotView[],
  wants: readonly Want[],
  now: number,
  limits: PoolLimits,
): PoolPlan {
  const live = liveWants(wants, now);
  const end = new Set<string>();
  const kept: SlotView[] = [];
  const byAge = [...slots].sort((a, b) => b.since - a.since); // newest first
  const counted = new Map<string, number>();
  for (const slot of byAge) {
    const have = counted.get(slot.key) ?? 0;
    if (now - slot.since >= limits.idleTtlMs || have >= (live.get(slot.key) ?? 0)) {
      end.add(slot.id);
      continue;
    }
    counted.set(slot.key, have + 1);
    kept.push(slot);
  }
  // Over the cap (it was lowered, or wants grew elsewhere): the oldest go first.
  let alive = kept.length;
  for (let i = kept.length - 1; i >= 0 && alive > limits.max; i--, alive--) end.add(kept[i]!.id);
  let room = limits.max - alive;
  const start: string[] = [];
  for (const [key, count] of live) {
    const have = kept.filter((slot) => slot.key === key && !end.has(slot.id)).length;
    for (let i = have; i < count && room > 0; i++, room--) start.push(key);
  }
  return { start, end: [...end] };
}

/** Everything fixed when Claude Code starts, as the pool keys it. */
export interface LaunchParts {
  bin: string;
  cwd: string;
  /** The run's flags, without the conversation's (`--session-id`, `--resume`) or the MCP config's path. */
  args: readonly string[];
  /** The MCP servers the config file holds (its content, not its path). */
  mcpServers: Record<string, unknown> | null;
  env: Readonly<Record<string, string | undefined>>;
  /** The conversation it continues (`--resume`); none: a new one under an id chosen in advance. */
  resume?: string | undefined;
}

/** A stable key for the parts: the same parts in any order of environment entries give the same key. */
export function launchKey(parts: LaunchParts): string {
  const env = Object.entries(parts.env)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const text = JSON.stringify([parts.bin, parts.cwd, parts.args, parts.mcpServers, env, parts.resume ?? null]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** Figures of one key, as `GET /runtime` shows them. */
export interface KeyFigures {
  key: string;
  /** What it is, for a person: the blueprint (or none), the project dir, the conversation it continues. */
  label: string;
  warm: number;
  taken: number;
  hits: number;
  misses: number;
}
