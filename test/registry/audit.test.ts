// Who changed which blueprint: the registry's audit log (`GET /audit` on the registry), kept by both
// backends (the data dir's `registry-audit.db`, PostgreSQL's `aof_registry_audit`), across a restart
// and, on PostgreSQL, shared by every registry on the database. Who the principals are (people's
// named tokens, agents) is asked of the runtime: test/runtime/audit.test.ts covers that end to end.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditEntry } from '../../sdk/index.js';
import { STORE_BACKENDS } from '../support/postgres.js';
import { removeDir, startTestRegistry, tempDir, type TestRegistry } from '../support/servers.js';

const TOKEN = 'registry-audit-token';

for (const backend of STORE_BACKENDS)
  describe(`registry: the audit log of blueprint writes (${backend.label})`, function () {
    this.timeout(60_000);
    let registries: TestRegistry[] = [];
    let dataDir: string;

    afterEach(async () => {
      for (const registry of registries) await registry.close();
      registries = [];
      await removeDir(dataDir);
    });

    const call = (registry: TestRegistry, method: string, path: string, body?: unknown) =>
      fetch(`${registry.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const page = async (registry: TestRegistry, query = '') => {
      const response = await call(registry, 'GET', `/audit${query}`);
      assert.equal(response.status, 200, await response.clone().text());
      return (await response.json()) as { entries: AuditEntry[]; next_cursor: string | null };
    };

    it('files every write under its principal and blueprint, keeps it across a restart, and pages it', async () => {
      dataDir = await tempDir('aof-registry-audit-');
      const databaseUrl = await backend.databaseUrl();
      const start = () => startTestRegistry({ dataDir, databaseUrl, token: TOKEN });
      const first = await start();
      registries = [first];
      const secret = 'a system prompt the log must not keep';
      assert.equal(
        (await call(first, 'POST', '/agents', { name: 'bp', description: 'd', system_prompt: secret })).status,
        201,
      );
      assert.equal((await call(first, 'PATCH', '/agents/bp', { description: 'changed' })).status, 200);
      assert.equal((await call(first, 'PATCH', '/agents/bp/status', { status: 'inactive' })).status, 200);
      assert.equal((await call(first, 'PATCH', '/agents/missing', { description: 'x' })).status, 404);
      assert.equal((await call(first, 'DELETE', '/agents/bp')).status, 204);
      // Reads are not written.
      assert.equal((await call(first, 'GET', '/agents')).status, 200);

      await first.close();
      registries = [];
      const second = await start();
      registries = [second];
      if (databaseUrl) {
        // Another registry on the same database reads the same log.
        registries.push(await startTestRegistry({ databaseUrl, token: TOKEN }));
      }
      const expected = [
        ['deleteAgent', 'delete blueprints', 'bp', 'done', 204],
        ['updateAgent', 'change blueprints', 'missing', 'failed', 404],
        ['setAgentStatus', 'activate or deactivate blueprints', 'bp', 'done', 200],
        ['updateAgent', 'change blueprints', 'bp', 'done', 200],
        ['createAgent', 'create blueprints', 'bp', 'done', 201],
      ];
      for (const registry of registries) {
        const { entries, next_cursor } = await page(registry);
        assert.equal(next_cursor, null);
        assert.deepEqual(
          entries.map((e) => [e.operation, e.action, e.target, e.outcome, e.status]),
          expected,
        );
        for (const entry of entries) {
          assert.deepEqual(entry.principal, { kind: 'person', name: 'admin', role: 'admin' });
          assert.equal(entry.session, null);
        }
      }

      // Paged two at a time, newest first, and filtered.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const found = await page(second, `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.ok(found.entries.length === 2 || found.next_cursor === null, 'only the last page may be short');
        seen.push(...found.entries.map((e) => e.operation));
        cursor = found.next_cursor;
      } while (cursor);
      assert.deepEqual(
        seen,
        expected.map((e) => e[0]),
      );
      assert.deepEqual(
        (await page(second, '?operation=updateAgent&outcome=done')).entries.map((e) => e.target),
        ['bp'],
      );
      assert.deepEqual((await page(second, '?session=bp')).entries, [], 'no blueprint write is about a session');
      const bad = await call(second, 'GET', '/audit?cursor=not-a-cursor');
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { errors: Array<{ field: string }> }).errors[0]!.field, 'query.cursor');

      if (!databaseUrl) {
        const stored = await readFile(join(dataDir, 'registry-audit.db'), 'utf8');
        assert.match(stored, /createAgent/);
        assert.ok(!stored.includes(secret), 'a system prompt is in the audit log');
      }
    });
  });
