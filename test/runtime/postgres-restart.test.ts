// A restart of PostgreSQL under a running runtime process: meanwhile requests get a 503 problem
// naming the database, the process stays up, an agent that talks and ends during the outage keeps
// every event (they wait in the run's files), a run queued behind it starts once the database is back,
// and afterwards everything works as before.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Orchestrator } from '../../sdk/index.js';
import { eventually } from '../support/processes.js';
import { freshDatabase, ownPostgresServer, restartPostgres } from '../support/postgres.js';
import { rawRequest } from '../support/servers.js';
import { TestStack } from '../support/stack.js';

describe('runtime on PostgreSQL: a database restart', function () {
  this.timeout(90_000);
  // A test restarts PostgreSQL.
  ownPostgresServer();
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({
      agent: 'fake',
      runtimeProcess: true,
      databaseUrl: await freshDatabase(),
      executorOptions: { maxConcurrent: 1 },
    });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('answers 503 while it is down, never crashes, and loses no event of a run that ended meanwhile', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.fake.respond(async (req) => {
      if (req.lastUserText.startsWith('across the outage')) await released;
      return { text: `answer to ${req.lastUserText}` };
    });
    await ao.sessions.create({ name: 'before', prompt: 'before the outage' });
    assert.equal((await ao.sessions.waitForResult('before', { timeoutMs: 30_000 })).state, 'finished');
    await ao.sessions.create({ name: 'across', prompt: 'across the outage' });
    await eventually('the held model request', () =>
      stack.fake.requests.some((r) => JSON.stringify(r.messages).includes('across the outage')),
    );
    // Queued behind it (the cap is 1): the slot frees up only as the outage ends (the end waits to be recorded).
    await ao.sessions.create({ name: 'waiting', prompt: 'queued during the outage' });
    assert.equal((await ao.sessions.status('waiting')).state, 'queued');

    await restartPostgres(async () => {
      for (const [method, path] of [
        ['GET', '/sessions'],
        ['GET', '/sessions/before'],
        ['POST', '/sessions'],
      ] as const) {
        const raw = await rawRequest(stack.runtimeUrl, {
          method,
          path,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
          ...(method === 'POST' ? { body: JSON.stringify({ name: 'during', prompt: 'x' }) } : {}),
        });
        assert.equal(raw.status, 503, `${method} ${path}: ${raw.text}`);
        assert.match(String(raw.headers['content-type']), /^application\/problem\+json/);
        assert.equal(raw.json.type, 'urn:aof:problem:database-unavailable');
        assert.match(raw.json.detail, /database cannot be reached/);
      }
      assert.equal(
        (await rawRequest(stack.runtimeUrl, { path: '/health', headers: { authorization: `Bearer ${stack.token}` } }))
          .status,
        200,
      );
      // The agent answers and ends while nothing can be stored.
      release();
      await sleep(3000);
      assert.equal(stack.runtimeChild!.exitCode, null, 'the runtime is still running');
    });

    const across = await ao.sessions.waitForResult('across', { timeoutMs: 30_000 });
    assert.equal(across.state, 'finished', across.error ?? '');
    assert.equal(across.result, 'answer to across the outage');
    const events = (await ao.sessions.listEvents('across')).events;
    assert.deepEqual(
      events.map((e) => e.type),
      ['session_start', 'message', 'message', 'result', 'session_stop'],
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2, 3, 4, 5],
    );
    const waiting = await ao.sessions.waitForResult('waiting', { timeoutMs: 30_000 });
    assert.equal(waiting.state, 'finished', waiting.error ?? '');
    assert.equal(waiting.result, 'answer to queued during the outage');
    await ao.sessions.create({ name: 'after', prompt: 'after the outage' });
    assert.equal(
      (await ao.sessions.waitForResult('after', { timeoutMs: 30_000 })).result,
      'answer to after the outage',
    );
    assert.deepEqual((await ao.sessions.list()).sessions.map((s) => s.name).sort(), [
      'across',
      'after',
      'before',
      'waiting',
    ]);
  });
});
