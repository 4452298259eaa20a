// The whole stack on PostgreSQL: the `aof runtime` process reads AGENT_ORCHESTRATOR_DATABASE_URL,
// the registry keeps blueprints there too, the fake agent runs against the fake model.
// Sessions, runs and events live in the database (nothing in the data dir) and survive a SIGKILL of
// the runtime; a database it cannot use stops the start with a clear message.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { Orchestrator } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { freshDatabase, queryDatabase } from '../support/postgres.js';
import { deadUrl, removeDir, tempDir } from '../support/servers.js';
import { TestStack } from '../support/stack.js';

describe('runtime on PostgreSQL', function () {
  this.timeout(90_000);
  let databaseUrl: string;
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    databaseUrl = await freshDatabase();
    stack = await TestStack.start({ agent: 'fake', runtimeProcess: true, databaseUrl });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('runs, resumes and lists sessions from a blueprint, all kept in the database', async () => {
    stack.fake.respond(async (req) => ({ text: `answer to ${req.lastUserText}` }));
    await ao.agents.create({ name: 'pg-agent', description: 'kept in PostgreSQL', model: 'sonnet' });
    await ao.sessions.create({ name: 'pg-one', agent: 'pg-agent', prompt: 'first question' });
    const first = await ao.sessions.waitForResult('pg-one', { timeoutMs: 30_000 });
    assert.equal(first.state, 'finished', first.error ?? '');
    assert.equal(first.result, 'answer to first question');
    await ao.sessions.resume('pg-one', { prompt: 'second question' });
    const second = await ao.sessions.waitForResult('pg-one', { timeoutMs: 30_000 });
    assert.equal(second.result, 'answer to second question');
    await ao.sessions.create({ name: 'pg-two', prompt: 'other' });
    assert.equal((await ao.sessions.waitForResult('pg-two', { timeoutMs: 30_000 })).state, 'finished');

    const events = (await ao.sessions.listEvents('pg-one')).events;
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    assert.deepEqual(
      events.map((e) => `${e.run}:${e.type}`).filter((t) => t.endsWith('session_stop')),
      ['1:session_stop', '2:session_stop'],
    );
    const list = await ao.sessions.list();
    assert.deepEqual(
      list.sessions.map((s) => s.name),
      ['pg-two', 'pg-one'],
    );
    assert.equal(list.counts.finished, 2);

    // The database holds it all; the runtime's data dir holds no sessions nor events.
    const stored = await queryDatabase<{ name: string; runs: number }>(
      databaseUrl,
      'SELECT name, (SELECT count(*)::int FROM aof_runs WHERE session = name) AS runs FROM aof_sessions ORDER BY name',
    );
    assert.deepEqual(stored, [
      { name: 'pg-one', runs: 2 },
      { name: 'pg-two', runs: 1 },
    ]);
    const counted = await queryDatabase<{ n: string }>(
      databaseUrl,
      "SELECT count(*) AS n FROM aof_events WHERE session = 'pg-one'",
    );
    assert.equal(Number(counted[0]!.n), events.length);
    assert.deepEqual(await queryDatabase(databaseUrl, 'SELECT name FROM aof_agents'), [{ name: 'pg-agent' }]);
    const dataFiles = await readdir(stack.dataDir);
    assert.ok(
      !dataFiles.includes('sessions.db') && !dataFiles.includes('events'),
      `data dir holds ${dataFiles.join(', ')}`,
    );
  });

  it('keeps everything across a SIGKILL of the runtime, and numbers on after it', async () => {
    const before = (await ao.sessions.listEvents('pg-one')).events;
    await stack.killRuntime();
    await stack.startRuntime();
    ao = stack.client();
    assert.deepEqual((await ao.sessions.listEvents('pg-one')).events, before);
    await ao.sessions.resume('pg-one', { prompt: 'third question' });
    assert.equal((await ao.sessions.waitForResult('pg-one', { timeoutMs: 30_000 })).result, 'answer to third question');
    const after = (await ao.sessions.listEvents('pg-one')).events;
    assert.deepEqual(after.slice(0, before.length), before);
    assert.deepEqual(
      after.map((e) => e.seq),
      after.map((_, i) => i + 1),
    );
    assert.equal((await ao.sessions.get('pg-one')).runs.length, 3);
  });
});

describe('aof runtime: a database it cannot use', function () {
  this.timeout(30_000);
  let dataDir: string;
  before(async () => {
    dataDir = await tempDir('aof-pg-bad-');
  });
  after(async () => removeDir(dataDir));

  const startWith = (databaseUrl: string) =>
    runBin('aof', ['runtime'], {
      env: {
        PATH: process.env.PATH ?? '',
        AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
        AGENT_ORCHESTRATOR_SESSION_API_URL: 'http://127.0.0.1:0',
        AGENT_ORCHESTRATOR_DATABASE_URL: databaseUrl,
      },
      timeoutMs: 20_000,
    });

  it('exits 1 naming the variable, without the password, when nothing answers', async () => {
    const port = new URL(await deadUrl()).port;
    const { code, stderr } = await startWith(`postgres://aof:s3cret-pw@127.0.0.1:${port}/aof`);
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /cannot use PostgreSQL at postgres:\/\/aof:\*\*\*@127\.0\.0\.1:\d+\/aof \(AGENT_ORCHESTRATOR_DATABASE_URL\)/,
    );
    assert.doesNotMatch(stderr, /s3cret/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });

  it('exits 1 for a URL that is not postgres://', async () => {
    const { code, stderr } = await startWith('mysql://aof:pw@127.0.0.1/aof');
    assert.equal(code, 1, stderr);
    assert.match(stderr, /AGENT_ORCHESTRATOR_DATABASE_URL must be a postgres:\/\/ URL, not mysql:\/\/\.\.\./);
  });
});
