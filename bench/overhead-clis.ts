// aof's overhead over each bare agent CLI (Claude Code, Codex, Gemini, OpenCode) on the same fake model.
//
//   node --import tsx bench/overhead-clis.ts [--seq 5] [--batches 2] [--size 4] [--clis claude,codex,gemini,opencode]
//
// One TestStack (registry + runtime with its local executor, maxConcurrent 8) that runs all four
// pinned CLIs against the fake model, which answers "ok" at once. For each CLI, three sides run the
// same prompt with the same command line (the one aof's adapter builds), binary, config and fake:
//   bare     the CLI started detached (setsid, like the executor's agents), prompt on stdin; first
//            event = the first line its normaliser turns into an event, result = its result event
//            (OpenCode prints none: its exit), end = its exit
//   api      POST /sessions (blueprint `on-CLI`), then the session's SSE event stream: first event =
//            `session_start` arriving, result = `result` arriving, end = `session_stop` arriving
//   ao-new   `ao-new NAME --agent on-CLI -p PROMPT --quiet` as a process until it exits with the
//            answer on stdout (it shows no event for a plain answer: end only)
// Sequential: `--seq` rounds per CLI, the three sides one after the other in a rotating order. Then
// `--batches` rounds per CLI of `--size` runs at once of one side, the sides rotating. Reports the
// medians per CLI and side (ms from the start) and the overhead over bare (side - bare).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Orchestrator } from '../sdk/index.js';
import { adapterFor, writeCliFiles } from '../servers/executor/clis/index.js';
import type { CliName, CliRun } from '../servers/executor/clis/types.js';
import { claudeBin, repoRoot, TEST_MODEL } from '../test/support/claude-env.js';
import { cliBins, cliModels, cliTestEnv, type OtherCli } from '../test/support/cli-env.js';
import { TestStack } from '../test/support/stack.js';
import { option } from './lib/options.js';
import { median } from './lib/stats.js';

const SEQ = Number(option('seq', '5'));
const BATCHES = Number(option('batches', '2'));
const SIZE = Number(option('size', '4'));
const CLIS = option('clis', 'claude,codex,gemini,opencode').split(',') as CliName[];
const PROMPT = 'Reply with ok.';
const ANSWER = 'ok';
const SIDES = ['bare', 'api', 'ao-new'] as const;
type Side = (typeof SIDES)[number];

/** Milliseconds from the start of one run to its first event, its result and its end (NaN: not seen). */
interface Times {
  first: number;
  result: number;
  end: number;
}

const now = () => performance.now();
const models: Record<CliName, string> = { claude: TEST_MODEL, ...cliModels };

let stack: TestStack;
let ao: Orchestrator;
let env: Record<string, string>;
let counter = 0;

async function bare(cli: CliName): Promise<Times> {
  const adapter = adapterFor(cli);
  const dir = join(stack.root, 'bare', String(++counter));
  await mkdir(dir, { recursive: true });
  const run: CliRun = {
    prompt: PROMPT,
    project_dir: stack.projectDir,
    // aof names the conversations of Claude Code and Gemini; Codex and OpenCode name their own.
    conversation: { id: cli === 'claude' || cli === 'gemini' ? randomUUID() : null, started: false, fork_of: null },
    agent: {
      system_prompt: null,
      model: models[cli],
      permission_mode: null,
      allowed_tools: [],
      disallowed_tools: [],
      mcp_servers: {},
    },
    approval: false,
    output_schema: null,
  };
  const command = await adapter.command(run, {
    defaultPermissionMode: 'bypassPermissions',
    runDir: dir,
    sessionDir: join(dir, 'session'),
    env,
  });
  await writeCliFiles(command.files);
  const bin = cli === 'claude' ? claudeBin : cliBins[cli as OtherCli];
  const normaliser = adapter.normaliser(run, { priorUsage: command.priorUsage ?? null });
  const start = now();
  const child = spawn(bin, command.args, {
    cwd: stack.projectDir,
    env: { ...env, ...command.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin.end(PROMPT);
  const times: Times = { first: NaN, result: NaN, end: NaN };
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const events = normaliser.parse(line);
    if (events.length && Number.isNaN(times.first)) times.first = now() - start;
    if (events.some((e) => e.type === 'result')) times.result = now() - start;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  times.end = now() - start;
  normaliser.end({ code, signal: null });
  if (Number.isNaN(times.result)) times.result = times.end;
  if (code !== 0 || normaliser.result?.text !== ANSWER)
    throw new Error(`bare ${cli}: exit ${code}, ${JSON.stringify(normaliser.result)}, ${stderr.slice(-400)}`);
  return times;
}

async function api(cli: CliName): Promise<Times> {
  const name = `api-${cli}-${++counter}`;
  const start = now();
  await ao.sessions.create({ name, agent: `on-${cli}`, prompt: PROMPT });
  const times: Times = { first: NaN, result: NaN, end: NaN };
  for await (const event of ao.sessions.events(name)) {
    if (Number.isNaN(times.first)) times.first = now() - start;
    if (event.type === 'result') {
      times.result = now() - start;
      if (event.data.text !== ANSWER) throw new Error(`api ${cli}: ${JSON.stringify(event.data)}`);
    }
    if (event.type === 'session_stop') break;
  }
  times.end = now() - start;
  return times;
}

async function aoNew(cli: CliName): Promise<Times> {
  const name = `new-${cli}-${++counter}`;
  const start = now();
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist/bin/ao-new.js'), name, '--agent', `on-${cli}`, '-p', PROMPT, '--quiet'],
    { cwd: stack.projectDir, env: stack.clientEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const end = now() - start;
  if (code !== 0 || stdout.trim() !== ANSWER) throw new Error(`ao-new ${cli}: exit ${code}, ${stdout} ${stderr}`);
  return { first: NaN, result: end, end };
}

const RUN: Record<Side, (cli: CliName) => Promise<Times>> = { bare, api, 'ao-new': aoNew };

/** Per CLI, per size, per side: the times of each run. */
const results = new Map<string, Times[]>();
const keep = (cli: CliName, size: string, side: Side, times: Times[]) => {
  const key = `${cli}|${size}|${side}`;
  results.set(key, [...(results.get(key) ?? []), ...times]);
};

async function main() {
  stack = await TestStack.start({ executorOptions: { maxConcurrent: 8 } });
  const home = join(stack.root, 'cli-home');
  env = { ...stack.agentEnv };
  for (const cli of ['codex', 'gemini', 'opencode'] as const)
    env = { ...env, ...(await cliTestEnv(cli, stack.fake.url, home)) };
  await stack.restartRuntimeWith({
    env,
    maxConcurrent: 8,
    cliBins: { codex: cliBins.codex, gemini: cliBins.gemini, opencode: cliBins.opencode },
  });
  ao = stack.client();
  stack.fake.respond(() => ({ text: ANSWER }));
  for (const cli of CLIS)
    await ao.agents.create({ name: `on-${cli}`, description: `bench on ${cli}`, cli, model: models[cli] });
  try {
    for (const cli of CLIS) {
      // A warm-up run of each side (the first start of a CLI reads its files from disk).
      for (const side of SIDES) await RUN[side](cli);
      for (let round = 0; round < SEQ; round++) {
        for (let i = 0; i < SIDES.length; i++) {
          const side = SIDES[(round + i) % SIDES.length]!;
          keep(cli, 'seq', side, [await RUN[side](cli)]);
        }
      }
      for (let round = 0; round < BATCHES; round++) {
        for (let i = 0; i < SIDES.length; i++) {
          const side = SIDES[(round + i) % SIDES.length]!;
          const batch = await Promise.all(Array.from({ length: SIZE }, () => RUN[side](cli)));
          keep(cli, `${SIZE} at once`, side, batch);
        }
      }
      process.stderr.write(`${cli} done\n`);
    }
  } finally {
    await stack.close();
  }
  report();
}

function report() {
  const seen = (value: number | undefined): value is number => Number.isFinite(value);
  const ms = (value: number | undefined) => (seen(value) ? `${Math.round(value)}` : '–');
  const plus = (value: number | undefined, base: number | undefined) =>
    seen(value) && seen(base) ? `${value >= base ? '+' : ''}${Math.round(value - base)}` : '–';
  const lines = [
    `Medians in ms from the start of a run (${SEQ} sequential rounds; ${BATCHES} rounds of ${SIZE} at once per side), overhead over bare in brackets.`,
    '',
    '| CLI | runs | bare first event | bare result | POST /sessions first event | POST /sessions result | ao-new result |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const cli of CLIS) {
    for (const size of ['seq', `${SIZE} at once`]) {
      const of = (side: Side, field: keyof Times): number | undefined => {
        const values = (results.get(`${cli}|${size}|${side}`) ?? []).map((t) => t[field]).filter(Number.isFinite);
        return values.length ? median(values) : undefined;
      };
      const [bareFirst, bareResult] = [of('bare', 'first'), of('bare', 'result')];
      const [apiFirst, apiResult, newResult] = [of('api', 'first'), of('api', 'result'), of('ao-new', 'result')];
      lines.push(
        `| ${cli} | ${size === 'seq' ? 'one at a time' : size} | ${ms(bareFirst)} | ${ms(bareResult)} | ${ms(apiFirst)} (${plus(apiFirst, bareFirst)}) | ${ms(apiResult)} (${plus(apiResult, bareResult)}) | ${ms(newResult)} (${plus(newResult, bareResult)}) |`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
