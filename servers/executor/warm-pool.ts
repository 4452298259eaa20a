/**
 * The pool of warm Claude Code processes of one executor: what is wanted warm (a blueprint's `warm`,
 * a session's follow-up, a parent waiting on its children), what is warm, and taking one for a run.
 * The rules of what to start and end are pure (warm-rules.ts); this does it, and counts per key.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../common/logger.js';
import { launchKey, type KeyFigures, type LaunchParts, planPool, type SlotView, type Want } from './warm-rules.js';
import { groupMemory } from './process-memory.js';
import { reapWarmDir, WarmProcess, type WarmSpawn } from './warm-process.js';

/** What to start: the parts the key is made of, and a name for people. */
export interface Launch extends LaunchParts {
  label: string;
}

export interface WarmPoolOptions {
  warmDir: string;
  logger: Logger;
  /** Warm processes at most, over all keys. */
  max: number;
  /** An idle warm process ends this long after it started (ms). */
  idleTtlMs: number;
  /** Keep one warm for every key a run used (AGENT_ORCHESTRATOR_WARM_ALL=1). */
  all?: boolean | undefined;
  /** The idle ones' resident memory at most (bytes, over all keys); 0 or none: no cap beside `max`. */
  maxMemory?: number | undefined;
  /** Processes starting at once, at most (default 1: starting one takes a core for a while, and runs come first). */
  maxStarting?: number | undefined;
  /** More environment for one warm process (its own credential): fixed when it starts. */
  slotEnv?: ((slot: string) => Record<string, string>) | undefined;
  now?: () => number;
}

interface Slot {
  id: string;
  key: string;
  since: number;
  ready: Promise<WarmProcess | null>;
  process?: WarmProcess | undefined;
  /** Ended (or to end once started): never handed out. */
  doomed: boolean;
  /** Its resident memory (bytes), as last measured. */
  memory?: number | undefined;
}

interface KeyState {
  launch: Launch;
  taken: number;
  hits: number;
  misses: number;
}

export class WarmPool {
  private readonly slots = new Map<string, Slot>();
  /** Demand by where it comes from (one per blueprint, session, ...): the latest replaces the earlier. */
  private readonly wants = new Map<string, Want>();
  private readonly keys = new Map<string, KeyState>();
  /** Per key, what its last measured idle process held (bytes): what the next one will. */
  private readonly expectedMemory = new Map<string, number>();
  /** Processes being ended (no longer slots): closing waits for them. */
  private readonly ending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: WarmPoolOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Ends what an earlier runtime left warm, then keeps the pool as wanted. */
  async start(): Promise<void> {
    const reaped = await reapWarmDir(this.options.warmDir);
    if (reaped) this.options.logger.info(`ended ${reaped} warm Claude Code process(es) left by an earlier runtime`);
    this.timer = setInterval(() => void this.measure(), Math.max(250, Math.min(5000, this.options.idleTtlMs / 4)));
    this.timer.unref();
  }

  get idleTtlMs(): number {
    return this.options.idleTtlMs;
  }

  get all(): boolean {
    return this.options.all === true;
  }

  /** The key of `launch`, known to the pool from now on. */
  register(launch: Launch): string {
    const key = launchKey(launch);
    const state = this.keys.get(key);
    if (state) state.launch = launch;
    else this.keys.set(key, { launch, taken: 0, hits: 0, misses: 0 });
    return key;
  }

  /** Keeps `count` warm for `launch` (until `until`, ms), as wanted by `source`; replaces that source's earlier want. */
  want(source: string, launch: Launch, count: number, until?: number): void {
    const key = this.register(launch);
    // The latest want is the most wanted.
    this.wants.delete(source);
    this.wants.set(source, { key, count, until });
    this.settle();
  }

  /** `source` wants nothing warm any more. */
  drop(source: string): void {
    if (this.wants.delete(source)) this.settle();
  }

  /** Ends the warm processes continuing `conversation` (it moved on, or was deleted), and the wants for them. */
  forgetConversation(conversation: string): void {
    for (const [source, want] of this.wants)
      if (this.keys.get(want.key)?.launch.resume === conversation) this.wants.delete(source);
    this.settle();
  }

  /**
   * A warm process for `launch`, or undefined (counted as a miss): the run starts cold. One still
   * starting is not waited for (on a loaded machine it may take longer than a cold start).
   */
  async take(launch: Launch): Promise<WarmProcess | undefined> {
    const key = this.register(launch);
    const state = this.keys.get(key)!;
    if (this.all && !launch.resume) this.wants.set(`all:${key}`, { key, count: 1 });
    const slot = [...this.slots.values()]
      .filter((s) => s.key === key && !s.doomed && s.process?.idle)
      .sort((a, b) => a.since - b.since)[0];
    let taken: WarmProcess | null = null;
    if (slot) {
      slot.doomed = true;
      this.slots.delete(slot.id);
      taken = slot.process!;
    }
    if (taken) {
      state.hits++;
      state.taken++;
      void taken.exited.then(() => {
        state.taken--;
      });
    } else state.misses++;
    // Replenish (or stop wanting a follow-up's process once used).
    for (const [source, want] of this.wants) if (want.key === key && launch.resume) this.wants.delete(source);
    this.settle();
    return taken ?? undefined;
  }

  /** The warm process taken for `launch` could not serve its run (which starts cold): a miss after all. */
  fellBack(launch: Launch): void {
    const state = this.keys.get(launchKey(launch));
    if (!state) return;
    state.hits--;
    state.misses++;
  }

  /** Per key: warm, taken, hits, misses. */
  figures(): KeyFigures[] {
    const warm = new Map<string, number>();
    for (const slot of this.slots.values()) if (slot.process?.idle) warm.set(slot.key, (warm.get(slot.key) ?? 0) + 1);
    return [...this.keys]
      .map(([key, state]) => ({
        key,
        label: state.launch.label,
        warm: warm.get(key) ?? 0,
        taken: state.taken,
        hits: state.hits,
        misses: state.misses,
      }))
      .filter((f) => f.warm || f.taken || f.hits || f.misses);
  }

  /**
   * Ends every idle warm process (the ones runs took go on) and stops keeping any: the ones ready, the
   * ones still starting (they notice at once and end), the ones being ended; then whatever the warm
   * dir still names (nothing is starting any more, so nothing is written there meanwhile).
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all([
      ...slots.map(async (slot) => {
        slot.doomed = true;
        await (await slot.ready)?.end();
      }),
      ...this.ending,
    ]);
    await reapWarmDir(this.options.warmDir);
  }

  /** Starts and ends processes as the rules say now. */
  private settle(): void {
    if (this.closed) return;
    const now = this.now();
    for (const [source, want] of this.wants)
      if (want.until !== undefined && want.until <= now) this.wants.delete(source);
    const views: SlotView[] = [...this.slots.values()].map(({ id, key, since, process, memory }) => ({
      id,
      key,
      since,
      starting: !process,
      memory,
    }));
    // The latest demand first: a blueprint just used, a follow-up just ended.
    const wants = [...this.wants.values()].reverse();
    const plan = planPool(views, wants, now, {
      ...this.options,
      maxStarting: this.options.maxStarting ?? 1,
      expectedMemory: this.expectedMemory,
    });
    for (const id of plan.end) {
      const slot = this.slots.get(id)!;
      this.slots.delete(id);
      slot.doomed = true;
      if (slot.memory !== undefined && this.overMemory(views, id))
        this.options.logger.info(
          `ended an idle warm Claude Code process (${this.keys.get(slot.key)!.launch.label}, ${mb(slot.memory)} MB): the warm processes hold more than ${mb(this.options.maxMemory!)} MB`,
        );
      this.endSlot(slot);
    }
    for (const key of plan.start) this.startSlot(key, now);
  }

  /** Ends a slot's process once it has started (at once if it is still starting: it notices). */
  private endSlot(slot: Slot): void {
    const ended = slot.ready.then((process) => process?.end()).catch(() => undefined);
    this.ending.add(ended);
    void ended.finally(() => this.ending.delete(ended));
  }

  /** Whether the memory cap alone ends slot `id` (it is in no other rule's plan). */
  private overMemory(views: SlotView[], id: string): boolean {
    if (!this.options.maxMemory) return false;
    const wants = [...this.wants.values()].reverse();
    const limits = { ...this.options, maxStarting: this.options.maxStarting ?? 1 };
    return !planPool(views, wants, this.now(), { ...limits, maxMemory: 0 }).end.includes(id);
  }

  /** Measures the idle processes' memory, then starts and ends processes as the rules say now. */
  private async measure(): Promise<void> {
    if (this.closed) return;
    const ready = [...this.slots.values()].filter((slot) => slot.process?.idle);
    if (this.options.maxMemory) {
      const memory = await groupMemory(ready.map((slot) => slot.process!.pid));
      for (const slot of ready) {
        const bytes = memory.get(slot.process!.pid);
        if (bytes === undefined) continue;
        slot.memory = bytes;
        this.expectedMemory.set(slot.key, bytes);
      }
    }
    this.settle();
  }

  private startSlot(key: string, now: number): void {
    const { launch } = this.keys.get(key)!;
    const id = randomUUID();
    const spec: WarmSpawn = {
      id,
      bin: launch.bin,
      args: launch.args,
      cwd: launch.cwd,
      env: { ...launch.env, ...this.options.slotEnv?.(id) },
      mcpServers: launch.mcpServers,
      resume: launch.resume,
      sessionId: launch.resume ?? randomUUID(),
    };
    const slot: Slot = { id, key, since: now, doomed: false, ready: Promise.resolve(null) };
    slot.ready = WarmProcess.start(this.options.warmDir, spec, undefined, () => slot.doomed || this.closed).then(
      async (process) => {
        if (slot.doomed || this.closed) {
          await process.end();
          return null;
        }
        slot.process = process;
        await this.measure();
        // One that ends on its own (killed, crashed) leaves the pool, which starts another.
        void process.exited.then(() => {
          if (this.slots.get(id) === slot && process.idle === false && !slot.doomed) {
            this.slots.delete(id);
            this.settle();
          }
        });
        return process;
      },
      (error: Error) => {
        if (slot.doomed || this.closed) return null;
        this.options.logger.warn(`could not start a warm Claude Code process (${launch.label}): ${error.message}`);
        // Not at once again: the next settle after the time to live, so a broken key does not spin.
        this.slots.delete(id);
        for (const [source, want] of this.wants) if (want.key === key) this.wants.delete(source);
        this.settle();
        return null;
      },
    );
    this.slots.set(id, slot);
  }
}

const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
