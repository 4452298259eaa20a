// Orchestration overhead: the same prompt through the Agent Runtime vs bare `claude -p`.
//
//   node --import tsx bench/overhead.ts [--seq 10] [--batches8 4] [--batches32 2] [--mixed8 3] [--bare-attached]
//
// One TestStack (real registry + runtime with its local executor, maxConcurrent 32, and the fake
// model answering "ok" at once). Each side runs the same prompt against the same fake, with the
// same CLI binary, config dir, project dir and environment:
//   runtime  POST /sessions (agent `bench`: model TEST_MODEL, bypassPermissions), then
//            sessions.waitForResult() (long-poll on status?wait=, then GET result)
//   bare     claude -p --output-format stream-json --verbose --model TEST_MODEL --session-id <uuid>
//            --permission-mode bypassPermissions, prompt on stdin, until the process exits;
//            started detached (setsid) like the executor's agents: see BARE_DETACHED below
// Interleaved: `--seq` sequential pairs (runtime then bare, then bare then runtime, ...), then
// `--batches8` and `--batches32` pairs of concurrent batches in ABBA order, then `--mixed8` batches
// of 8 where 4 runtime and 4 bare runs start together (both sides see exactly the same load).
// A warm-up run of each side goes first. Reports the wall time of each run or batch, the ratio
// runtime/bare and the overhead in %, the CPU this process spends per run, and where a runtime run
// spends its time (from its files' mtimes, its events' timestamps and a hook on sessions.record).
import childProcess, { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { runFiles } from '../servers/executor/agent-process.js';
import { claudeBin, TEST_MODEL } from '../test/support/claude-env.js';
import { TestStack } from '../test/support/stack.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(value) ? value : fallback;
}
const SEQ_RUNS = option('seq', 10);
const BATCHES_8 = option('batches8', 4);
const BATCHES_32 = option('batches32', 2);
const MIXED_8 = option('mixed8', 3);
/**
 * The executor starts each agent with setsid (`detached: true`), and with the kernel's autogroup
 * scheduling (on here: /proc/sys/kernel/sched_autogroup_enabled) a new session is a new CPU group
 * with its own fair share. So the bare side is started the same way by default, else under CPU
 * contention it gets less CPU than the runtime's agents and the comparison is skewed.
 * `--bare-attached` starts it in this process's session instead, to show that effect.
 */
const BARE_DETACHED = !process.argv.includes('--bare-attached');
const PROMPT = 'Reply with ok.';
const ANSWER = 'ok';

const now = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms precision

/**
 * How long each child_process.spawn() call blocks this process's event loop (fork() copies the
 * page tables, so it grows with the RSS). Wrapped here for both sides: the executor's spawn of
 * /bin/sh and the bare side's spawn of the CLI (syncBuiltinESMExports updates the ESM bindings).
 */
const spawnBlock = { runtime: [] as number[], bare: [] as number[] };
const originalSpawn = childProcess.spawn;
childProcess.spawn = function timedSpawn(this: unknown, ...args: unknown[]) {
  const started = performance.now();
  const child = (originalSpawn as (...a: unknown[]) => childProcess.ChildProcess).apply(this, args);
  (args[0] === '/bin/sh' ? spawnBlock.runtime : spawnBlock.bare).push(performance.now() - started);
  return child;
} as typeof childProcess.spawn;
syncBuiltinESMExports();

/* ---------- one run of each side ---------- */

interface RuntimeTimes {
  side: 'runtime';
  name: string;
  start: number;
  created: number; // POST /sessions answered
  end: number; // waitForResult returned
}

interface BareTimes {
  side: 'bare';
  start: number;
  initLine: number;
  resultLine: number;
  end: number; // the process exited
}

let counter = 0;

async function runtimeRun(stack: TestStack): Promise<RuntimeTimes> {
  const ao = stack.client();
  const name = `bench-${++counter}`;
  const start = now();
  await ao.sessions.create({ name, agent: 'bench', prompt: PROMPT });
  const created = now();
  const result = await ao.sessions.waitForResult(name, { timeoutMs: 180_000 });
  const end = now();
  if (result.state !== 'finished' || result.result !== ANSWER)
    throw new Error(`runtime run ${name}: ${JSON.stringify(result)}`);
  return { side: 'runtime', name, start, created, end };
}

function bareRun(stack: TestStack): Promise<BareTimes> {
  const args = [
    '-p',
    '--output-format',
    'stream-json',
    '--verbose',
    '--model',
    TEST_MODEL,
    '--session-id',
    randomUUID(),
    '--permission-mode',
    'bypassPermissions',
  ];
  const start = now();
  const child = spawn(claudeBin, args, {
    cwd: stack.projectDir,
    env: stack.agentEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: BARE_DETACHED,
  });
  child.stdin.end(`${PROMPT}\n`);
  let initLine = NaN;
  let resultLine = NaN;
  let result: { is_error?: boolean; result?: string } | undefined;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message: { type?: string; subtype?: string; is_error?: boolean; result?: string };
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.type === 'system' && message.subtype === 'init') initLine = now();
    if (message.type === 'result') {
      resultLine = now();
      result = message;
    }
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const end = now();
      if (code !== 0 || !result || result.is_error || result.result !== ANSWER) {
        reject(new Error(`bare run: exit ${code}, result ${JSON.stringify(result)}, stderr ${stderr.slice(-500)}`));
      } else {
        resolve({ side: 'bare', start, initLine, resultLine, end });
      }
    });
  });
}

/* ---------- where a runtime run's time goes (read after the run, outside the timed window) ---------- */

/**
 * When the executor called `sessions.record()` with each run's `session_stop` (epoch ms): the
 * runtime's in-process SessionService is wrapped once, which costs a Map.set per call.
 */
const stopCalls = new Map<string, number>();

function watchRecord(stack: TestStack): void {
  const sessions = stack.sessions!;
  const record = sessions.record.bind(sessions);
  sessions.record = (name, inputs, options) => {
    if (inputs.some((e) => e.type === 'session_stop')) stopCalls.set(name, now());
    return record(name, inputs, options);
  };
}

/** Milliseconds from the client's start (t0) to each point of a runtime run, and a few spans. */
interface Breakdown {
  /** t0 -> POST /sessions answered (HTTP, validation, registry lookup, nedb insert). */
  create: number;
  /** t0 -> the session's created_at (the handler ran: HTTP + validation + registry lookup). */
  handler: number;
  /** t0 -> the prompt file written (the executor picked the run up). */
  files: number;
  /** t0 -> /bin/sh spawned (mtime of the pid file). */
  spawn: number;
  /** spawn -> the init event recorded (CLI start-up, then the tail noticing the line). */
  spawnToInit: number;
  /** spawn -> the exit-code file written by the wrapper (Claude Code's whole life + /bin/sh). */
  spawnToExit: number;
  /** exit-code file -> the executor calling record(session_stop): mv, SIGCHLD, exit code, last read. */
  exitToRecord: number;
  /** exit-code file -> the session_stop event's `at` (ms precision): the above + lock + nedb find. */
  exitToStop: number;
  /** session_stop `at` -> waitForResult returned: nedb writes, long-poll answer, GET /result. */
  stopToClient: number;
  total: number;
}

async function breakdown(stack: TestStack, run: RuntimeTimes): Promise<Breakdown> {
  const files = runFiles(join(stack.dataDir, 'runs'), run.name, 1);
  const [prompt, pid, exit] = await Promise.all([stat(files.prompt), stat(files.pid), stat(files.exit)]);
  const session = await stack.client().sessions.get(run.name);
  const { events } = await stack.client().sessions.listEvents(run.name, { limit: 1000 });
  const at = (type: string) => Date.parse(events.find((e) => e.type === type)?.at ?? '');
  const spawned = pid.mtimeMs;
  return {
    create: run.created - run.start,
    handler: Date.parse(session.created_at) - run.start,
    files: prompt.mtimeMs - run.start,
    spawn: spawned - run.start,
    spawnToInit: at('session_start') - spawned,
    spawnToExit: exit.mtimeMs - spawned,
    exitToRecord: (stopCalls.get(run.name) ?? NaN) - exit.mtimeMs,
    exitToStop: at('session_stop') - exit.mtimeMs,
    stopToClient: run.end - at('session_stop'),
    total: run.end - run.start,
  };
}

/* ---------- the schedule ---------- */

interface Batch {
  mode: string;
  concurrency: number;
  side: 'runtime' | 'bare' | 'mixed';
  wall: number;
  /** CPU time of this process (runtime, registry, fake model, bare spawner) during the batch, ms. */
  cpu: number;
  /** Event-loop delay of this process during the batch: p99 and max, ms. */
  loopP99: number;
  loopMax: number;
  runtimeRuns: RuntimeTimes[];
  bareRuns: BareTimes[];
}

/** `concurrency` runs at once, all of one side, or (mixed) runtime and bare runs alternately. */
async function batch(
  stack: TestStack,
  mode: string,
  side: 'runtime' | 'bare' | 'mixed',
  concurrency: number,
): Promise<Batch> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const start = now();
  const runs = await Promise.all(
    Array.from({ length: concurrency }, (_, i) => {
      const runtime = side === 'runtime' || (side === 'mixed' && i % 2 === 0);
      return runtime ? runtimeRun(stack) : bareRun(stack);
    }),
  );
  const wall = now() - start;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  return {
    mode,
    concurrency,
    side,
    wall,
    cpu: (cpu.user + cpu.system) / 1000,
    loopP99: loop.percentile(99) / 1e6,
    loopMax: loop.max / 1e6,
    runtimeRuns: runs.filter((r): r is RuntimeTimes => r.side === 'runtime'),
    bareRuns: runs.filter((r): r is BareTimes => r.side === 'bare'),
  };
}

const median = (values: number[]) => {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)}` : '-');
const sec = (v: number) => `${(v / 1000).toFixed(2)}`;

const max = (values: number[]) => Math.max(...values.filter((v) => Number.isFinite(v)));
const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const stack = await TestStack.start({ executorOptions: { maxConcurrent: 32 } });
  try {
    stack.fake.respond(() => ({ text: ANSWER }));
    watchRecord(stack);
    await stack.client().agents.create({
      name: 'bench',
      description: 'overhead benchmark',
      model: TEST_MODEL,
      permission_mode: 'bypassPermissions',
    });
    console.log(`aof overhead benchmark, ${new Date().toISOString()}, node ${process.version}, load average ${load()}`);
    console.log(
      `schedule: ${SEQ_RUNS} sequential runs, ${BATCHES_8} batches of 8 and ${BATCHES_32} of 32 per side (ABBA), ` +
        `${MIXED_8} mixed batches of 8 (4 runtime + 4 bare at once); bare ${BARE_DETACHED ? 'detached (setsid, like the executor)' : 'attached (this session)'}\n`,
    );

    // Warm-up: the first run of the CLI in a fresh config dir does extra work.
    await batch(stack, 'warm-up', 'bare', 1);
    await batch(stack, 'warm-up', 'runtime', 1);

    const batches: Batch[] = [];
    const plan = [
      { mode: 'sequential', concurrency: 1, pairs: SEQ_RUNS },
      { mode: 'concurrent 8', concurrency: 8, pairs: BATCHES_8 },
      { mode: 'concurrent 32', concurrency: 32, pairs: BATCHES_32 },
    ].filter((p) => p.pairs > 0);
    for (const { mode, concurrency, pairs } of plan) {
      for (let i = 0; i < pairs; i++) {
        // ABBA: runtime first in even pairs, bare first in odd ones.
        const order: Array<'runtime' | 'bare'> = i % 2 === 0 ? ['runtime', 'bare'] : ['bare', 'runtime'];
        for (const side of order) {
          const b = await batch(stack, mode, side, concurrency);
          batches.push(b);
          process.stderr.write(`  ${mode} #${i + 1} ${side}: ${sec(b.wall)} s\n`);
        }
      }
    }
    for (let i = 0; i < MIXED_8; i++) {
      const b = await batch(stack, 'mixed 8', 'mixed', 8);
      batches.push(b);
      process.stderr.write(`  mixed 8 #${i + 1}: ${sec(b.wall)} s\n`);
    }

    /* ----- wall times and ratios ----- */
    console.log(
      'mode              pairs  runtime wall s                       bare wall s                          ratio  median  overhead',
    );
    for (const { mode, concurrency } of plan) {
      const rt = batches.filter((b) => b.mode === mode && b.side === 'runtime');
      const bare = batches.filter((b) => b.mode === mode && b.side === 'bare');
      const ratio = sum(rt.map((b) => b.wall)) / sum(bare.map((b) => b.wall));
      const pairRatio = median(rt.map((b, i) => b.wall / bare[i]!.wall));
      const each = (list: Batch[]) =>
        list.length <= 6
          ? list.map((b) => sec(b.wall)).join(' ')
          : `median ${sec(median(list.map((b) => b.wall)))} (${sec(Math.min(...list.map((b) => b.wall)))}-${sec(max(list.map((b) => b.wall)))})`;
      console.log(
        `${`${mode} (x${concurrency})`.padEnd(18)}${String(rt.length).padStart(4)}   ${each(rt).padEnd(36)} ${each(bare).padEnd(36)} ` +
          `${ratio.toFixed(3)}  ${pairRatio.toFixed(3)}  ${((ratio - 1) * 100).toFixed(1).padStart(6)}%`,
      );
    }
    const mixed = batches.filter((b) => b.side === 'mixed');
    if (mixed.length) {
      const perBatch = mixed.map(
        (b) => median(b.runtimeRuns.map((r) => r.end - r.start)) / median(b.bareRuns.map((r) => r.end - r.start)),
      );
      const rtAll = median(mixed.flatMap((b) => b.runtimeRuns.map((r) => r.end - r.start)));
      const bareAll = median(mixed.flatMap((b) => b.bareRuns.map((r) => r.end - r.start)));
      console.log(
        `${'mixed 8 (4+4)'.padEnd(18)}${String(mixed.length).padStart(4)}   ${`run median ${sec(rtAll)}`.padEnd(36)} ${`run median ${sec(bareAll)}`.padEnd(36)} ` +
          `${(rtAll / bareAll).toFixed(3)}  ${median(perBatch).toFixed(3)}  ${((rtAll / bareAll - 1) * 100).toFixed(1).padStart(6)}%`,
      );
    }
    console.log('ratio = total runtime wall / total bare wall of that mode; median = median of the per-pair ratios;');
    console.log(
      'mixed = runtime and bare runs started together in one batch, compared run by run (immune to load bursts).',
    );
    console.log('goal: overhead < 10%');

    /* ----- what the runtime costs this process ----- */
    console.log(
      '\nthis process (runtime + registry + fake model + spawner) per batch, median: CPU ms per run, event-loop delay p99 / max ms',
    );
    for (const { mode } of plan) {
      const line = (side: 'runtime' | 'bare') => {
        const list = batches.filter((b) => b.mode === mode && b.side === side);
        return `${side} cpu ${ms(median(list.map((b) => b.cpu / b.concurrency))).padStart(4)} ms/run, loop ${ms(median(list.map((b) => b.loopP99)))} / ${ms(median(list.map((b) => b.loopMax)))} ms`;
      };
      console.log(`${mode.padEnd(15)} ${line('runtime').padEnd(42)} ${line('bare')}`);
    }
    const spawnLine = (list: number[]) =>
      `median ${median(list).toFixed(1)} ms, max ${max(list).toFixed(1)} ms (${list.length} spawns)`;
    console.log(
      `spawn() blocked this process: runtime (/bin/sh) ${spawnLine(spawnBlock.runtime)}; bare (claude) ${spawnLine(spawnBlock.bare)}; ` +
        `this process's RSS now ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
    );

    /* ----- where the runtime's time goes ----- */
    console.log(
      '\nwhere a runtime run spends its time, ms: median (max) over the runs; t0 = the client starts the create',
    );
    const cols: Array<[keyof Breakdown, string]> = [
      ['create', 't0->201'],
      ['handler', 't0->handler'],
      ['files', 't0->files'],
      ['spawn', 't0->spawn'],
      ['spawnToInit', 'spawn->init'],
      ['spawnToExit', 'spawn->exit'],
      ['exitToRecord', 'exit->record'],
      ['exitToStop', 'exit->stop'],
      ['stopToClient', 'stop->client'],
      ['total', 'total'],
    ];
    console.log(`${'mode'.padEnd(14)}${cols.map(([, title]) => title.padStart(14)).join('')} | bare: init   exit`);
    for (const { mode } of [...plan, ...(mixed.length ? [{ mode: 'mixed 8' }] : [])]) {
      const rtRuns = batches.filter((b) => b.mode === mode).flatMap((b) => b.runtimeRuns);
      const bareRuns = batches.filter((b) => b.mode === mode).flatMap((b) => b.bareRuns);
      const parts = await Promise.all(rtRuns.map((r) => breakdown(stack, r)));
      const cell = (key: keyof Breakdown) =>
        `${ms(median(parts.map((p) => p[key])))} (${ms(max(parts.map((p) => p[key])))})`;
      console.log(
        `${mode.padEnd(14)}${cols.map(([key]) => cell(key).padStart(14)).join('')} |` +
          ` ${ms(median(bareRuns.map((r) => r.initLine - r.start))).padStart(10)} ${ms(median(bareRuns.map((r) => r.end - r.start))).padStart(6)}`,
      );
    }
    console.log(
      "handler = the session's created_at; files/spawn/exit = mtimes of the run's prompt, pid and exit-code files;",
    );
    console.log(
      "record = when the executor called sessions.record(session_stop); init/stop = the events' `at` (ms precision).",
    );
    console.log(`load average at the end: ${load()}`);
  } finally {
    await stack.close();
  }
}

await main();
