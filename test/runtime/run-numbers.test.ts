// Numbers a user can trust: a run is `running` (with its `started_at`) from the moment its process
// exists, and a run that ends without a result line still counts the tokens it was billed for.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Orchestrator } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { fakeAgentBin } from '../support/claude-env.js';
import { agentPid, eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

const STARTUP_MS = 2500;

describe('runtime: running from the spawn of the process', function () {
  this.timeout(60_000);
  let stack: TestStack;
  before(async () => {
    // The agent as a slow starter: its first stream line comes STARTUP_MS after the spawn (the fake agent:
    // what is tested is the runtime's clock). The usage tests below use the real CLI: what they count is
    // what the CLI writes in its assistant lines before a response ends.
    stack = await TestStack.start({ agent: 'fake' });
    const slowClaude = join(stack.root, 'slow-claude');
    writeFileSync(slowClaude, `#!/bin/sh\nsleep ${STARTUP_MS / 1000}\nexec '${fakeAgentBin}' "$@"\n`);
    chmodSync(slowClaude, 0o755);
    stack.options.executorOptions = { claudeBin: slowClaude };
    await stack.restartRuntime();
  });
  after(async () => stack?.close());

  it('ao-status says running while Claude Code starts, and started_at is the spawn', async () => {
    const ao = stack.client();
    await ao.sessions.create({ name: 'starting', prompt: 'hi' });
    const pidFile = join(stack.dataDir, 'runs', 'starting', '1', 'pid');
    await eventually('the agent process', () => existsSync(pidFile));
    // Well within the start-up: the state is stored right after the pid file is written.
    await eventually(
      'the state to change',
      async () => (await ao.sessions.status('starting')).state === 'running',
      1000,
    );
    const status = await runBin('ao-status', ['starting'], { env: stack.clientEnv });
    assert.equal(status.stdout.trim(), 'running');
    // Claude Code has not said a word yet: the state comes from the process, not from its output.
    assert.deepEqual((await ao.sessions.listEvents('starting')).events, []);
    const run = (await ao.sessions.get('starting')).runs[0]!;
    assert.ok(run.started_at, 'started_at is set at the spawn');

    assert.equal((await ao.sessions.waitForResult('starting', { timeoutMs: 30_000 })).state, 'finished');
    const [first] = (await ao.sessions.listEvents('starting')).events;
    assert.equal(first!.type, 'session_start');
    const startedAt = Date.parse(run.started_at!);
    assert.ok(
      Date.parse(first!.at) - startedAt >= STARTUP_MS - 200,
      `started ${run.started_at}, first line ${first!.at}`,
    );
    assert.ok(startedAt >= Date.parse(run.queued_at));
  });
});

describe('runtime: usage of runs that end without a result', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let ao: Orchestrator;
  before(async () => {
    stack = await TestStack.start();
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('a run stopped mid-way counts the tokens of the model responses it got, each once', async () => {
    // Turn 1: text and a tool call (two assistant lines, one response); turn 2: the same; turn 3 hangs.
    stack.fake.respond((req) =>
      req.index < 2
        ? { text: `step ${req.index}`, toolUse: { name: 'Bash', input: { command: `echo step-${req.index}` } } }
        : { text: 'too late', delayMs: 60_000 },
    );
    await ao.sessions.create({ name: 'long', prompt: 'work for a long time' });
    await eventually('the third model request', () => stack.fake.requests.length >= 3);
    await eventually(
      'both responses in the events',
      async () => (await ao.sessions.listEvents('long')).events.filter((e) => e.type === 'pre_tool').length === 2,
    );
    const stopped = await ao.sessions.stop('long');
    assert.equal(stopped.state, 'stopped');
    const run = stopped.runs[0]!;
    assert.equal(stack.fake.billed.length, 2);
    const [one, two] = stack.fake.billed;
    // Input tokens exactly as the model reported them; output tokens as far as Claude Code wrote
    // them before the response's end (at least 1 per response, at most what the model billed).
    assert.ok(run.usage, 'usage is counted');
    assert.equal(run.usage.input_tokens, one!.input_tokens + two!.input_tokens);
    assert.ok(
      run.usage.output_tokens >= 2 && run.usage.output_tokens <= one!.output_tokens + two!.output_tokens,
      JSON.stringify(run.usage),
    );
    assert.equal(run.cost_usd, null, 'Claude Code reports cost only in its result line');
    const session = await ao.sessions.get('long');
    assert.equal(session.totals.usage.input_tokens, run.usage.input_tokens);
    const stop = (await ao.sessions.listEvents('long')).events.at(-1)!;
    assert.equal(stop.type, 'session_stop');
    assert.deepEqual((stop.data as { usage: unknown }).usage, run.usage);
  });

  it("a finished run keeps the result line's totals", async () => {
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    await ao.sessions.create({ name: 'short', prompt: 'hi' });
    await ao.sessions.waitForResult('short', { timeoutMs: 30_000 });
    const run = (await ao.sessions.get('short')).runs[0]!;
    const billed = stack.fake.billed.at(-1)!;
    // The result counts the final output tokens, which the assistant lines do not have.
    assert.equal(run.usage?.input_tokens, billed.input_tokens);
    assert.equal(run.usage?.output_tokens, billed.output_tokens);
    assert.ok((run.cost_usd ?? 0) > 0);
    const stop = (await ao.sessions.listEvents('short')).events.at(-1)!;
    assert.equal((stop.data as { usage?: unknown }).usage, undefined);
  });
});

describe('runtime: usage of a run lost while the runtime was down', function () {
  this.timeout(90_000);
  let stack: TestStack;
  before(async () => {
    stack = await TestStack.start({ runtimeProcess: true });
  });
  after(async () => stack?.close());

  it('counts what the stream shows the agent was billed for before it died', async () => {
    stack.fake.respond((req) =>
      req.index === 0
        ? { toolUse: { name: 'Bash', input: { command: 'echo one' } } }
        : { text: 'never sent', delayMs: 60_000 },
    );
    let ao = stack.client();
    await ao.sessions.create({ name: 'lost', prompt: 'go' });
    await eventually('the second model request', () => stack.fake.requests.length >= 2);
    await stack.killRuntime();
    process.kill(-agentPid(stack.dataDir, 'lost'), 'SIGKILL');
    await stack.startRuntime();
    ao = stack.client();
    const result = await ao.sessions.waitForResult('lost', { timeoutMs: 20_000 });
    assert.equal(result.state, 'failed');
    assert.match(result.error ?? '', /runtime restarted/);
    const run = (await ao.sessions.get('lost')).runs[0]!;
    assert.equal(run.usage?.input_tokens, stack.fake.billed[0]!.input_tokens);
    assert.ok((run.usage?.output_tokens ?? 0) >= 1);
  });
});
