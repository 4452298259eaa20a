// GET /usage (tokens, cost and time per session, agent, day and in total) next to GET /sessions, as
// the number of stored sessions grows.
//
//   node --import tsx bench/usage.ts [--sizes 100,1000,5000] [--requests 15]
//
// The runtime runs in this process with `executor: 'none'` (no agents) and a stub blueprint source.
// At each size the store holds that many sessions, each with two ended runs that reported usage and
// cost, from a few agents over a few days. Then `--requests` rounds, each one GET /usage and one GET
// /sessions (the order alternates, so drift on this shared machine hits both alike), sequentially.
// /usage reads every stored session and keeps only sums; /sessions answers one page of summaries.
// Only the ratio at each size means anything: absolute numbers vary with the machine's load.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../servers/common/logger.js';
import { startLoneRuntime } from '../test/support/runtime-on-dir.js';
import { median } from './lib/stats.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const SIZES = option('sizes', '100,1000,5000').split(',').map(Number);
const REQUESTS = Number(option('requests', '15'));

const root = await mkdtemp(join(tmpdir(), 'aof-bench-usage-'));
const runtime = await startLoneRuntime(join(root, 'data'), {
  blueprints: { find: async (name) => ({ name, status: 'active' }) },
  defaultProjectDir: root,
  logger: silentLogger,
});

/** One run's events as an executor reports them: a result with usage and cost, then the end. */
const finishRun = (i: number) => [
  {
    type: 'result' as const,
    data: {
      is_error: false,
      text: 'done',
      total_cost_usd: 0.001 * (i % 7),
      num_turns: 2,
      duration_ms: 1000 + i,
      usage: { input_tokens: 100 + i, output_tokens: 20, cache_creation_input_tokens: 5, cache_read_input_tokens: 50 },
    },
  },
  { type: 'session_stop' as const, data: { exit_code: 0, signal: null, reason: 'exited' } },
];

let stored = 0;
async function grow(to: number): Promise<void> {
  for (; stored < to; stored++) {
    const name = `s${stored}`;
    await runtime.sessions.create({ name, prompt: 'work', ...(stored % 3 ? { agent: `agent-${stored % 4}` } : {}) });
    await runtime.sessions.record(name, finishRun(stored));
    await runtime.sessions.resume(name, 'more');
    await runtime.sessions.record(name, finishRun(stored + 1));
  }
}

async function timeGet(path: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${runtime.url}${path}`);
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return performance.now() - started;
}

const rows: string[][] = [];
try {
  for (const size of SIZES) {
    await grow(size);
    const usage: number[] = [];
    const list: number[] = [];
    for (let round = 0; round < REQUESTS; round++) {
      if (round % 2) {
        usage.push(await timeGet('/usage'));
        list.push(await timeGet('/sessions'));
      } else {
        list.push(await timeGet('/sessions'));
        usage.push(await timeGet('/usage'));
      }
    }
    const report = await runtime.sessions.usage();
    if (report.totals.sessions !== size || report.totals.runs !== 2 * size)
      throw new Error(`the report counts ${report.totals.sessions} sessions`);
    rows.push([
      String(size),
      `${median(usage).toFixed(1)} ms`,
      `${median(list).toFixed(1)} ms`,
      `${(median(usage) / median(list)).toFixed(2)}x`,
    ]);
  }
} finally {
  await runtime.close();
  await rm(root, { recursive: true, force: true });
}

console.log(`GET /usage next to GET /sessions, median of ${REQUESTS} sequential requests each, interleaved`);
const header = ['sessions', 'GET /usage', 'GET /sessions', 'usage/sessions'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
