/**
 * Which warm Claude Code processes to keep: pure (the time is an argument), so every rule is
 * unit-tested (test/executor/warm-rules.test.ts). The pool (warm-pool.ts) asks these rules what to
 * start and what to end, and does it.
 *
 * A process is warm for one key: everything fixed when Claude Code starts (the binary, the project
 * dir, the flags, the environment, the conversation it continues). Demand for a key says how many to
 * keep and until when; processes nobody wants any more, idle past their time to live, or over the
 * global cap are ended, oldest first. Over the cap on their memory (resident, as last measured), the
 * oldest idle ones end, and none starts that would not fit.
 */
import { createHash } from 'node:crypto';

/** A warm process as the rules see it. */
export interface SlotView {
  id: string;
  key: string;
  /** When it was started (ms): its idle time counts from there, since nothing has used it. */
  since: number;
  /** Still starting (not yet initialised). */
  starting?: boolean | undefined;
  /** Its resident memory (bytes, its whole process group), as last measured; unknown: not yet measured. */
  memory?: number | undefined;
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
  /** Processes starting at once, at most (each start takes a core for a while; runs come first). */
  maxStarting: number;
  /** The resident memory of the warm processes, at most (bytes, over all keys); 0 or none: no cap. */
  maxMemory?: number | undefined;
  /** Per key, what one of its processes was last measured to hold once started (bytes): what another would. */
  expectedMemory?: ReadonlyMap<string, number> | undefined;
}

export interface PoolPlan {
  /** Keys to start one more process for (a key once per process), most wanted first. */
  start: string[];
  /** Processes to end. */
  end: string[];
}

/** The demand in force at `now`, in the order given (the first most wanted): the largest count per key. */
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
 * What to start and what to end at `now`. The cap is shared out in the order of `wants` (the first
 * most wanted): each key gets as many as it wants while room is left. Ends: processes past their
 * time to live, and the ones beyond their key's share (the newest kept). Starts: what each key
 * misses of its share, most wanted first, at most `maxStarting` starting at once.
 */
export function planPool(
  slots: readonly SlotView[],
  wants: readonly Want[],
  now: number,
  limits: PoolLimits,
): PoolPlan {
  const live = liveWants(wants, now);
  const share = new Map<string, number>();
  let room = limits.max;
  for (const [key, count] of live) {
    const given = Math.min(count, Math.max(0, room));
    share.set(key, given);
    room -= given;
  }
  const end: string[] = [];
  const kept = new Map<string, number>();
  /** Newest first. */
  const keptSlots: SlotView[] = [];
  let starting = 0;
  for (const slot of [...slots].sort((a, b) => b.since - a.since)) {
    const have = kept.get(slot.key) ?? 0;
    if (now - slot.since >= limits.idleTtlMs || have >= (share.get(slot.key) ?? 0)) {
      end.push(slot.id);
      continue;
    }
    kept.set(slot.key, have + 1);
    keptSlots.push(slot);
    if (slot.starting) starting++;
  }
  const cap = limits.maxMemory ?? 0;
  const expected = (key: string) => limits.expectedMemory?.get(key) ?? 0;
  // One still starting holds what it will hold once started, as far as is known.
  let memory = keptSlots.reduce(
    (sum, slot) => sum + (slot.starting ? Math.max(slot.memory ?? 0, expected(slot.key)) : (slot.memory ?? 0)),
    0,
  );
  if (cap > 0)
    for (const slot of keptSlots.filter((s) => !s.starting).reverse()) {
      if (memory <= cap) break;
      end.push(slot.id);
      memory -= slot.memory ?? 0;
      kept.set(slot.key, kept.get(slot.key)! - 1);
    }
  const start: string[] = [];
  for (const [key, given] of share)
    for (let i = kept.get(key) ?? 0; i < given && starting < limits.maxStarting; i++, starting++) {
      // None starts that would go over the cap (and be ended at once, again and again).
      if (cap > 0 && memory + expected(key) > cap) break;
      memory += expected(key);
      start.push(key);
    }
  return { start, end: end.sort() };
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
