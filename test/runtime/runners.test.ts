// `aof runner` processes running agents for a runtime that runs none itself: claims under leases,
// heartbeats, stop, a runner lost mid-run, a runner restarted mid-run, fencing and idempotent reports.
import { uniqueName } from '../bin/run-bin.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VERSION } from '../../servers/common/version.js';
import type { Event } from '../../sdk/index.js';
import { describeRequest } from '../support/fake-model.js';
import { tempDir, removeDir } from '../support/servers.js';
import { startRunnerProcess, type RunnerProcess } from '../support/runners.js';
import { runBin } from '../bin/run-bin.js';
import { TestStack } from '../support/stack.js';
import { askingSession } from '../support/approvals.js';

const LEASE_SECONDS = 2;

describe('runners: aof runner runs the agents of a runtime', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let homes: string;
  const runners: RunnerProcess[] = [];

  // The fake agent (its approval test too: the CLI asking through the runtime is runtime/approvals').
  const runner = async (name: string, options: { tags?: string[]; max?: number; token?: string } = {}) => {
    const started = await startRunnerProcess({
      runtimes: [stack.runtimeUrl],
      name,
      home: join(homes, name),
      fakeUrl: stack.fake.url,
      token: 'runner-token',
      agent: 'fake',
      ...options,
    });
    runners.push(started);
    return started;
  };
  const raw = (path: string, body: unknown): Promise<{ status: number; json(): Promise<any> }> =>
    fetch(`${stack.runtimeUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer runner-token' },
      body: JSON.stringify(body),
    });
  /** The model requests whose prompt is `prompt`: one per run that reached Claude Code. */
  const asked = (prompt: string) =>
    stack.fake.requests.filter((body, i) => describeRequest(body, i).lastUserText === prompt).length;
  const assertNumbered = (events: Event[]) =>
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );

  before(async () => {
    stack = await TestStack.start({
      executor: 'none',
      leaseSeconds: LEASE_SECONDS,
      token: 'runner-token',
      executorOptions: { maxConcurrent: 3 },
    });
    homes = await tempDir('aof-runners-');
  });
  afterEach(async () => {
    // A killed runner's agents keep going by design: end them too, so nothing outlives the test.
    await Promise.all(
      runners.splice(0).map(async (r) => {
        await r.kill('SIGKILL');
        await r.killAgents();
      }),
    );
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    await stack.client().sessions.clean();
  });
  after(async () => {
    await stack?.close();
    await removeDir(homes);
  });

  it('runs queued sessions on a runner, which records who ran them', async () => {
    const ao = stack.client();
    await runner('alpha', { max: 2 });
    for (const name of ['r-1', 'r-2', 'r-3']) await ao.sessions.create({ name, prompt: `task ${name}` });
    for (const name of ['r-1', 'r-2', 'r-3']) {
      const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
      assert.equal(result.state, 'finished', result.error ?? '');
      assert.equal(result.result, `ECHO: task ${name}`);
      const session = await ao.sessions.get(name);
      assert.match(session.runs[0]!.runner ?? '', /^alpha@/);
      assertNumbered((await ao.sessions.listEvents(name, { limit: 1000 })).events);
      assert.equal(asked(`task ${name}`), 1);
    }
    const info = await ao.runtimeInfo();
    assert.equal(info.executor, 'none');
    assert.equal(info.running, 0);
  });

  it('gives a session with runner_tags only to a runner that offers them all', async () => {
    const ao = stack.client();
    await runner('plain');
    const bad = await runBin('ao-new', ['tagged', '-p', 'needs a gpu', '--runner-tags', 'gpu,no good', '--async'], {
      env: stack.clientEnv,
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid runner tag name 'no good'/);
    const made = await runBin('ao-new', ['tagged', '-p', 'needs a gpu', '--runner-tags', 'gpu', '--async'], {
      env: stack.clientEnv,
    });
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual((await ao.sessions.get('tagged')).runner_tags, ['gpu']);
    await sleep(2500); // what must not happen (a runner without the tag taking it) has had its chance
    assert.equal((await ao.sessions.status('tagged')).state, 'queued');
    await runner('gpu-box', { tags: ['gpu', 'linux'] });
    const result = await ao.sessions.waitForResult('tagged', { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished');
    assert.match((await ao.sessions.get('tagged')).runs[0]!.runner ?? '', /^gpu-box@/);
  });

  it('stops a run on a runner: the runner hears it at its next heartbeat', async () => {
    const ao = stack.client();
    stack.fake.respond((req) => ({ text: 'slow', delayMs: req.lastUserText.includes('slow') ? 60_000 : 0 }));
    await runner('beta');
    await ao.sessions.create({ name: 'to-stop', prompt: 'a slow one' });
    await waitFor(async () => (await ao.sessions.status('to-stop')).state === 'running', 'the run to start');
    const stopped = await ao.sessions.stop('to-stop');
    assert.equal(stopped.state, 'stopped');
    assert.match(stopped.runs[0]!.error ?? '', /stopped on request/);
  });

  it('fails the run of a runner that is killed ("runner lost") and keeps the queued runs for another', async () => {
    const ao = stack.client();
    stack.fake.respond((req) => ({
      text: `done: ${req.lastUserText}`,
      delayMs: req.lastUserText.includes('long') ? 60_000 : 0,
    }));
    const doomed = await runner('doomed', { max: 1 });
    await ao.sessions.create({ name: 'on-doomed', prompt: 'a long task' });
    await waitFor(async () => (await ao.sessions.status('on-doomed')).state === 'running', 'the run to start');
    await ao.sessions.create({ name: 'waits', prompt: 'a short task' });
    await doomed.kill('SIGKILL');
    const lost = await ao.sessions.waitForResult('on-doomed', { timeoutMs: 30_000 });
    assert.equal(lost.state, 'failed');
    assert.match(lost.error ?? '', /runner lost: runner 'doomed' on \S+ stopped answering/);
    assert.equal((await ao.sessions.status('waits')).state, 'queued');
    await runner('rescuer');
    const rescued = await ao.sessions.waitForResult('waits', { timeoutMs: 60_000 });
    assert.equal(rescued.state, 'finished');
    assert.equal(asked('a short task'), 1);
    assert.match((await ao.sessions.get('waits')).runs[0]!.runner ?? '', /^rescuer@/);
  });

  it("runs with a runner's own token (aof token create NAME --role runner), which is good for nothing else", async () => {
    const ao = stack.client();
    const { token } = await ao.tokens.create(uniqueName('build'), 'runner');
    await runner('own-token', { token });
    await ao.sessions.create({ name: 'by-runner-token', prompt: 'hello runner' });
    const result = await ao.sessions.waitForResult('by-runner-token', { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(result.result, 'ECHO: hello runner');
    const refused = await fetch(`${stack.runtimeUrl}/sessions`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 403);
  });

  it('re-adopts its running agent when restarted within the lease, without doubling an event', async () => {
    // The model answers only once the restarted runner has re-adopted the agent, however long that takes.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.fake.respond(async (req) => {
      if (req.lastUserText.includes('steady')) await released;
      return { text: `ok: ${req.lastUserText}` };
    });
    // Restarted within the lease whatever the load on the machine: a lease far longer than a restart.
    stack.options.leaseSeconds = 60;
    await stack.restartRuntime();
    try {
      const ao = stack.client();
      const first = await runner('phoenix');
      await ao.sessions.create({ name: 'adopted', prompt: 'a steady task' });
      await waitFor(
        async () => (await ao.sessions.listEvents('adopted', { limit: 1000 })).events.length > 0,
        'the first event',
      );
      await first.kill('SIGTERM');
      const again = await runner('phoenix');
      await again.waitForLog(/re-adopted the running agent of session 'adopted'/);
      release();
      const result = await ao.sessions.waitForResult('adopted', { timeoutMs: 60_000 });
      assert.equal(result.state, 'finished', result.error ?? '');
      assert.equal(result.result, 'ok: a steady task');
      const events = (await ao.sessions.listEvents('adopted', { limit: 1000 })).events;
      assertNumbered(events);
      assert.equal(events.filter((e) => e.type === 'session_start').length, 1);
      assert.equal(events.filter((e) => e.type === 'result').length, 1);
      assert.equal(asked('a steady task'), 1);
    } finally {
      stack.options.leaseSeconds = LEASE_SECONDS;
      await stack.restartRuntime();
    }
  });

  it('keeps the runs in flight under the runtime cap, across runners', async () => {
    const ao = stack.client();
    stack.fake.respond((req) => ({ text: 'capped', delayMs: req.lastUserText.includes('capped') ? 1500 : 0 }));
    await Promise.all([runner('cap-a', { max: 3 }), runner('cap-b', { max: 3 })]);
    const names = ['c-1', 'c-2', 'c-3', 'c-4', 'c-5'];
    for (const name of names) await ao.sessions.create({ name, prompt: `capped ${name}` });
    let most = 0;
    for (;;) {
      const info = await ao.runtimeInfo();
      most = Math.max(most, info.running);
      if (info.running === 0 && info.queued === 0) break;
      await sleep(100);
    }
    for (const name of names) assert.equal((await ao.sessions.status(name)).state, 'finished');
    assert.ok(most <= 3, `${most} runs were in flight at once; the cap is 3`);
    assert.ok(most >= 2, 'the runners ran runs side by side');
  });

  it('resumes a session on another host: the conversation travels with the session', async () => {
    const ao = stack.client();
    const first = await runner('host-one');
    await ao.sessions.create({ name: 'travels', prompt: 'remember the word pelican' });
    assert.equal((await ao.sessions.waitForResult('travels', { timeoutMs: 60_000 })).state, 'finished');
    await first.kill('SIGTERM');
    const second = await runner('host-two');
    await ao.sessions.resume('travels', { prompt: 'which word?' });
    const result = await ao.sessions.waitForResult('travels', { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.match((await ao.sessions.get('travels')).runs[1]!.runner ?? '', /^host-two@/);
    await second.waitForLog(/session 'travels': restored its conversation from the runtime/);
    // The model saw the first run's turn in the second run's request: Claude Code resumed, not restarted.
    const last = stack.fake.requests.findLast((body, i) => describeRequest(body, i).lastUserText === 'which word?')!;
    assert.match(JSON.stringify(last.messages), /remember the word pelican/);
    assert.match(JSON.stringify(last.messages), /ECHO: remember the word pelican/);
  });

  it("enforces a session's limits on a runner: turns from its reports, the time limit from the runtime", async () => {
    const ao = stack.client();
    stack.fake.respond((req) => {
      const text = JSON.stringify(req.body.messages);
      if (text.includes('loop on'))
        return { toolUse: { name: 'Bash', input: { command: 'echo again', description: 'loop' } } };
      return { text: 'late', delayMs: text.includes('dawdle') ? 60_000 : 0 };
    });
    await runner('limited', { max: 2 });
    await ao.sessions.create({ name: 'looper', prompt: 'loop on', limits: { max_turns: 3 } });
    await ao.sessions.create({ name: 'dawdler', prompt: 'dawdle', limits: { timeout_seconds: 2 } });
    const looped = await ao.sessions.waitForResult('looper', { timeoutMs: 60_000 });
    assert.equal(looped.state, 'stopped');
    assert.match(looped.error ?? '', /^limit max_turns crossed: \d+ model turns in this run, limit 3$/);
    const dawdled = await ao.sessions.waitForResult('dawdler', { timeoutMs: 60_000 });
    assert.equal(dawdled.state, 'stopped');
    assert.equal(dawdled.error, 'limit timeout_seconds crossed: the run went on for more than 2 s');
  });

  it("says which runner host lacks a session's project dir", async () => {
    const ao = stack.client();
    const elsewhere = await tempDir('aof-only-here-');
    await ao.sessions.create({ name: 'no-dir-there', prompt: 'hi', project_dir: elsewhere });
    await removeDir(elsewhere); // there when the session was made, not on the runner's host
    await runner('dirless');
    const result = await ao.sessions.waitForResult('no-dir-there', { timeoutMs: 30_000 });
    assert.equal(result.state, 'failed');
    assert.match(
      result.error ?? '',
      new RegExp(`^the project dir ${elsewhere} does not exist \\(anymore\\).* \\(on runner 'dirless', host \\S+\\)$`),
    );
  });

  it('asks a person through the runtime from a runner: an approval-mode agent waits there, and the answer reaches it', async () => {
    const ao = stack.client();
    await runner('asker-host');
    const approved = await askingSession(stack, ao, 'from-runner');
    assert.match((await ao.sessions.get(approved.name)).runs[0]!.runner ?? '', /^asker-host@/);
    assert.equal(approved.asked.tool, 'Bash');
    assert.equal(existsSync(approved.file), false, 'nothing runs before the answer');
    await ao.approvals.approve(approved.asked.id);
    const done = await ao.sessions.waitForResult(approved.name, { timeoutMs: 60_000 });
    assert.equal(done.state, 'finished', done.error ?? '');
    assert.equal(existsSync(approved.file), true, 'the approved command ran on the runner');
    assert.match(done.result ?? '', /error=false/);

    const denied = await askingSession(stack, ao, 'denied-on-runner');
    await ao.approvals.deny(denied.asked.id, { message: 'not on this host' });
    const refused = await ao.sessions.waitForResult(denied.name, { timeoutMs: 60_000 });
    assert.equal(refused.state, 'finished', refused.error ?? '');
    assert.equal(existsSync(denied.file), false, 'the denied command did not run');
    assert.match(refused.result ?? '', /error=true.*not on this host/s);
    const types = (await ao.sessions.listEvents(denied.name)).events.map((e) => e.type);
    assert.deepEqual(
      types.filter((t) => t.startsWith('approval_')),
      ['approval_request', 'approval_answer'],
    );
  });

  it('aof runner refuses bad options and a runtime that does not answer, with one line and exit 1', async () => {
    const env = { ...stack.clientEnv, AGENT_ORCHESTRATOR_DATA_DIR: join(homes, 'cli') };
    const badName = await runBin('aof', ['runner', '--runtime', stack.runtimeUrl, '--name', 'has.dot'], { env });
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /^aof: --name must be letters, digits, '_' and '-'/);
    const badMax = await runBin('aof', ['runner', '--runtime', stack.runtimeUrl, '--max', 'lots'], { env });
    assert.equal(badMax.code, 1);
    assert.match(badMax.stderr, /^aof: --max must be a whole number, 1 or more, not 'lots'/);
    const badUrl = await runBin('aof', ['runner', '--runtime', 'ftp://x'], { env });
    assert.equal(badUrl.code, 1);
    assert.match(badUrl.stderr, /^aof: --runtime must be an http:\/\/ URL/);
    const nobody = await runBin('aof', ['runner', '--runtime', 'http://127.0.0.1:9,http://127.0.0.1:10'], { env });
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /aof: no runtime answers \(http:\/\/127.0.0.1:9, http:\/\/127.0.0.1:10\)/);
    assert.doesNotMatch(nobody.stderr, /\n\s+at /, 'no stack trace');
  });

  it('fences a report of a lost attempt and stores a retried report once', async () => {
    const ao = stack.client();
    await ao.sessions.create({ name: 'by-hand', prompt: 'reported by hand' });
    const refused = await raw('/runners/manual/claim', { version: '0.0.0-other' });
    assert.equal(refused.status, 409);
    assert.equal((await refused.json()).type, 'urn:aof:problem:runner-version');
    const { claim } = await (await raw('/runners/manual/claim', { version: VERSION })).json();
    assert.equal(claim.session, 'by-hand');
    assert.equal(claim.attempt, 1);
    const report = (body: object) =>
      raw(`/sessions/by-hand/runs/1/report`, { runner: 'manual', attempt: 1, from: 0, events: [], ...body });
    const message = { type: 'message', data: { role: 'assistant', text: 'hello' } };
    assert.equal((await report({ started: true })).status, 200);
    for (let i = 0; i < 3; i++) {
      const answer = await report({ events: [message] });
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { reported: 1, stop_requested: false });
    }
    const late = await raw(`/sessions/by-hand/runs/1/report`, {
      runner: 'manual',
      attempt: 2,
      from: 1,
      events: [message],
    });
    assert.equal(late.status, 409);
    assert.equal((await late.json()).type, 'urn:aof:problem:lease-lost');
    const other = await raw(`/sessions/by-hand/runs/1/report`, {
      runner: 'someone-else',
      attempt: 1,
      from: 1,
      events: [message],
    });
    assert.equal((await other.json()).type, 'urn:aof:problem:lease-lost');
    const gap = await report({ from: 5, events: [message] });
    assert.equal(gap.status, 409);
    // The runner goes quiet: the sweeper ends the run; a report after that is refused.
    const lost = await ao.sessions.waitForResult('by-hand', { timeoutMs: 30_000 });
    assert.equal(lost.state, 'failed');
    assert.match(lost.error ?? '', /runner lost: runner 'manual' stopped answering/);
    const events = (await ao.sessions.listEvents('by-hand', { limit: 1000 })).events;
    assert.deepEqual(
      events.map((e) => e.type),
      ['message', 'session_stop'],
    );
    const heartbeat = await (
      await raw('/runners/manual/heartbeat', { leases: [{ session: 'by-hand', run: 1, attempt: 1 }] })
    ).json();
    assert.equal(heartbeat.leases[0].status, 'lost');
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
