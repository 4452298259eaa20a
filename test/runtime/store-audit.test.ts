// The audit log and who answered an approval request, kept by both stores: the embedded one (a data
// dir) and PostgreSQL (a fresh database, its migrations applied).
import assert from 'node:assert/strict';
import type { RuntimeStore } from '../../servers/runtime/store/interfaces.js';
import type { AuditEntry } from '../../servers/common/audit/audit-store.js';
import { openRuntimeStore } from '../../servers/runtime/store/select-store.js';
import { STORE_BACKENDS } from '../support/postgres.js';
import { removeDir, tempDir } from '../support/servers.js';

const entry = (id: string, at: string, over: Partial<AuditEntry> = {}): AuditEntry => ({
  id,
  at,
  principal: { kind: 'person', name: 'alice', role: 'operator' },
  operation: 'stopSession',
  action: 'stop sessions',
  session: 's1',
  target: null,
  outcome: 'done',
  status: 200,
  ...over,
});

for (const backend of STORE_BACKENDS)
  describe(`audit store (${backend.label})`, function () {
    this.timeout(60_000);
    let dataDir: string;
    let store: RuntimeStore;

    beforeEach(async () => {
      dataDir = await tempDir('aof-audit-');
      store = await openRuntimeStore({ dataDir, databaseUrl: await backend.databaseUrl() });
    });
    afterEach(async () => {
      await store?.close();
      await removeDir(dataDir);
    });

    it('pages newest first (at, then id), strictly after a position, with every filter', async () => {
      const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
      await store.audit.append(entry('aud_a', at(1)));
      await store.audit.append(entry('aud_b', at(2), { principal: { kind: 'agent', name: 'lead', run: 1 } }));
      await store.audit.append(entry('aud_c', at(2), { session: 's2', outcome: 'refused', status: 403 }));
      await store.audit.append(entry('aud_d', at(3), { operation: 'createSession', session: null, target: 't' }));
      const ids = (list: AuditEntry[]) => list.map((e) => e.id);
      assert.deepEqual(ids(await store.audit.page({}, null, 10)), ['aud_d', 'aud_c', 'aud_b', 'aud_a']);
      assert.deepEqual(ids(await store.audit.page({}, { at: at(2), id: 'aud_c' }, 10)), ['aud_b', 'aud_a']);
      assert.deepEqual(ids(await store.audit.page({}, { at: at(3), id: 'aud_d' }, 2)), ['aud_c', 'aud_b']);
      assert.deepEqual(ids(await store.audit.page({ kind: 'agent' }, null, 10)), ['aud_b']);
      assert.deepEqual(ids(await store.audit.page({ principal: 'alice' }, null, 10)), ['aud_d', 'aud_c', 'aud_a']);
      assert.deepEqual(ids(await store.audit.page({ session: 's2' }, null, 10)), ['aud_c']);
      assert.deepEqual(ids(await store.audit.page({ outcome: 'refused' }, null, 10)), ['aud_c']);
      assert.deepEqual(ids(await store.audit.page({ operation: 'createSession' }, null, 10)), ['aud_d']);
      assert.deepEqual(ids(await store.audit.page({ since: at(2) }, null, 10)), ['aud_d', 'aud_c', 'aud_b']);
      const [read] = await store.audit.page({ kind: 'agent' }, null, 1);
      assert.deepEqual(read, entry('aud_b', at(2), { principal: { kind: 'agent', name: 'lead', run: 1 } }));
      assert.equal(await store.audit.prune(at(2)), 1);
      assert.deepEqual(ids(await store.audit.page({}, null, 10)), ['aud_d', 'aud_c', 'aud_b']);
    });

    it('keeps who answered an approval request', async () => {
      await store.approvals.insert({
        id: 'apr_1',
        session: 's',
        run: 1,
        tool: 'Bash',
        input: { command: 'ls' },
        tool_use_id: null,
        state: 'pending',
        asked_at: '2026-01-01T00:00:00.000Z',
        expires_at: '2026-01-01T00:10:00.000Z',
        answered_at: null,
        answered_by: null,
        answerer: null,
        message: null,
      });
      const answerer = { kind: 'agent' as const, name: 'lead', run: 2 };
      const settled = await store.approvals.settle('apr_1', {
        state: 'approved',
        answered_by: 'person',
        answered_at: '2026-01-01T00:01:00.000Z',
        message: null,
        answerer,
      });
      assert.deepEqual(settled?.answerer, answerer);
      assert.deepEqual((await store.approvals.get('apr_1'))?.answerer, answerer);
    });
  });
