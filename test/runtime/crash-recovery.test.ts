// SIGKILL the runtime while agents run, start it again on the same data dir: running agents are
// re-adopted and finish with their result and full history; an agent that died meanwhile is failed.
import assert from 'node:assert/strict';
import type { Orchestrator } from '../../sdk/index.js';
import { agentPid, eventually, groupMembers } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

describe('runtime: surviving a crash of the runtime', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake', runtimeProcess: true });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('re-adopts running agents, which finish with their full history; lost ones fail', async () => {
    // Each agent waits on the model long enough for the runtime to die and come back.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.fake.respond(async (req) => {
      if (req.lastUserText.startsWith('adopt')) await released;
      return { text: `finished ${req.lastUserText}` };
    });
    const adopted = ['adopt1', 'adopt2', 'adopt3'];
    for (const name of [...adopted, 'lost'])
      await ao.sessions.create({ name, prompt: name === 'lost' ? 'adopt-lost' : name });
    await eventually('four model requests', () => stack.fake.requests.length >= 4);
    const eventsBefore = await Promise.all(adopted.map(async (name) => (await ao.sessions.listEvents(name)).events));

    await stack.killRuntime();
    const pids = Object.fromEntries([...adopted, 'lost'].map((name) => [name, agentPid(stack.dataDir, name)]));
    for (const name of adopted) assert.ok(groupMembers(pids[name]!).length > 0, `${name}'s agent outlived the runtime`);
    // One agent dies while no runtime watches.
    process.kill(-pids.lost!, 'SIGKILL');
    await eventually('the lost agent to end', () => groupMembers(pids.lost!).length === 0);

    await stack.startRuntime();
    ao = stack.client();
    const lost = await ao.sessions.waitForResult('lost', { timeoutMs: 20_000 });
    assert.equal(lost.state, 'failed');
    assert.match(lost.error ?? '', /runtime restarted/);
    for (const name of adopted) assert.equal((await ao.sessions.status(name)).state, 'running');

    release();
    for (const [i, name] of adopted.entries()) {
      const result = await ao.sessions.waitForResult(name, { timeoutMs: 30_000 });
      assert.equal(result.state, 'finished', `${name}: ${result.error}`);
      assert.equal(result.result, `finished ${name}`);
      const events = (await ao.sessions.listEvents(name)).events;
      assert.deepEqual(
        events.map((e) => e.type),
        ['session_start', 'message', 'message', 'result', 'session_stop'],
      );
      assert.deepEqual(
        events.map((e) => e.seq),
        [1, 2, 3, 4, 5],
      );
      // What was stored before the crash is still there, unchanged.
      assert.deepEqual(events.slice(0, eventsBefore[i]!.length), eventsBefore[i]);
      const run = (await ao.sessions.get(name)).runs[0]!;
      assert.equal(run.exit_code, 0);
      assert.ok(run.usage && run.usage.output_tokens > 0);
      assert.deepEqual(groupMembers(pids[name]!), []);
    }
  });

  it('completes a run whose agent finished while the runtime was down', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.fake.respond(async (req) => {
      await released;
      return { text: `done while away: ${req.lastUserText}` };
    });
    await ao.sessions.create({ name: 'away', prompt: 'quick job' });
    await eventually('the model request', () =>
      stack.fake.requests.some((r) => JSON.stringify(r.messages).includes('quick job')),
    );
    await stack.killRuntime();
    const pid = agentPid(stack.dataDir, 'away');
    release();
    await eventually('the agent to finish on its own', () => groupMembers(pid).length === 0);
    await stack.startRuntime();
    ao = stack.client();
    const result = await ao.sessions.waitForResult('away', { timeoutMs: 20_000 });
    assert.equal(result.state, 'finished');
    assert.equal(result.result, 'done while away: quick job');
    assert.equal((await ao.sessions.get('away')).runs[0]!.exit_code, 0);
  });
});

describe('runtime: queued runs across a crash', function () {
  this.timeout(90_000);
  let stack: TestStack;
  before(async () => {
    stack = await TestStack.start({ agent: 'fake', runtimeProcess: true, executorOptions: { maxConcurrent: 1 } });
  });
  after(async () => stack?.close());

  it('keeps a queued run queued and starts it once the re-adopted run frees the slot', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.fake.respond(async (req) => {
      if (req.lastUserText === 'first') await released;
      return { text: `ECHO: ${req.lastUserText}` };
    });
    let ao = stack.client();
    await ao.sessions.create({ name: 'holder', prompt: 'first' });
    await ao.sessions.create({ name: 'waiter', prompt: 'second' });
    await eventually('the first request', () => stack.fake.requests.length === 1);
    assert.equal((await ao.sessions.status('waiter')).state, 'queued');
    await stack.killRuntime();
    await stack.startRuntime();
    ao = stack.client();
    await new Promise((resolve) => setTimeout(resolve, 500)); // a wrong start of the waiter has had its chance
    assert.equal((await ao.sessions.status('holder')).state, 'running');
    assert.equal((await ao.sessions.status('waiter')).state, 'queued', 'the slot is still taken by the re-adopted run');
    release();
    assert.equal((await ao.sessions.waitForResult('holder', { timeoutMs: 20_000 })).state, 'finished');
    const waiter = await ao.sessions.waitForResult('waiter', { timeoutMs: 20_000 });
    assert.equal(waiter.result, 'ECHO: second');
  });
});
