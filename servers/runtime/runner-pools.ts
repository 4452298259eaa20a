/**
 * The warm Claude Code processes of runners (`aof runner`), as each said in its last heartbeat to this
 * runtime process: what `GET /runtime` shows beside the runtime's own pool. Runners heard from too long
 * ago (they stopped, or talk to another replica now) are left out.
 */
import type { components } from '../../sdk/generated/runtime.js';

type WarmPoolKey = components['schemas']['WarmPoolKey'];
export type RunnerWarmPool = NonNullable<components['schemas']['RuntimeInfo']['runner_warm_pools']>[number];

export class RunnerPools {
  private readonly pools = new Map<string, { keys: WarmPoolKey[]; at: number }>();

  /** `runner` said its pool is `keys` at `now` (ms). */
  heard(runner: string, keys: WarmPoolKey[], now: number): void {
    this.pools.set(runner, { keys, at: now });
  }

  /** Whether `runner` told its pool within `freshMs` before `now` (it keeps processes warm, and is there). */
  keepsWarm(runner: string, now: number, freshMs: number): boolean {
    const pool = this.pools.get(runner);
    return pool !== undefined && now - pool.at <= freshMs;
  }

  /** The pools of the runners heard from within `freshMs` before `now`, that keep or kept anything warm; by name. */
  list(now: number, freshMs: number): RunnerWarmPool[] {
    const fresh: RunnerWarmPool[] = [];
    for (const [runner, { keys, at }] of this.pools) {
      if (now - at > freshMs) {
        this.pools.delete(runner);
        continue;
      }
      if (keys.length) fresh.push({ runner, reported_at: new Date(at).toISOString(), keys });
    }
    return fresh.sort((a, b) => (a.runner < b.runner ? -1 : 1));
  }
}
