// Warm Claude Code processes (servers/executor/warm-*.ts). With the real pinned CLI against the fake
// model: a run that takes one ends as a cold one does; a follow-up resume takes the one kept warm for
// it and continues its conversation. With the fake agent (test/support/fake-agent.mjs, which speaks the
// same stream-json input protocol: the pool's bookkeeping is the point there, not the CLI): a process
// that opens another conversation is not used; a warm agent's children record it as their parent; no
// warm process outlives the runtime, even one killed with SIGKILL; a blueprint's `warm` count; the
// memory cap.
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Orchestrator } from '../../sdk/index.js';
import type { SessionEvent } from '../../sdk/types.js';
import { fakeAgentBin, repoRoot } from '../support/claude-env.js';
import type { FakeRequest } from '../support/fake-model.js';
import { eventually, groupMembers } from '../support/processes.js';
import { TestStack } from '../support/stack.js';
import { runBin } from '../bin/run-bin.js';

const aoNew = join(repoRoot, 'bin', 'ao-new');
const WARM_ALL = { all: true, max: 4, idleTtlSeconds: 300 };

type PoolKey = { key: string; label: string; warm: number; taken: number; hits: number; misses: number };

async function pool(ao: Orchestrator): Promise<PoolKey[]> {
  return (await ao.runtimeInfo()).warm_pool ?? [];
}

/** The key of the pool whose label says `what`, once it has a warm process. */
async function warmFor(ao: Orchestrator, what: (label: string) => boolean): Promise<PoolKey> {
  return eventually('a warm process', async () => (await pool(ao)).find((k) => what(k.label) && k.warm > 0), 60_000);
}

async function allEvents(ao: Orchestrator, name: string): Promise<SessionEvent[]> {
  return (await ao.sessions.listEvents(name, { limit: 1000 })).events as SessionEvent[];
}

/** The events as a cold and a warm run can be compared: what differs between any two runs left out. */
function comparable(events: SessionEvent[]) {
  return events.map((e) => {
    const data = { ...(e.data as Record<string, unknown>) };
    for (const varying of ['claude_session_id', 'duration_ms', 'duration_api_ms', 'total_cost_usd', 'usage'])
      delete data[varying];
    if (e.type === 'session_stop') delete data.usage;
    return { type: e.type, seq: e.seq, data: Object.keys(data).sort() };
  });
}

/** The key of new sessions without a blueprint (not a follow-up's). */
const newSessions = (label: string) => label.startsWith('(no blueprint) @') && !label.includes('(resume of');

/** The prompt of the conversation's first user message (the last text block that is not a reminder). */
function firstPrompt(req: FakeRequest): string {
  const first = req.body.messages.find((m) => m.role === 'user');
  const blocks = typeof first?.content === 'string' ? [{ type: 'text', text: first.content }] : (first?.content ?? []);
  const prompt = blocks.findLast(
    (b) => b.type === 'text' && !(b.text ?? '').trimStart().startsWith('<system-reminder>'),
  );
  return (prompt?.text ?? '').trim();
}

describe('runtime: warm Claude Code processes', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ executorOptions: { maxConcurrent: 2, warm: WARM_ALL } });
    ao = stack.client();
  });
  after(async () => stack?.close());
  afterEach(async () => {
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
  });

  it('runs a session on a warm process: the same events, usage, files and exit as a cold run', async () => {
    await ao.sessions.create({ name: 'cold-one', prompt: 'say hello' });
    await ao.sessions.waitForResult('cold-one', { timeoutMs: 30_000 });
    const key = await warmFor(ao, newSessions);
    assert.equal(key.misses, 1);
    assert.equal(key.hits, 0);

    await ao.sessions.create({ name: 'warm-one', prompt: 'say hello' });
    const result = await ao.sessions.waitForResult('warm-one', { timeoutMs: 30_000 });
    assert.deepEqual(result, {
      name: 'warm-one',
      run: 1,
      state: 'finished',
      result: 'ECHO: say hello',
      error: null,
      is_error: false,
    });
    const after = (await pool(ao)).find((k) => k.key === key.key)!;
    assert.equal(after.hits, 1, 'the second session took the warm process');

    const [cold, warm] = [await ao.sessions.get('cold-one'), await ao.sessions.get('warm-one')];
    const [coldEvents, warmEvents] = [await allEvents(ao, 'cold-one'), await allEvents(ao, 'warm-one')];
    assert.deepEqual(comparable(warmEvents), comparable(coldEvents));
    // The conversation is the one the warm process opened, and the session records it.
    const start = warmEvents[0]!.data as { claude_session_id: string; cwd: string };
    assert.equal(start.claude_session_id, warm.claude_session_id);
    assert.notEqual(warm.claude_session_id, cold.claude_session_id);
    assert.equal(start.cwd, stack.projectDir);
    assert.deepEqual(warmEvents[1]!.data, { role: 'user', text: 'say hello' });
    const [coldRun, warmRun] = [cold.runs[0]!, warm.runs[0]!];
    assert.equal(warmRun.exit_code, 0);
    assert.equal(warmRun.num_turns, coldRun.num_turns);
    assert.deepEqual(warmRun.usage, coldRun.usage);
    // The run's own files, as a cold run's: its output from the init line on, its exit code.
    const dir = join(stack.dataDir, 'runs', 'warm-one', '1');
    const stream = readFileSync(join(dir, 'stream.jsonl'), 'utf8').trim().split('\n');
    assert.equal(JSON.parse(stream[0]!).subtype, 'init');
    assert.equal(readFileSync(join(dir, 'exit-code'), 'utf8').trim(), '0');
    assert.ok(existsSync(join(dir, 'pid')));
  });

  it('keeps a follow-up warm: a resume within the window takes it and continues the conversation', async () => {
    await warmFor(ao, (label) => label.endsWith('(resume of warm-one)'));
    await ao.sessions.resume('warm-one', { prompt: 'which greeting?' });
    const result = await ao.sessions.waitForResult('warm-one', { timeoutMs: 30_000 });
    assert.equal(result.state, 'finished');
    assert.equal(result.result, 'ECHO: which greeting?');
    const resumed = (await pool(ao)).find((k) => k.label.endsWith('(resume of warm-one)'))!;
    assert.equal(resumed.hits, 1);
    // The model saw the earlier turn.
    const last = stack.fake.requests.at(-1)!;
    assert.match(JSON.stringify(last.messages), /say hello/);
    const session = await ao.sessions.get('warm-one');
    assert.equal(session.runs.length, 2);
    assert.equal((await allEvents(ao, 'warm-one')).filter((e) => e.type === 'session_start').length, 2);
  });
});

describe('runtime: warm processes, on the fake agent', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake', executorOptions: { maxConcurrent: 2, warm: WARM_ALL } });
    ao = stack.client();
  });
  after(async () => stack?.close());
  afterEach(async () => {
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
  });

  it("binds a warm agent's credential to its session: its child records it as parent and stays in its scope", async () => {
    // A run with these settings makes the pool keep one warm for them.
    await ao.sessions.create({ name: 'opener', prompt: 'open' });
    await ao.sessions.waitForResult('opener', { timeoutMs: 30_000 });
    await warmFor(ao, newSessions);
    stack.fake.respond((req) => {
      if (firstPrompt(req) === 'delegate') {
        if (req.toolResults.length) return { text: `delegated: ${req.toolResults[0]!.text}` };
        // It names a parent outside its scope: the runtime makes it its own child all the same.
        const command = `${aoNew} kid -p "small job" --async --parent opener && echo "ENV:$AGENT_ORCHESTRATOR_SESSION_NAME"`;
        return { toolUse: { name: 'Bash', input: { command, description: 'start a child' } } };
      }
      return { text: `ECHO: ${req.lastUserText}` };
    });
    const before = (await pool(ao)).find((k) => newSessions(k.label))!;
    const idle = warmPids(stack.dataDir);
    await ao.sessions.create({ name: 'lead', prompt: 'delegate' });
    const result = await ao.sessions.waitForResult('lead', { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    // The lead's agent is one that was warm before it existed (its child may take the next one).
    const leadPid = Number(readFileSync(join(stack.dataDir, 'runs', 'lead', '1', 'pid'), 'utf8').split(' ')[0]);
    assert.ok(idle.includes(leadPid), `the lead ran on a warm process (${leadPid}, warm: ${idle.join(', ')})`);
    const after = (await pool(ao)).find((k) => k.key === before.key)!;
    assert.ok(after.hits > before.hits, 'the pool counted the warm start');
    // Its environment was fixed before the session existed; its Bash tool's commands get the session's name all the same.
    assert.match(result.result ?? '', /^ENV:lead$/m);
    const kid = await ao.sessions.get('kid');
    assert.equal(kid.parent, 'lead');
    await ao.sessions.waitForResult('kid', { timeoutMs: 30_000 });
  });

  it('starts cold when a warm process opens another conversation than the one it was started for', async () => {
    // An agent that, when started warm, opens a conversation of its own choosing.
    const liar = join(stack.root, 'lying-claude.sh');
    await writeFile(
      liar,
      `#!/bin/sh\ncase " $* " in *" --input-format "*) exec node -e '
const args = process.argv.slice(1); const i = args.indexOf("--session-id");
if (i >= 0) args[i + 1] = require("node:crypto").randomUUID();
require("node:child_process").spawn(${JSON.stringify(fakeAgentBin)}, args, { stdio: "inherit" }).on("exit", (c) => process.exit(c ?? 1));
' -- "$@";; esac\nexec ${fakeAgentBin} "$@"\n`,
    );
    await chmod(liar, 0o755);
    const liarStack = await TestStack.start({ agent: 'fake', executorOptions: { claudeBin: liar, warm: WARM_ALL } });
    try {
      const client = liarStack.client();
      await client.sessions.create({ name: 'first', prompt: 'one' });
      await client.sessions.waitForResult('first', { timeoutMs: 30_000 });
      const key = await warmFor(client, newSessions);
      await client.sessions.create({ name: 'second', prompt: 'two' });
      const result = await client.sessions.waitForResult('second', { timeoutMs: 60_000 });
      assert.equal(result.state, 'finished', result.error ?? '');
      assert.equal(result.result, 'ECHO: two');
      const session = await client.sessions.get('second');
      const events = await allEvents(client, 'second');
      assert.deepEqual(
        events.map((e) => e.type),
        ['session_start', 'message', 'message', 'result', 'session_stop'],
      );
      assert.equal((events[0]!.data as { claude_session_id: string }).claude_session_id, session.claude_session_id);
      const after = (await pool(client)).find((k) => k.key === key.key)!;
      assert.equal(after.hits, 0);
      assert.equal(after.misses, 2);
    } finally {
      await liarStack.close();
    }
  });
});

/** The pids of the warm processes in the data dir (a pid file is there whole, or not at all). */
function warmPids(dataDir: string): number[] {
  const dir = join(dataDir, 'warm');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((id) => {
    let text: string;
    try {
      text = readFileSync(join(dir, id, 'pid'), 'utf8');
    } catch {
      return [];
    }
    const pid = Number(text.split(' ')[0]);
    assert.ok(Number.isInteger(pid) && pid > 0, `the pid file of warm process ${id} holds '${text}'`);
    return [pid];
  });
}

describe('runtime: warm processes across a crash of the runtime', function () {
  this.timeout(180_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start({
      agent: 'fake',
      runtimeProcess: true,
      runtimeEnv: { AGENT_ORCHESTRATOR_WARM_ALL: '1' },
    });
  });
  after(async () => stack?.close());

  it('re-adopts a running warm-started run; no idle warm process outlives a SIGKILL of the runtime or its stop', async () => {
    let ao = stack.client();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.fake.respond(async (req) => {
      if (req.lastUserText === 'hold on') await released;
      return { text: `ECHO: ${req.lastUserText}` };
    });
    await ao.sessions.create({ name: 'warmer', prompt: 'first' });
    await ao.sessions.waitForResult('warmer', { timeoutMs: 30_000 });
    const key = await warmFor(ao, newSessions);
    await ao.sessions.create({ name: 'held', prompt: 'hold on' });
    await eventually('the held request', () => stack.fake.requests.some((r) => JSON.stringify(r).includes('hold on')));
    assert.equal((await pool(ao)).find((k) => k.key === key.key)!.hits, 1);
    // The pool starts another for the key; wait for it, so the crash leaves an idle one behind.
    await warmFor(ao, newSessions);
    const heldPid = Number(readFileSync(join(stack.dataDir, 'runs', 'held', '1', 'pid'), 'utf8').split(' ')[0]);
    const idle = warmPids(stack.dataDir).filter((pid) => pid !== heldPid);
    assert.ok(idle.length > 0, 'an idle warm process');

    await stack.killRuntime();
    await stack.startRuntime();
    ao = stack.client();
    await eventually('the idle warm processes of the killed runtime to be gone', () =>
      idle.every((pid) => groupMembers(pid).length === 0),
    );
    assert.ok(groupMembers(heldPid).length > 0, 'the taken one runs on');
    release();
    const result = await ao.sessions.waitForResult('held', { timeoutMs: 30_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(result.result, 'ECHO: hold on');
    const events = await allEvents(ao, 'held');
    assert.deepEqual(
      events.map((e) => e.type),
      ['session_start', 'message', 'message', 'result', 'session_stop'],
    );
    assert.equal((await ao.sessions.get('held')).runs[0]!.exit_code, 0);
    await eventually('the process group of the ended run gone', () => groupMembers(heldPid).length === 0);

    // The restarted runtime warms the key again once used; its stop ends them all.
    await ao.sessions.create({ name: 'again', prompt: 'again' });
    await ao.sessions.waitForResult('again', { timeoutMs: 30_000 });
    await warmFor(ao, newSessions);
    const warm = warmPids(stack.dataDir);
    assert.ok(warm.length > 0);
    await stack.stopRuntime();
    await eventually('no warm process after the stop', () => warm.every((pid) => groupMembers(pid).length === 0));
    await stack.startRuntime();
  });
});

describe("runtime: a blueprint's warm processes", function () {
  this.timeout(180_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({
      agent: 'fake',
      executorOptions: { warm: { all: false, max: 4, idleTtlSeconds: 300 } },
    });
    ao = stack.client();
  });
  after(async () => stack?.close());

  const helper = (label: string) => label.startsWith('helper @') && !label.includes('(resume of');

  it('keeps `warm` processes for its next sessions and one for a follow-up; a changed blueprint ends them', async () => {
    const created = await runBin(
      'ao-create-agent',
      ['helper', '-d', 'answers quick questions', '-s', 'Answer briefly.', '--warm', '1', '--warm-after-run', '120'],
      { env: stack.clientEnv },
    );
    assert.equal(created.code, 0, created.stderr);
    const agent = await ao.agents.get('helper');
    assert.equal(agent.warm, 1);
    assert.equal(agent.warm_after_run, 120);
    // Sessions without the blueprint keep nothing warm.
    await ao.sessions.create({ name: 'plain', prompt: 'plain' });
    await ao.sessions.waitForResult('plain', { timeoutMs: 30_000 });
    assert.deepEqual(
      (await pool(ao)).map((k) => [k.warm, k.hits]),
      [[0, 0]],
    );

    await ao.sessions.create({ name: 'h1', agent: 'helper', prompt: 'one' });
    await ao.sessions.waitForResult('h1', { timeoutMs: 30_000 });
    const key = await warmFor(ao, helper);
    await ao.sessions.create({ name: 'h2', agent: 'helper', prompt: 'two' });
    assert.equal((await ao.sessions.waitForResult('h2', { timeoutMs: 30_000 })).result, 'ECHO: two');
    // Taken, then replenished.
    const after = await eventually('the pool replenished', async () => {
      const found = (await pool(ao)).find((k) => k.key === key.key);
      return found && found.warm === 1 && found.hits === 1 ? found : undefined;
    });
    assert.equal(after.misses, 1);

    // The follow-up of h2, within its window.
    await warmFor(ao, (label) => label.endsWith('(resume of h2)'));
    await ao.sessions.resume('h2', { prompt: 'and again' });
    assert.equal((await ao.sessions.waitForResult('h2', { timeoutMs: 30_000 })).result, 'ECHO: and again');
    assert.equal((await pool(ao)).find((k) => k.label.endsWith('(resume of h2)'))!.hits, 1);

    // A changed blueprint: its sessions do not take the old processes, which end.
    const updated = await runBin('ao-update-agent', ['helper', '--model', 'claude-opus-4-1'], { env: stack.clientEnv });
    assert.equal(updated.code, 0, updated.stderr);
    await ao.sessions.create({ name: 'h3', agent: 'helper', prompt: 'three' });
    await ao.sessions.waitForResult('h3', { timeoutMs: 30_000 });
    const keys = await eventually('the old key emptied and the new one warm', async () => {
      const all = await pool(ao);
      const old = all.find((k) => k.key === key.key)!;
      const fresh = all.find((k) => helper(k.label) && k.key !== key.key);
      return old.warm === 0 && fresh?.warm === 1 ? { old, fresh } : undefined;
    });
    assert.equal(keys.fresh.misses, 1);
    assert.equal(keys.old.hits, 1);
  });

  it('refuses a warm count out of range, naming the flag or the field', async () => {
    const cli = await runBin('ao-create-agent', ['greedy', '-d', 'x', '--warm', '17'], { env: stack.clientEnv });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /--warm must be a whole number from 0 to 16, not '17'/);
    const api = await fetch(`${stack.registry.url}/agents`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(stack.token ? { authorization: `Bearer ${stack.token}` } : {}),
      },
      body: JSON.stringify({ name: 'greedy', description: 'x', warm_after_run: -1 }),
    });
    assert.equal(api.status, 400);
    const problem = (await api.json()) as { errors?: Array<{ field: string }> };
    assert.ok(
      problem.errors?.some((e) => e.field === 'body.warm_after_run'),
      JSON.stringify(problem),
    );
  });
});

describe("runtime: the warm processes' memory cap", function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;
  const logged: string[] = [];

  before(async () => {
    const logger = {
      info: (message: string) => logged.push(message),
      warn: (message: string) => logged.push(message),
      error: (message: string) => logged.push(message),
    };
    // 1 MB: any warm agent (Claude Code, or the fake agent's Node) holds more once started.
    stack = await TestStack.start({
      agent: 'fake',
      logger,
      executorOptions: { warm: { all: false, max: 4, idleTtlSeconds: 300, maxMemoryMb: 1 } },
    });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('ends an idle warm process that goes over it, and starts none again that would not fit', async () => {
    await ao.agents.create({ name: 'big', description: 'warm, over the cap', warm: 1 });
    await ao.sessions.create({ name: 'b1', agent: 'big', prompt: 'one' });
    await ao.sessions.waitForResult('b1', { timeoutMs: 30_000 });
    // Started for the blueprint's next session as this one started, measured once initialised, ended.
    await eventually('the warm process over the cap ended', () =>
      logged.some((line) => /ended an idle warm Claude Code process \(big @ .* MB\): .* more than 1 MB/.test(line)),
    );
    await eventually('no warm process left', () => warmPids(stack.dataDir).length === 0);
    const key = (await pool(ao)).find((k) => k.label.startsWith('big @'))!;
    assert.equal(key.warm, 0);
    await ao.sessions.create({ name: 'b2', agent: 'big', prompt: 'two' });
    assert.equal((await ao.sessions.waitForResult('b2', { timeoutMs: 30_000 })).result, 'ECHO: two');
    const after = (await pool(ao)).find((k) => k.key === key.key)!;
    assert.deepEqual([after.hits, after.misses], [0, 2]);
    assert.deepEqual(warmPids(stack.dataDir), [], 'none started again');
  });
});
