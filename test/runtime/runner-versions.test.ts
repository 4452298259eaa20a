// Runners and runtimes of different versions: a runner claims naming the RunSpec versions it runs;
// the runtime gives runs only to a runner that knows the version it writes (whatever their aof
// versions), and a runner handed a RunSpec of a version it does not know ends the run failed with a
// clear reason instead of running it wrong.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RUN_SPEC_VERSION } from '../../servers/executor/run-spec.js';
import { describeRequest } from '../support/fake-model.js';
import { startRunnerProcess, type RunnerProcess } from '../support/runners.js';
import { removeDir, tempDir } from '../support/servers.js';
import { TestStack } from '../support/stack.js';

/**
 * Stands between a runner and the runtime, as a runtime newer than the runner would: it passes every
 * request on, and while `newer` is set, gives the RunSpecs of the claims it passes back a version
 * after the one this aof writes.
 */
async function newerRuntimeFront(target: string): Promise<{ url: string; newer: boolean; close(): Promise<void> }> {
  const front = { url: '', newer: true, close: (): Promise<void> => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type', 'accept']) {
          const value = req.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        const answer = await fetch(`${target}${req.url}`, {
          method: req.method ?? 'GET',
          headers,
          ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
        });
        let body = await answer.text();
        if (front.newer && answer.status === 200 && /^\/runners\/[^/]+\/claim$/.test(req.url ?? '')) {
          const parsed = JSON.parse(body) as { claim: { spec: { version: number } } | null };
          if (parsed.claim) parsed.claim.spec.version = RUN_SPEC_VERSION + 1;
          body = JSON.stringify(parsed);
        }
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(body);
      } catch {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return front;
}

describe('runners: RunSpec versions', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let homes: string;
  const runners: RunnerProcess[] = [];

  const claim = async (body: object) => {
    const answer = await fetch(`${stack.runtimeUrl}/runners/by-hand/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer runner-token' },
      body: JSON.stringify(body),
    });
    return { status: answer.status, body: (await answer.json()) as any };
  };

  before(async () => {
    stack = await TestStack.start({ executor: 'none', agent: 'fake', leaseSeconds: 2, token: 'runner-token' });
    homes = await tempDir('aof-runner-versions-');
  });
  afterEach(async () => {
    await Promise.all(
      runners.splice(0).map(async (r) => {
        await r.kill('SIGKILL');
        await r.killAgents();
      }),
    );
    await stack.client().sessions.clean();
  });
  after(async () => {
    await stack?.close();
    await removeDir(homes);
  });

  it('gives a run to a runner of another aof version that knows its RunSpec version, and to none that does not', async () => {
    const ao = stack.client();
    await ao.sessions.create({ name: 'versioned', prompt: 'which version?' });
    const refused = await claim({ version: '0.0.1-older', run_spec_versions: [RUN_SPEC_VERSION + 1] });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.type, 'urn:aof:problem:run-spec-version');
    assert.match(refused.body.detail, new RegExp(`writes version ${RUN_SPEC_VERSION}`));
    assert.equal((await ao.sessions.get('versioned')).state, 'queued', 'the run waits for a runner that knows it');
    const before = await claim({ version: '0.0.1-older' });
    assert.equal(before.status, 409);
    assert.equal(before.body.type, 'urn:aof:problem:runner-version');
    const taken = await claim({ version: '0.0.1-older', run_spec_versions: [RUN_SPEC_VERSION] });
    assert.equal(taken.status, 200);
    assert.equal(taken.body.claim.session, 'versioned');
    assert.equal(taken.body.claim.spec.version, RUN_SPEC_VERSION);
    assert.equal(taken.body.claim.spec.prompt, 'which version?');
    assert.equal(typeof taken.body.claim.spec.env.credential, 'string');
  });

  it('a runner handed a RunSpec of a version it does not know ends the run failed, saying so, and runs the next', async () => {
    const front = await newerRuntimeFront(stack.runtimeUrl);
    try {
      const runner = await startRunnerProcess({
        runtimes: [front.url],
        name: 'older',
        home: join(homes, 'older'),
        fakeUrl: stack.fake.url,
        token: 'runner-token',
        agent: 'fake',
      });
      runners.push(runner);
      const ao = stack.client();
      await ao.sessions.create({ name: 'too-new', prompt: 'run me wrong' });
      const failed = await ao.sessions.waitForResult('too-new', { timeoutMs: 60_000 });
      assert.equal(failed.state, 'failed');
      assert.match(
        failed.error ?? '',
        new RegExp(
          `^run-spec-version: the run's RunSpec is version ${RUN_SPEC_VERSION + 1}; this executor runs only version ${RUN_SPEC_VERSION}.*on runner 'older'`,
        ),
      );
      const asked = stack.fake.requests.filter((body, i) => describeRequest(body, i).lastUserText === 'run me wrong');
      assert.equal(asked.length, 0, 'no agent ran it');
      // The runner is still there: a run of a version it knows runs.
      front.newer = false;
      await ao.sessions.create({ name: 'known', prompt: 'run me right' });
      const done = await ao.sessions.waitForResult('known', { timeoutMs: 60_000 });
      assert.equal(done.state, 'finished', done.error ?? '');
      assert.equal(done.result, 'ECHO: run me right');
    } finally {
      await front.close();
    }
  });
});
