// The runtime running the real Claude Code CLI against the fake model: from POST /sessions to a
// finished session with its result, events, usage and cost. The concurrency cap and deleting a running
// session are the runtime's own: they run on the fake agent.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Orchestrator } from '../../sdk/index.js';
import type { SessionEvent } from '../../sdk/types.js';
import { repoRoot } from '../support/claude-env.js';
import type { FakeRequest } from '../support/fake-model.js';
import { agentPid, eventually, groupMembers } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

const echoMcpServer = join(repoRoot, 'test/support/echo-mcp-server.mjs');

async function allEvents(ao: Orchestrator, name: string): Promise<SessionEvent[]> {
  return (await ao.sessions.listEvents(name, { limit: 1000 })).events as SessionEvent[];
}

describe('runtime: running Claude Code', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ executorOptions: { maxConcurrent: 2 } });
    ao = stack.client();
    await ao.agents.create({
      name: 'house-style',
      description: 'a house style only',
      system_prompt: 'HOUSE-STYLE-MARKER: answer in haiku.',
    });
    await ao.agents.create({
      name: 'tooler',
      description: 'has an echo MCP server',
      mcp_servers: { echo: { command: process.execPath, args: [echoMcpServer] } },
    });
  });
  after(async () => stack?.close());
  afterEach(async () => {
    await ao.sessions.clean();
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
  });

  it('runs a new session to finished, with its result, usage, cost and events', async () => {
    await ao.sessions.create({ name: 'hello', prompt: 'say hello' });
    const result = await ao.sessions.waitForResult('hello', { timeoutMs: 30_000 });
    assert.deepEqual(result, {
      name: 'hello',
      run: 1,
      state: 'finished',
      result: 'ECHO: say hello',
      error: null,
      is_error: false,
    });
    const session = await ao.sessions.get('hello');
    const run = session.runs[0]!;
    assert.equal(run.exit_code, 0);
    assert.ok(run.usage && run.usage.input_tokens > 0 && run.usage.output_tokens > 0);
    assert.ok((run.cost_usd ?? 0) > 0);
    assert.equal(run.num_turns, 1);
    const events = await allEvents(ao, 'hello');
    assert.deepEqual(
      events.map((e) => e.type),
      ['session_start', 'message', 'message', 'result', 'session_stop'],
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2, 3, 4, 5],
    );
    const start = events[0]!.data as {
      claude_session_id: string;
      cwd: string;
      tools: string[];
      permission_mode: string;
    };
    assert.equal(start.claude_session_id, session.claude_session_id);
    assert.equal(start.cwd, stack.projectDir);
    // Without a blueprint, the runtime's default applies: bypassPermissions.
    assert.equal(start.permission_mode, 'bypassPermissions');
    assert.ok(start.tools.includes('Write'));
    assert.deepEqual(events[1]!.data, { role: 'user', text: 'say hello' });
    assert.deepEqual(events[2]!.data, { role: 'assistant', text: 'ECHO: say hello' });
    // Nothing of the environment (API key, token) leaks into events.
    assert.doesNotMatch(JSON.stringify(events), /test-key/);
  });

  // One conversation of two runs checks the resumption and the blueprint's system prompt on both runs
  // (a run of Claude Code costs ~0.9 s of CPU).
  it("resumes the conversation: the model sees the earlier turns, and the blueprint's system prompt on both runs", async () => {
    const systems: string[] = [];
    stack.fake.respond((req) => {
      systems.push(req.system);
      return { text: `ECHO: ${req.lastUserText}` };
    });
    await ao.sessions.create({ name: 'convo', prompt: 'remember the word PELICAN', agent: 'house-style' });
    await ao.sessions.waitForResult('convo', { timeoutMs: 30_000 });
    const firstId = (await ao.sessions.get('convo')).claude_session_id;
    await ao.sessions.resume('convo', { prompt: 'which word?' });
    const result = await ao.sessions.waitForResult('convo', { timeoutMs: 30_000 });
    assert.equal(result.run, 2);
    assert.equal(result.result, 'ECHO: which word?');
    const last = stack.fake.requests.at(-1)!;
    assert.match(JSON.stringify(last.messages), /remember the word PELICAN/);
    assert.match(JSON.stringify(last.messages), /ECHO: remember the word PELICAN/);
    const session = await ao.sessions.get('convo');
    assert.equal(session.claude_session_id, firstId);
    assert.equal(session.totals.runs, 2);
    assert.equal(session.state, 'finished');
    assert.equal(systems.length, 2);
    for (const system of systems) assert.match(system, /HOUSE-STYLE-MARKER: answer in haiku\./);
  });

  it('opens the conversation anew when Claude Code has none to resume (a run stopped before it saved)', async () => {
    await ao.sessions.create({ name: 'unsaved', prompt: 'first' });
    await ao.sessions.waitForResult('unsaved', { timeoutMs: 30_000 });
    const id = (await ao.sessions.get('unsaved')).claude_session_id!;
    // What a stop in the first instants leaves behind: no saved conversation for the id.
    const projects = join(stack.configDir, 'projects');
    const removed = readdirSync(projects)
      .map((dir) => join(projects, dir, `${id}.jsonl`))
      .filter((file) => existsSync(file));
    assert.equal(removed.length, 1);
    rmSync(removed[0]!);
    await ao.sessions.resume('unsaved', { prompt: 'second' });
    const result = await ao.sessions.waitForResult('unsaved', { timeoutMs: 30_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(result.result, 'ECHO: second');
    const run2 = (await allEvents(ao, 'unsaved')).filter((e) => e.run === 2);
    assert.deepEqual(
      run2.map((e) => e.type),
      ['session_start', 'message', 'message', 'result', 'session_stop'],
      JSON.stringify(run2, null, 1),
    );
  });

  it('records a tool call that really writes a file in the project dir', async () => {
    const target = join(stack.projectDir, 'notes.txt');
    stack.fake.respond((req: FakeRequest) =>
      req.toolResults.length
        ? { text: 'The file is written.' }
        : { toolUse: { name: 'Write', input: { file_path: target, content: 'written by an agent\n' } } },
    );
    await ao.sessions.create({ name: 'writer', prompt: 'write the notes' });
    const result = await ao.sessions.waitForResult('writer', { timeoutMs: 30_000 });
    assert.equal(result.result, 'The file is written.');
    assert.equal(readFileSync(target, 'utf8'), 'written by an agent\n');
    const events = await allEvents(ao, 'writer');
    const pre = events.find((e) => e.type === 'pre_tool')!;
    const post = events.find((e) => e.type === 'post_tool')!;
    assert.equal((pre.data as { tool: string }).tool, 'Write');
    assert.deepEqual((pre.data as { input: unknown }).input, { file_path: target, content: 'written by an agent\n' });
    assert.equal((post.data as { tool: string }).tool, 'Write');
    assert.equal((post.data as { is_error: boolean }).is_error, false);
    assert.ok(pre.seq < post.seq);
  });

  it("reaches a blueprint's stdio MCP server through a tool call", async () => {
    stack.fake.respond((req) =>
      req.toolResults.length
        ? { text: `the server said: ${req.toolResults[0]!.text}` }
        : { toolUse: { name: 'mcp__echo__echo', input: { text: 'ping-7731' } } },
    );
    await ao.sessions.create({ name: 'mcp', prompt: 'use the echo tool', agent: 'tooler' });
    const result = await ao.sessions.waitForResult('mcp', { timeoutMs: 30_000 });
    assert.equal(result.state, 'finished');
    assert.match(result.result ?? '', /ping-7731/);
    const events = await allEvents(ao, 'mcp');
    const start = events.find((e) => e.type === 'session_start')!.data as { mcp_servers: unknown };
    assert.deepEqual(start.mcp_servers, [{ name: 'echo', status: 'connected' }]);
    const post = events.find((e) => e.type === 'post_tool')!.data as { tool: string; output: string };
    assert.equal(post.tool, 'mcp__echo__echo');
    assert.match(post.output, /ping-7731/);
  });

  it("turns a blueprint's Claude settings into flags: model, permission mode, tool lists", async () => {
    await ao.agents.create({
      name: 'planner',
      description: 'plans only',
      model: 'claude-planner-test',
      permission_mode: 'plan',
      disallowed_tools: ['Bash'],
    });
    await ao.sessions.create({ name: 'plan', prompt: 'make a plan', agent: 'planner' });
    assert.equal((await ao.sessions.waitForResult('plan', { timeoutMs: 30_000 })).state, 'finished');
    const request = stack.fake.requests.at(-1)!;
    assert.equal(request.model, 'claude-planner-test');
    const toolNames = (request.tools ?? []).map((t) => t.name);
    assert.ok(toolNames.includes('Read') && !toolNames.includes('Bash'), toolNames.join(','));
    const start = (await allEvents(ao, 'plan')).find((e) => e.type === 'session_start')!.data as {
      permission_mode: string;
      model: string;
    };
    assert.equal(start.permission_mode, 'plan');
    assert.equal(start.model, 'claude-planner-test');
    // Without a blueprint, the runtime's default (bypassPermissions): the first test.
  });

  it('fails a run on an API error, with its message', async () => {
    stack.fake.respond(() => ({ error: { status: 500, message: 'the fake model is overloaded' } }));
    await ao.sessions.create({ name: 'broken', prompt: 'anything' });
    const result = await ao.sessions.waitForResult('broken', { timeoutMs: 30_000 });
    assert.equal(result.state, 'failed');
    assert.equal(result.is_error, true);
    assert.match(result.error ?? '', /overloaded/);
    const run = (await ao.sessions.get('broken')).runs[0]!;
    assert.notEqual(run.exit_code, 0);
    assert.match(run.error ?? '', /overloaded/);
  });

  it('stops a slow run: the whole process group ends and the session is stopped', async () => {
    stack.fake.respond(() => ({ text: 'too late', delayMs: 60_000 }));
    await ao.sessions.create({ name: 'slow', prompt: 'take your time', agent: 'tooler' });
    await eventually('the run to start', async () => (await ao.sessions.status('slow')).state === 'running');
    // Running means the process exists; the MCP server is up once Claude Code asks the model.
    await eventually('the request to reach the model', () =>
      stack.fake.requests.some((r) => JSON.stringify(r.messages).includes('take your time')),
    );
    const pid = agentPid(stack.dataDir, 'slow');
    // The agent's group: the wrapper shell, Claude Code and the echo MCP server it started.
    assert.ok(groupMembers(pid).length >= 3, `group ${pid}: ${groupMembers(pid)}`);
    const stopped = await ao.sessions.stop('slow');
    assert.equal(stopped.state, 'stopped');
    assert.deepEqual(groupMembers(pid), []);
    assert.equal((await ao.sessions.stop('slow')).state, 'stopped');
    const result = await ao.sessions.result('slow');
    assert.equal(result.state, 'stopped');
    assert.equal(result.is_error, true);
    const events = await allEvents(ao, 'slow');
    assert.equal(events.at(-1)!.type, 'session_stop');
    // A stopped session can be resumed.
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    await ao.sessions.resume('slow', { prompt: 'again' });
    const again = await ao.sessions.waitForResult('slow', { timeoutMs: 30_000 });
    assert.equal(again.state, 'finished', again.error ?? '');
  });
});

// The queue and deletes are the runtime's: on the fake agent (test/support/fake-agent.mjs).
describe('runtime: the cap and deletes of running sessions', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake', executorOptions: { maxConcurrent: 2 } });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('deletes a running session by stopping it first', async () => {
    stack.fake.respond(() => ({ text: 'never', delayMs: 60_000 }));
    await ao.sessions.create({ name: 'doomed', prompt: 'wait' });
    await eventually('the run to start', async () => (await ao.sessions.status('doomed')).state === 'running');
    const pid = agentPid(stack.dataDir, 'doomed');
    await ao.sessions.delete('doomed');
    assert.deepEqual(groupMembers(pid), []);
    assert.equal(existsSync(join(stack.dataDir, 'runs', 'doomed')), false);
  });

  it('holds the concurrency cap under three times as many sessions as slots, first come first served', async () => {
    // Each session's model answer waits until the test lets it go, so a slot frees at a moment the test
    // chooses: whichever session starts next is the runtime's choice alone.
    const gates = new Map<string, { open: Promise<void>; release: () => void }>();
    const gate = (name: string) => {
      let entry = gates.get(name);
      if (!entry) {
        let release!: () => void;
        const open = new Promise<void>((resolve) => (release = resolve));
        entry = { open, release };
        gates.set(name, entry);
      }
      return entry;
    };
    let inFlight = 0;
    let maxInFlight = 0;
    stack.fake.respond(async (req) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await gate(req.lastUserText).open;
      inFlight--;
      return { text: `done ${req.lastUserText}` };
    });
    const names = Array.from({ length: 6 }, (_, i) => `cap${i}`);
    let maxRunning = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const running = (await ao.sessions.list({ state: 'running' })).sessions.length;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    for (const name of names) await ao.sessions.create({ name, prompt: name });
    const queuedNow = (await ao.sessions.list({ state: 'queued' })).sessions.length;
    // Launched: the pid file the runtime writes as it spawns a session's agent.
    const launched = () => names.filter((name) => existsSync(join(stack.dataDir, 'runs', name, '1', 'pid')));
    await eventually('the first two to start', () => launched().length >= 2);
    assert.deepEqual(launched(), names.slice(0, 2));
    // Each slot that frees goes to the oldest waiting session.
    for (let next = 2; next < names.length; next++) {
      gate(names[next - 2]!).release();
      await eventually(`a slot to go to the next session (${names[next]})`, () => launched().length > next);
      assert.deepEqual(launched(), names.slice(0, next + 1));
    }
    for (const name of names) gate(name).release();
    const results = await Promise.all(names.map((name) => ao.sessions.waitForResult(name, { timeoutMs: 50_000 })));
    watching = false;
    await watcher;
    assert.deepEqual(
      results.map((r) => r.state),
      names.map(() => 'finished'),
    );
    assert.ok(queuedNow >= 4, `queued right after creation: ${queuedNow}`);
    assert.ok(maxRunning <= 2, `at most 2 running, saw ${maxRunning}`);
    assert.ok(maxInFlight <= 2, `at most 2 model requests at once, saw ${maxInFlight}`);
  });
});

describe('runtime: a Claude Code CLI that is not there', function () {
  this.timeout(30_000);
  let stack: TestStack;
  before(async () => {
    stack = await TestStack.start({ executorOptions: { claudeBin: '/nonexistent/bin/claude' } });
  });
  after(async () => stack?.close());

  it('fails the run with a clear reason instead of crashing', async () => {
    const ao = stack.client();
    await ao.sessions.create({ name: 'nobin', prompt: 'hello' });
    const result = await ao.sessions.waitForResult('nobin', { timeoutMs: 10_000 });
    assert.equal(result.state, 'failed');
    assert.match(result.error ?? '', /Claude Code CLI not found.*AGENT_ORCHESTRATOR_CLAUDE_BIN/);
    assert.equal((await ao.health()).runtime.status, 'ok');
  });
});
