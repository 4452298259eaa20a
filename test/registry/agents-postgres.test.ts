// The registry on PostgreSQL (its API suite runs on both backends in agents.test.ts): what is its
// own is several registries on one database, and a database it cannot use.
import assert from 'node:assert/strict';
import { ConflictError, Orchestrator } from '../../sdk/index.js';
import { freshDatabase } from '../support/postgres.js';
import { deadUrl, removeDir, startTestRegistry, type TestRegistry } from '../support/servers.js';

describe('registry: several processes on one PostgreSQL database', function () {
  this.timeout(30_000);
  let registries: TestRegistry[] = [];

  afterEach(async () => {
    for (const registry of registries) {
      await registry.close();
      await removeDir(registry.dataDir);
    }
    registries = [];
  });

  const client = (registry: TestRegistry) => new Orchestrator({ registryUrl: registry.url, token: null });

  it('start at once on an empty database, share every blueprint, and create a name once', async () => {
    const databaseUrl = await freshDatabase();
    registries = await Promise.all([startTestRegistry({ databaseUrl }), startTestRegistry({ databaseUrl })]);
    const [a, b] = registries.map(client) as [Orchestrator, Orchestrator];
    await a.agents.create({
      name: 'shared',
      description: 'made on a',
      mcp_servers: { t: { command: 't', env: { 'a.b': '$x' } } },
    });
    assert.deepEqual(await b.agents.get('shared'), await a.agents.get('shared'));
    await b.agents.update('shared', { description: 'changed on b', mcp_servers: null });
    assert.equal((await a.agents.get('shared')).description, 'changed on b');
    assert.equal('mcp_servers' in (await a.agents.get('shared')), false);

    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => [a, b][i % 2]!.agents.create({ name: 'race', description: `try ${i}` })),
    );
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes)
      if (o.status === 'rejected') assert.ok(o.reason instanceof ConflictError, String(o.reason));
    assert.deepEqual(
      (await b.agents.list()).map((x) => x.name),
      ['race', 'shared'],
    );
  });

  it('keeps blueprints across a restart, in the database rather than the data dir', async () => {
    const databaseUrl = await freshDatabase();
    const first = await startTestRegistry({ databaseUrl });
    await client(first).agents.create({ name: 'kept', description: 'survives' });
    await first.close();
    await removeDir(first.dataDir);
    registries = [await startTestRegistry({ databaseUrl })];
    assert.equal((await client(registries[0]!).agents.get('kept')).description, 'survives');
  });

  it('fails to start on a database it cannot reach, naming the variable and not the password', async () => {
    const port = new URL(await deadUrl()).port;
    await assert.rejects(
      startTestRegistry({ databaseUrl: `postgres://aof:s3cret-pw@127.0.0.1:${port}/aof` }),
      (error: Error) => {
        assert.match(
          error.message,
          /cannot use PostgreSQL at postgres:\/\/aof:\*\*\*@127\.0\.0\.1:\d+\/aof \(AGENT_ORCHESTRATOR_DATABASE_URL\): .*ECONNREFUSED/,
        );
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      },
    );
  });
});
