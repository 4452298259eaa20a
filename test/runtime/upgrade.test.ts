// Upgrading in place: a data dir and a PostgreSQL database written by the version before runs had
// records of their own (its sessions kept their runs inside), by that version's own code
// (test/fixtures/upgrade/generate.ts wrote them, with what its API answered), open with this version
// with every session, run, event, callback, approval and webhook delivery as they were, and go on.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Orchestrator, type Session } from '../../sdk/index.js';
import { migrate, openPool } from '../../servers/common/storage/postgres.js';
import type { RunningRuntime } from '../../servers/runtime/server.js';
import { toSession } from '../../servers/runtime/session-store.js';
import { openEmbeddedStore } from '../../servers/runtime/store/embedded-store.js';
import type { Approval, Callback, RuntimeStore, WebhookDelivery } from '../../servers/runtime/store/interfaces.js';
import { RUNTIME_MIGRATIONS } from '../../servers/runtime/store/postgres-schema.js';
import { openPostgresStore } from '../../servers/runtime/store/postgres-store.js';
import { freshDatabase, queryDatabase } from '../support/postgres.js';
import { eventually } from '../support/processes.js';
import { startLoneRuntime } from '../support/runtime-on-dir.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/upgrade/', import.meta.url));

interface Expected {
  sessions: Record<string, Session>;
  events: Record<string, Array<{ seq: number }>>;
  callbacks: Record<string, Callback[]>;
  approvals: Approval[];
  list: { sessions: Array<{ name: string; totals: { wall_ms: number } }>; counts: Record<string, number> };
  webhooks: WebhookDelivery[];
}

/** A session's totals count the wall time of a run still going up to now: the one figure that moves by itself. */
const still = <T extends { totals: { wall_ms: number } }>(value: T): T => ({
  ...value,
  totals: { ...value.totals, wall_ms: 0 },
});

/**
 * `value` without the fields the earlier version's answer (`then`) did not have, where they hold
 * null: fields added since (who started a session, who stopped a run, ...) that data written before
 * them cannot know. Any other difference stays, to be seen.
 */
function sinceThen<T>(value: T, then: unknown): T {
  if (Array.isArray(value) && Array.isArray(then)) return value.map((v, i) => sinceThen(v, then[i])) as T;
  if (!value || typeof value !== 'object' || !then || typeof then !== 'object') return value;
  const kept: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(key in then) && v === null) continue;
    kept[key] = sinceThen(v, (then as Record<string, unknown>)[key]);
  }
  return kept as T;
}

/** A database as the earlier version left it: its schema (migrations before 9) and its rows. */
async function restoreDatabase(): Promise<string> {
  const url = await freshDatabase();
  const tables = JSON.parse(await readFile(join(FIXTURES, 'postgres', 'tables.json'), 'utf8')) as Record<
    string,
    unknown[]
  >;
  const pool = openPool(url);
  try {
    await migrate(
      pool,
      'runtime',
      RUNTIME_MIGRATIONS.filter((m) => m.version < 9),
    );
    for (const [table, rows] of Object.entries(tables)) {
      if (table === 'aof_migrations' || !rows.length) continue;
      await pool.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1)`, [
        JSON.stringify(rows),
      ]);
    }
  } finally {
    await pool.end();
  }
  return url;
}

for (const backend of ['embedded', 'postgres'] as const) {
  describe(`upgrade in place (${backend}): data written by the version before run records`, function () {
    this.timeout(60_000);
    let expected: Expected;
    let dataDir: string;
    let databaseUrl: string | undefined;
    let runtime: RunningRuntime | undefined;

    before(async () => {
      expected = JSON.parse(await readFile(join(FIXTURES, backend, 'expected.json'), 'utf8')) as Expected;
      dataDir = await mkdtemp(join(tmpdir(), 'aof-upgrade-'));
      if (backend === 'embedded') await cp(join(FIXTURES, 'embedded', 'data'), dataDir, { recursive: true });
      else databaseUrl = await restoreDatabase();
    });
    after(async () => {
      await runtime?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    const open = (): Promise<RuntimeStore> =>
      databaseUrl ? openPostgresStore(databaseUrl) : openEmbeddedStore(dataDir);

    it('moves the runs into records of their own, and keeps every record as it was', async () => {
      const store = await open();
      try {
        for (const [name, session] of Object.entries(expected.sessions)) {
          const stored = await store.sessions.find(name);
          assert.ok(stored, name);
          assert.deepEqual(sinceThen(still(toSession(stored)), session), still(session), name);
        }
        const webhooks: WebhookDelivery[] = [];
        for (const name of Object.keys(expected.sessions))
          webhooks.push(...(await store.webhooks.find({ session: name })));
        assert.deepEqual(webhooks, expected.webhooks);
        for (const [parent, callbacks] of Object.entries(expected.callbacks))
          assert.deepEqual(sinceThen(await store.callbacks.find(parent), callbacks), callbacks, parent);
        assert.deepEqual(sinceThen(await store.approvals.find({}), expected.approvals), expected.approvals);
        for (const [name, events] of Object.entries(expected.events))
          assert.deepEqual(await store.events.after(name, 0, 1000), events, name);
      } finally {
        await store.close();
      }
      // The sessions' own records no longer hold runs.
      if (databaseUrl) {
        const [row] = await queryDatabase<{ inside: string; runs: string }>(
          databaseUrl,
          "SELECT (SELECT count(*) FROM aof_sessions WHERE doc->'runs' IS NOT NULL) AS inside, (SELECT count(*) FROM aof_runs) AS runs",
        );
        assert.deepEqual([Number(row!.inside), Number(row!.runs)], [0, 12]);
      } else {
        const lines = (await readFile(join(dataDir, 'sessions.db'), 'utf8')).split('\n').filter(Boolean);
        assert.ok(
          lines.length >= 10 && lines.every((line) => !('runs' in JSON.parse(line))),
          'sessions.db without runs',
        );
        const runs = (await readFile(join(dataDir, 'runs.db'), 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { _id?: string; session?: string })
          .flatMap((doc) => (doc.session ? [doc._id] : []));
        assert.equal(new Set(runs).size, 12, 'a record for each run');
      }
    });

    it('serves them as the earlier version did, and goes on from there', async () => {
      runtime = await startLoneRuntime(dataDir, databaseUrl ? { databaseUrl } : {});
      const ao = new Orchestrator({ runtimeUrl: runtime.url, registryUrl: 'http://127.0.0.1:9', token: null });
      // A request still pending when the fixture was written has expired since (after 10 minutes): the
      // runtime answers it by its timeout as it starts, and its session moves on by that answer.
      const expired = new Set(
        expected.approvals
          .filter((a) => a.state === 'pending' && Date.parse(a.expires_at) <= Date.now())
          .map((a) => a.id),
      );
      const moved = new Set(expected.approvals.filter((a) => expired.has(a.id)).map((a) => a.session));
      await eventually('expired requests answered', async () =>
        (await ao.approvals.list()).every((a) => !expired.has(a.id) || a.state !== 'pending'),
      );
      for (const [name, session] of Object.entries(expected.sessions)) {
        const events = (await ao.sessions.listEvents(name, { limit: 1000 })).events;
        if (moved.has(name)) {
          const { pending_approvals, updated_at, ...now } = still(await ao.sessions.get(name));
          const { pending_approvals: _p, updated_at: _u, ...then } = still(session);
          assert.deepEqual(sinceThen(now, then), then, name);
          assert.equal(pending_approvals, 0, name);
          assert.deepEqual(events.slice(0, expected.events[name]!.length), expected.events[name], name);
        } else {
          assert.deepEqual(sinceThen(still(await ao.sessions.get(name)), session), still(session), name);
          assert.deepEqual(events, expected.events[name], name);
        }
      }
      for (const [parent, callbacks] of Object.entries(expected.callbacks))
        assert.deepEqual(sinceThen(await ao.sessions.callbacks(parent), callbacks), callbacks, parent);
      const approvals = await ao.approvals.list();
      assert.deepEqual(
        approvals.map((a) => a.id),
        expected.approvals.map((a) => a.id),
      );
      for (const [i, approval] of approvals.entries()) {
        if (!expired.has(approval.id))
          assert.deepEqual(sinceThen(approval, expected.approvals[i]), expected.approvals[i]);
        else assert.deepEqual([approval.state, approval.answered_by], ['denied', 'timeout']);
      }
      const list = await ao.sessions.list();
      const unmoved = (sessions: Array<{ name: string; totals: { wall_ms: number } }>) =>
        sessions.filter((s) => !moved.has(s.name)).map(still);
      assert.deepEqual(
        sinceThen(unmoved(list.sessions), unmoved(expected.list.sessions)),
        unmoved(expected.list.sessions),
      );
      assert.deepEqual(list.counts, expected.list.counts);

      // The running run ends, numbered on; an ended session resumes with its third run; a queued one stops.
      const before = expected.events.running!.length;
      await ao.sessions.appendEvents('running', [
        { type: 'result', data: { text: 'done after the upgrade', is_error: false } },
        { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'exited' } },
      ]);
      const running = await ao.sessions.get('running');
      assert.equal(running.state, 'finished');
      assert.deepEqual(
        (await ao.sessions.listEvents('running', { limit: 1000 })).events.map((e) => e.seq),
        Array.from({ length: before + 2 }, (_, i) => i + 1),
      );
      const resumed = await ao.sessions.resume('plain', { prompt: 'third' });
      assert.deepEqual(
        resumed.runs.map((r) => `${r.number} ${r.state}`),
        ['1 finished', '2 finished', '3 queued'],
      );
      assert.equal((await ao.sessions.stop('queued')).state, 'stopped');
    });
  });
}
