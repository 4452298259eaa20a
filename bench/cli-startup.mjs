#!/usr/bin/env node
// Cold start of the ao-* commands against a bare `node -e 0`.
//
//   node bench/cli-startup.mjs [--runs N] [--no-live]
//
// Measures, N times each and interleaved (so machine noise hits every case alike):
//   - `node -e 0`                              the floor: Node itself
//   - `ao-status --help`                       sade and the shared lib, no SDK, no network
//   - `ao-list-sessions --json` (live)         the SDK and one HTTP request to a real Agent Runtime,
//                                              which this script starts on a free port (empty store)
//   - `ao-status x` (live, not_existent)       the same with a 404
// and prints the median and p90 of each, and each median's ratio to `node -e 0`'s.
// Needs the build: `npm run build`. Writes bench/results/cli-startup.json.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 30;
const live = !args.includes('--no-live');
const bin = (name) => join(root, 'dist', 'bin', `${name}.js`);

if (!existsSync(bin('ao-status'))) {
  console.error('dist/bin/ao-status.js is missing: run `npm run build` first');
  process.exit(1);
}

/** Starts the Agent Runtime alone (no agents will run) and resolves with its URL. */
async function startRuntime(dataDir) {
  const child = spawn(process.execPath, [bin('aof'), 'runtime'], {
    env: {
      ...process.env,
      AGENT_ORCHESTRATOR_SESSION_API_URL: 'http://127.0.0.1:0',
      AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const match = /Agent Runtime listening on (\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the runtime exited with ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

function time(argv, env) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited with ${result.status}: ${result.stderr}`);
  return ms;
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

const dataDir = mkdtempSync(join(tmpdir(), 'aof-bench-'));
const runtime = live ? await startRuntime(dataDir) : undefined;
// The commands find the runtime's token in its data dir, as a person's would.
const env = {
  ...process.env,
  AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
  ...(runtime ? { AGENT_ORCHESTRATOR_SESSION_API_URL: runtime.url } : {}),
};
delete env.AGENT_ORCHESTRATOR_API_TOKEN;

const cases = [
  { name: 'node -e 0', argv: ['-e', '0'] },
  { name: 'ao-status --help', argv: [bin('ao-status'), '--help'] },
  ...(live
    ? [
        { name: 'ao-list-sessions --json (live)', argv: [bin('ao-list-sessions'), '--json'] },
        { name: 'ao-status x (live, 404)', argv: [bin('ao-status'), 'x'] },
      ]
    : []),
];

try {
  for (const c of cases) time(c.argv, env); // warm the file cache
  const samples = new Map(cases.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) for (const c of cases) samples.get(c.name).push(time(c.argv, env));

  const base = percentile(samples.get('node -e 0'), 50);
  const rows = cases.map((c) => {
    const values = samples.get(c.name);
    const median = percentile(values, 50);
    return {
      case: c.name,
      median_ms: +median.toFixed(1),
      p90_ms: +percentile(values, 90).toFixed(1),
      ratio: +(median / base).toFixed(2),
    };
  });
  console.log(`cold start, ${runs} runs each, interleaved (node ${process.version}, ${process.platform})`);
  console.log(`${'case'.padEnd(34)}${'median'.padStart(10)}${'p90'.padStart(10)}${'ratio'.padStart(8)}`);
  for (const r of rows)
    console.log(
      `${r.case.padEnd(34)}${`${r.median_ms} ms`.padStart(10)}${`${r.p90_ms} ms`.padStart(10)}${`${r.ratio}x`.padStart(8)}`,
    );
  const goal = rows.filter((r) => r.case !== 'node -e 0').every((r) => r.ratio <= 1.5);
  console.log(
    goal ? 'goal met: every command within 1.5x of node -e 0' : 'goal missed: some command above 1.5x of node -e 0',
  );
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(root, 'bench', 'results', 'cli-startup.json'),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, runs, rows }, null, 2)}\n`,
  );
} finally {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
