// Warm Claude Code processes: how soon a session answers when its run takes a process started
// ahead, next to a cold run through the runtime and a bare cold `claude -p`, in one run.
//
//   node --import tsx bench/warm.ts [--seq 5] [--batches 2] [--resumes 5] [--fanouts 2]
//
// One TestStack (real registry + runtime, the pinned CLI, the fake model answering "ok" at once).
// Two blueprints differ only in one letter of their system prompt (so their pool keys differ):
// `warmbp` keeps 8 processes warm and one for a follow-up for 300 s, `coldbp` none. Sides:
//   warm     POST /sessions (agent warmbp), once the pool has a process ready for it
//   cold     POST /sessions (agent coldbp)
//   bare     claude -p --output-format stream-json --verbose --model M --session-id U
//            --permission-mode bypassPermissions --append-system-prompt P, prompt on stdin
//   ao-new   the `ao-new NAME --agent warmbp|coldbp -p PROMPT` process (it waits for the result)
// Times, from the client's start (the POST, the spawn of ao-new or of claude): to the first assistant
// message (its event's `at` in the runtime; the stdout line for bare) and to the result (the client
// has it; the `result` line for bare). Sequential rounds interleave the sides; then batches of 8 at
// once per side; then resumes (ao.sessions.resume of a finished session: warm within its follow-up
// window, cold without one); then fan-outs where a parent starts 4 children with --callback and is
// resumed by them, counting the pool's hits and misses over the fan-out.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Orchestrator } from '../sdk/index.js';
import { claudeBin, repoRoot, TEST_MODEL } from '../test/support/claude-env.js';
import type { FakeRequest } from '../test/support/fake-model.js';
import { TestStack } from '../test/support/stack.js';
import { median, quantile } from './lib/stats.js';
import { option } from './lib/options.js';

const SEQ = Number(option('seq', '5'));
const BATCHES = Number(option('batches', '2'));
const RESUMES = Number(option('resumes', '5'));
const FANOUTS = Number(option('fanouts', '2'));
const PROMPT = 'Reply with ok.';
const ANSWER = 'ok';
const WARM_PROMPT = 'Be brief. (w)';
const COLD_PROMPT = 'Be brief. (c)';

const now = () => performance.timeOrigin + performance.now();

interface Timing {
  first: number;
  result: number;
}

type Side = 'warm' | 'cold' | 'bare' | 'ao-new warm' | 'ao-new cold' | 'resume warm' | 'resume cold';

let counter = 0;
const fresh = (prefix: string) => `${prefix}-${++counter}`;

async function firstAssistantAt(ao: Orchestrator, name: string, run: number): Promise<number> {
  const { events } = await ao.sessions.listEvents(name, { limit: 1000 });
  const event = events.find(
    (e) => e.run === run && e.type === 'message' && (e.data as { role?: string }).role === 'assistant',
  );
  if (!event) throw new Error(`${name}: no assistant message in run ${run}`);
  return Date.parse(event.at);
}

async function sessionRun(ao: Orchestrator, agent: string): Promise<Timing> {
  const name = fresh(agent);
  const start = now();
  await ao.sessions.create({ name, agent, prompt: PROMPT, parent: null });
  const result = await ao.sessions.waitForResult(name, { timeoutMs: 180_000 });
  const end = now();
  if (result.state !== 'finished' || result.result !== ANSWER) throw new Error(`${name}: ${JSON.stringify(result)}`);
  return { first: (await firstAssistantAt(ao, name, 1)) - start, result: end - start };
}

async function resumeRun(ao: Orchestrator, name: string): Promise<Timing> {
  const run = (await ao.sessions.get(name)).runs.length + 1;
  const start = now();
  await ao.sessions.resume(name, { prompt: PROMPT });
  const result = await ao.sessions.waitForResult(name, { timeoutMs: 180_000 });
  const end = now();
  if (result.state !== 'finished' || result.run !== run) throw new Error(`${name}: ${JSON.stringify(result)}`);
  return { first: (await firstAssistantAt(ao, name, run)) - start, result: end - start };
}

function aoNewRun(stack: TestStack, ao: Orchestrator, agent: string): Promise<Timing> {
  const name = fresh(`aonew-${agent}`);
  const start = now();
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist', 'bin', 'ao-new.js'), name, '--agent', agent, '-p', PROMPT, '--no-parent', '--quiet'],
    // In the project dir, as the sessions of the other sides (ao-new works where it is run).
    { cwd: stack.projectDir, env: stack.clientEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      const end = now();
      if (code !== 0) return reject(new Error(`ao-new ${name}: exit ${code}: ${out}`));
      firstAssistantAt(ao, name, 1).then((first) => resolve({ first: first - start, result: end - start }), reject);
    });
  });
}

function bareRun(stack: TestStack): Promise<Timing> {
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--model', TEST_MODEL];
  args.push('--session-id', randomUUID(), '--permission-mode', 'bypassPermissions');
  args.push('--append-system-prompt', COLD_PROMPT);
  const start = now();
  // Detached like the executor's agents (a CPU group of its own under autogroup scheduling).
  const child = spawn(claudeBin, args, {
    cwd: stack.projectDir,
    env: stack.agentEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin.end(`${PROMPT}\n`);
  let first = Number.NaN;
  let result = Number.NaN;
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message: { type?: string };
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.type === 'assistant' && Number.isNaN(first)) first = now() - start;
    if (message.type === 'result') result = now() - start;
  });
  return new Promise((resolve, reject) => {
    child.once('close', (code) =>
      code === 0 && !Number.isNaN(result) ? resolve({ first, result }) : reject(new Error(`bare: exit ${code}`)),
    );
  });
}

/* ---------- the pool ---------- */

type PoolKey = NonNullable<Awaited<ReturnType<Orchestrator['runtimeInfo']>>['warm_pool']>[number];

async function poolKeys(ao: Orchestrator): Promise<PoolKey[]> {
  return (await ao.runtimeInfo()).warm_pool ?? [];
}

/** Waits until the pool holds `count` ready processes whose label says `what`. */
async function readyFor(ao: Orchestrator, what: (label: string) => boolean, count = 1): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const warm = (await poolKeys(ao)).filter((k) => what(k.label)).reduce((sum, k) => sum + k.warm, 0);
    if (warm >= count) return;
    if (Date.now() > deadline) throw new Error(`the pool never had ${count} ready`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const warmNew = (label: string) => label.startsWith('warmbp @') && !label.includes('(resume of');
const resumeOf = (name: string) => (label: string) => label.endsWith(`(resume of ${name})`);

async function totals(ao: Orchestrator): Promise<{ hits: number; misses: number }> {
  const keys = await poolKeys(ao);
  return keys.reduce((sum, k) => ({ hits: sum.hits + k.hits, misses: sum.misses + k.misses }), { hits: 0, misses: 0 });
}

/* ---------- report ---------- */

const samples = new Map<string, Timing[]>();
function note(phase: string, side: Side, timing: Timing): void {
  const key = `${phase}|${side}`;
  samples.set(key, [...(samples.get(key) ?? []), timing]);
}

function table(phase: string, sides: Side[], reference: Side): void {
  const ref = samples.get(`${phase}|${reference}`) ?? [];
  const refFirst = ref.length ? median(ref.map((t) => t.first)) : Number.NaN;
  const refResult = ref.length ? median(ref.map((t) => t.result)) : Number.NaN;
  console.log(`\n${phase} (n per side; ms, median [p90]; ratio to ${reference})`);
  console.log('| side | n | first assistant | result | first / ref | result / ref |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const side of sides) {
    const values = samples.get(`${phase}|${side}`) ?? [];
    if (!values.length) continue;
    const first = values.map((t) => t.first);
    const result = values.map((t) => t.result);
    const cell = (v: number[]) => `${median(v).toFixed(0)} [${quantile(v, 0.9).toFixed(0)}]`;
    console.log(
      `| ${side} | ${values.length} | ${cell(first)} | ${cell(result)} | ${(median(first) / refFirst).toFixed(2)} | ${(median(result) / refResult).toFixed(2)} |`,
    );
  }
}

/* ---------- the phases ---------- */

async function main(): Promise<void> {
  const stack = await TestStack.start({
    executorOptions: { maxConcurrent: 16, warm: { all: false, max: 12, idleTtlSeconds: 600 } },
  });
  try {
    const ao = stack.client();
    const firstPrompt = (req: FakeRequest): string => {
      const first = req.body.messages.find((m) => m.role === 'user');
      const blocks =
        typeof first?.content === 'string' ? [{ type: 'text', text: first.content }] : (first?.content ?? []);
      const text = blocks.findLast(
        (b) => b.type === 'text' && !(b.text ?? '').trimStart().startsWith('<system-reminder>'),
      );
      return (text?.text ?? '').trim();
    };
    const aoNew = join(repoRoot, 'bin', 'ao-new');
    const children: string[] = [];
    stack.fake.respond((req) => {
      // The lead's first turn starts its children; every later turn (the tool's result, the callback) answers.
      if (firstPrompt(req) === 'fan out' && !req.body.messages.some((m) => m.role === 'assistant')) {
        const names = [1, 2, 3, 4].map(() => fresh('child'));
        children.push(...names);
        const command = names
          .map((name) => `${aoNew} ${name} --agent warmbp -p "${PROMPT}" --async --callback`)
          .join(' && ');
        return { toolUse: { name: 'Bash', input: { command, description: 'start four children' } } };
      }
      return { text: ANSWER };
    });
    await ao.agents.create({
      name: 'warmbp',
      description: 'kept warm',
      system_prompt: WARM_PROMPT,
      model: TEST_MODEL,
      permission_mode: 'bypassPermissions',
      warm: 8,
      warm_after_run: 300,
    });
    await ao.agents.create({
      name: 'coldbp',
      description: 'started cold',
      system_prompt: COLD_PROMPT,
      model: TEST_MODEL,
      permission_mode: 'bypassPermissions',
    });
    // Warm-up: each side once (the first run of warmbp also tells the pool its project dir).
    await sessionRun(ao, 'warmbp');
    await sessionRun(ao, 'coldbp');
    await bareRun(stack);

    console.log(
      `warm start: ${SEQ} sequential rounds, ${BATCHES} batches of 8, ${RESUMES} resumes, ${FANOUTS} fan-outs`,
    );
    for (let round = 0; round < SEQ; round++) {
      const order: Array<() => Promise<void>> = [
        async () => {
          await readyFor(ao, warmNew);
          note('sequential', 'warm', await sessionRun(ao, 'warmbp'));
        },
        async () => note('sequential', 'cold', await sessionRun(ao, 'coldbp')),
        async () => note('sequential', 'bare', await bareRun(stack)),
        async () => {
          await readyFor(ao, warmNew);
          note('sequential', 'ao-new warm', await aoNewRun(stack, ao, 'warmbp'));
        },
        async () => note('sequential', 'ao-new cold', await aoNewRun(stack, ao, 'coldbp')),
      ];
      for (const step of round % 2 ? order.reverse() : order) await step();
    }
    table('sequential', ['warm', 'cold', 'bare', 'ao-new warm', 'ao-new cold'], 'bare');

    for (let batch = 0; batch < BATCHES; batch++) {
      await readyFor(ao, warmNew, 8);
      const all = async (side: Side, run: () => Promise<Timing>) => {
        for (const timing of await Promise.all(Array.from({ length: 8 }, run))) note('8 at once', side, timing);
      };
      await all('warm', () => sessionRun(ao, 'warmbp'));
      await all('cold', () => sessionRun(ao, 'coldbp'));
      await all('bare', () => bareRun(stack));
    }
    table('8 at once', ['warm', 'cold', 'bare'], 'bare');

    for (let i = 0; i < RESUMES; i++) {
      const warmName = fresh('resumable');
      await ao.sessions.create({ name: warmName, agent: 'warmbp', prompt: PROMPT, parent: null });
      await ao.sessions.waitForResult(warmName, { timeoutMs: 180_000 });
      const coldName = fresh('resumable');
      await ao.sessions.create({ name: coldName, agent: 'coldbp', prompt: PROMPT, parent: null });
      await ao.sessions.waitForResult(coldName, { timeoutMs: 180_000 });
      await readyFor(ao, resumeOf(warmName));
      note('resume', 'resume warm', await resumeRun(ao, warmName));
      note('resume', 'resume cold', await resumeRun(ao, coldName));
    }
    table('resume', ['resume warm', 'resume cold'], 'resume cold');

    console.log('\nfan-out: a warmbp parent starts 4 warmbp children with --callback and is resumed by them');
    for (let i = 0; i < FANOUTS; i++) {
      await readyFor(ao, warmNew, 5);
      const before = await totals(ao);
      const lead = fresh('lead');
      const start = now();
      await ao.sessions.create({ name: lead, agent: 'warmbp', prompt: 'fan out', parent: null });
      children.length = 0;
      for (;;) {
        const session = await ao.sessions.get(lead);
        const last = session.runs.at(-1)!;
        const ended = async (name: string) => !['queued', 'running'].includes((await ao.sessions.status(name)).state);
        if (session.runs.length >= 2 && (await ended(lead)) && children.length === 4) {
          if ((await Promise.all(children.map(ended))).every(Boolean)) break;
        }
        if (last.state === 'failed') throw new Error(`${lead}: ${last.error}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const after = await totals(ao);
      const [hits, misses] = [after.hits - before.hits, after.misses - before.misses];
      const runs = (await ao.sessions.get(lead)).runs.length;
      console.log(
        `  fan-out ${i + 1}: ${((now() - start) / 1000).toFixed(1)} s, parent runs ${runs}, hits ${hits}, misses ${misses}, hit rate ${(hits / (hits + misses)).toFixed(2)}`,
      );
    }
    console.log('\npool at the end:');
    for (const k of await poolKeys(ao))
      console.log(`  ${k.label}: warm ${k.warm}, taken ${k.taken}, hits ${k.hits}, misses ${k.misses}`);
  } finally {
    await stack.close();
  }
}

await main();
