// The PostgreSQL backend against the store conformance suite (a fresh database per test), and what
// is its own: several processes on one database, which the database alone keeps consistent.
import assert from 'node:assert/strict';
import pg from 'pg';
import { Database, migrate, openPool } from '../../servers/common/storage/postgres.js';
import { RUNTIME_MIGRATIONS } from '../../servers/runtime/store/postgres-schema.js';
import { openPostgresStore } from '../../servers/runtime/store/postgres-store.js';
import type { Notice, RuntimeStore } from '../../servers/runtime/store/interfaces.js';
import { eventually } from '../support/processes.js';
import { freshDatabase, queryDatabase, ownPostgresServer, restartPostgres } from '../support/postgres.js';
import type { StoredSession } from '../../servers/runtime/session-store.js';
import { session, storeConformance } from './store-conformance.js';

storeConformance('PostgreSQL', {
  async fresh() {
    const url = await freshDatabase();
    return { open: () => openPostgresStore(url), dispose: async () => undefined };
  },
});

describe('PostgreSQL store: one database, several processes', function () {
  this.timeout(30_000);
  // A test restarts PostgreSQL.
  ownPostgresServer();
  let url: string;
  let stores: RuntimeStore[] = [];

  beforeEach(async () => {
    url = await freshDatabase();
  });
  afterEach(async () => {
    await Promise.all(stores.map((s) => s.close()));
    stores = [];
  });

  const query = <T extends pg.QueryResultRow>(sql: string) => queryDatabase<T>(url, sql);

  it('applies each migration once when several start at once on an empty database', async () => {
    stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(url)));
    const rows = await query<{ component: string; version: number }>(
      'SELECT component, version FROM aof_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows,
      RUNTIME_MIGRATIONS.map((m) => ({ component: 'runtime', version: m.version })),
    );
    // Applied migrations are not applied again, and a newer one is, in order.
    const pool = openPool(url);
    try {
      assert.equal(await migrate(pool, 'runtime', RUNTIME_MIGRATIONS), 0);
      const latest = Math.max(...RUNTIME_MIGRATIONS.map((m) => m.version));
      const next = {
        version: latest + 1,
        name: 'a test column',
        sql: 'ALTER TABLE aof_sessions ADD COLUMN test_only text',
      };
      assert.equal(await migrate(pool, 'runtime', [...RUNTIME_MIGRATIONS, next]), 1);
      await assert.rejects(
        migrate(pool, 'runtime', [
          ...RUNTIME_MIGRATIONS,
          next,
          { version: next.version + 1, name: 'broken', sql: 'ALTER TABLE nowhere ADD COLUMN x text' },
        ]),
        new RegExp(`migration runtime ${next.version + 1} \\(broken\\) failed: relation "nowhere" does not exist`),
      );
      const versions = (
        await query<{ version: number }>(
          "SELECT version FROM aof_migrations WHERE component = 'runtime' ORDER BY version",
        )
      ).map((r) => r.version);
      assert.deepEqual(
        versions,
        [...RUNTIME_MIGRATIONS.map((m) => m.version).sort((a, b) => a - b), next.version],
        'a failed migration leaves no trace',
      );
    } finally {
      await pool.end();
    }
  });

  it('moves the runs of a database made before run records into rows of their own: every run kept, its queued runs claimed as before', async () => {
    const pool = openPool(url);
    const tagged = { ...session('tagged'), runner_tags: ['gpu'] };
    const claimed = session('claimed');
    claimed.runs[0]!.lease = { runner: 'r1', attempt: 1, expires_at: '2999-01-01T00:00:00.000Z', reported: 0 };
    try {
      await migrate(
        pool,
        'runtime',
        RUNTIME_MIGRATIONS.filter((m) => m.version < 9),
      );
      const row = (s: StoredSession) => [
        s.name,
        s.updated_at,
        s.runs.at(-1)!.state,
        null,
        s.project_dir,
        JSON.stringify(s),
      ];
      for (const s of [
        session('plain'),
        tagged,
        claimed,
        session('running', { state: 'running' }),
        session('ended', { state: 'finished' }),
      ]) {
        await pool.query(
          'INSERT INTO aof_sessions (name, updated_at, state, agent, project_dir, doc) VALUES ($1, $2, $3, $4, $5, $6)',
          row(s),
        );
      }
    } finally {
      await pool.end();
    }
    stores = [await openPostgresStore(url)];
    for (const s of [session('plain'), tagged, claimed, session('running', { state: 'running' })])
      assert.deepEqual(await stores[0]!.sessions.find(s.name), s, `${s.name}, as it was written`);
    const claim = (maxInFlight: number) =>
      stores[0]!.sessions.claim({ offer: { runner: 'r', tags: ['gpu'] }, leaseMs: 30_000, maxInFlight, secret: 's' });
    assert.equal(await claim(2), null, 'the running run and the live claim are in flight');
    assert.equal((await claim(3))?.session, 'plain');
    assert.equal((await claim(4))?.session, 'tagged');
    assert.equal(await claim(10), null, 'the claimed, running and ended runs are not queued');
  });

  it('applies migrations in order of version across gaps, and a lower version added later where a higher one is', async () => {
    const pool = openPool(url);
    const table = (n: number) => ({ version: n, name: `table ${n}`, sql: `CREATE TABLE gap_test_${n} (n integer)` });
    try {
      assert.equal(await migrate(pool, 'gaps', [table(5), table(1), table(3)]), 3);
      assert.deepEqual(
        (
          await query<{ version: number }>(
            "SELECT version FROM aof_migrations WHERE component = 'gaps' ORDER BY applied_at, version",
          )
        ).map((r) => r.version),
        [1, 3, 5],
      );
      // Another branch of the code brings version 2 (and 4) to a database that has 1, 3 and 5 already.
      assert.equal(await migrate(pool, 'gaps', [table(1), table(2), table(3), table(4), table(5)]), 2);
      const tables = await query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE 'gap_test_%' ORDER BY tablename",
      );
      assert.deepEqual(
        tables.map((t) => t.tablename),
        [1, 2, 3, 4, 5].map((n) => `gap_test_${n}`),
      );
      assert.equal(await migrate(pool, 'gaps', [table(1), table(2), table(3), table(4), table(5)]), 0);
    } finally {
      await pool.end();
    }
  });

  it('shows a conversation saved by one process to every other, and its removal too', async () => {
    stores = [await openPostgresStore(url), await openPostgresStore(url)];
    await stores[0]!.conversations.save('moved', Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(await stores[1]!.conversations.load('moved'), Buffer.from([0, 1, 2, 255]));
    await stores[1]!.conversations.save('moved', Buffer.from('newer'));
    assert.equal((await stores[0]!.conversations.load('moved'))?.toString(), 'newer');
    assert.equal(await stores[0]!.conversations.remove('moved'), true);
    assert.equal(await stores[1]!.conversations.load('moved'), null);
  });

  it("numbers one session's events without gaps or collisions when two processes append at once", async () => {
    stores = [await openPostgresStore(url), await openPostgresStore(url)];
    const event = (i: number) => ({
      session: 'shared',
      run: 1,
      type: 'message' as const,
      at: '2026-01-01T00:00:00.000Z',
      data: { text: `e${i}` },
    });
    const calls = await Promise.all(
      Array.from({ length: 30 }, (_, i) => stores[i % 2]!.events.append('shared', [event(i), event(i)])),
    );
    for (const events of calls) assert.equal(events[1]!.seq, events[0]!.seq + 1, 'one call gets consecutive numbers');
    const stored = await stores[0]!.events.after('shared', 0, 1000);
    assert.deepEqual(
      stored.map((e) => e.seq),
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    assert.equal(await stores[1]!.events.lastSeq('shared'), 60);
  });

  it("lets one name be created once across processes, and each sees the other's writes", async () => {
    stores = [await openPostgresStore(url), await openPostgresStore(url)];
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => stores[i % 2]!.sessions.insert(session('one'))),
    );
    assert.equal(outcomes.filter(Boolean).length, 1);
    await stores[0]!.sessions.replace(session('one', { state: 'finished', updated_at: '2026-01-01T00:00:09.000Z' }));
    assert.equal((await stores[1]!.sessions.find('one'))?.runs[0]?.state, 'finished');
    assert.deepEqual(await stores[1]!.sessions.counts(), { queued: 0, running: 0, finished: 1, failed: 0, stopped: 0 });
  });

  it('keeps what JSON can hold that a document store may refuse: any key, NUL, other scripts, big numbers', async () => {
    stores = [await openPostgresStore(url)];
    const data = {
      $set: 1,
      'a.b': { 'x\u0000y': 'nul \u0000 inside' },
      text: 'Grüße 👋 \u2028',
      big: Number.MAX_SAFE_INTEGER,
      float: 0.1 + 0.2,
      nested: [null, true, []],
    };
    const [stored] = await stores[0]!.events.append('odd', [
      { session: 'odd', run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data },
    ]);
    assert.deepEqual((await stores[0]!.events.after('odd', 0, 1))[0], stored);
    assert.deepEqual((await stores[0]!.events.after('odd', 0, 1))[0]!.data, data);
  });

  /** What a store hears from the others: notices, and how often it was told to resync. */
  const hear = (store: RuntimeStore) => {
    const heard = { notices: [] as Notice[], resyncs: 0 };
    store.notices!.subscribe({ notice: (notice) => heard.notices.push(notice), resync: () => heard.resyncs++ });
    return heard;
  };
  const change = (name: string) =>
    ({
      kind: 'change',
      change: { name, change: 'state', state: 'running', run: 1, at: '2026-01-01T00:00:00.000Z' },
    }) as const;
  const event = (text: string) => ({
    session: 'shared',
    run: 1,
    type: 'message' as const,
    at: '2026-01-01T00:00:00.000Z',
    data: { text },
  });

  it('serializes exclusive writes to one session across processes', async () => {
    stores = [await openPostgresStore(url), await openPostgresStore(url)];
    await stores[0]!.sessions.insert(session('shared'));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stores[i % 2]!.exclusive('shared', async (tx) => {
          const found = (await tx.sessions.find('shared'))!;
          await new Promise((resolve) => setTimeout(resolve, i % 3));
          found.runs.push({ ...found.runs[0]!, number: found.runs.length + 1 });
          await tx.sessions.replace(found);
        }),
      ),
    );
    assert.equal((await stores[1]!.sessions.find('shared'))?.runs.length, 21, "no process overwrote another's write");
  });

  it('passes over a session another process holds (try-lock), and over a row another transaction locks', async () => {
    stores = [await openPostgresStore(url), await openPostgresStore(url)];
    await stores[0]!.sessions.insert(session('shared'));
    let release!: () => void;
    const holding = stores[0]!.exclusive(
      'shared',
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    await eventually(
      'the first process to hold the session',
      async () => (await stores[1]!.tryExclusive('shared', async () => 'ran')).done === false,
    );
    release();
    await holding;
    assert.deepEqual(await stores[1]!.tryExclusive('shared', async () => 'ran'), { done: true, value: 'ran' });
    // A row locked outside exclusive (FOR UPDATE in another transaction) is skipped too.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT 1 FROM aof_sessions WHERE name = 'shared' FOR UPDATE");
      assert.deepEqual(await stores[1]!.tryExclusive('shared', async () => 'ran'), { done: false });
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });

  it("keeps all of an exclusive work's writes and notices, or none of them", async () => {
    stores = [await openPostgresStore(url), await openPostgresStore(url)];
    const heard = hear(stores[1]!);
    await stores[0]!.sessions.insert(session('shared'));
    await assert.rejects(
      stores[0]!.exclusive('shared', async (tx) => {
        await tx.events.append('shared', [event('lost')]);
        await tx.sessions.replace(session('shared', { state: 'finished' }));
        await tx.webhooks.add([{ id: 'wh_lost', session: 'shared', run: 1, url: 'http://hooks.example/', body: '{}' }]);
        await tx.notify([change('shared')]);
        throw new Error('the work failed after its writes');
      }),
      /the work failed/,
    );
    assert.equal(await stores[0]!.events.lastSeq('shared'), 0);
    assert.equal(await stores[0]!.webhooks.get('wh_lost'), null, 'no notice of an end that was not kept');
    assert.equal((await stores[0]!.sessions.find('shared'))?.runs[0]?.state, 'queued');
    const [written] = await stores[0]!.exclusive('shared', async (tx) => {
      const events = await tx.events.append('shared', [event('kept')]);
      await tx.notify([{ kind: 'events', session: 'shared', first: events[0]!.seq, last: events[0]!.seq }]);
      return events;
    });
    assert.equal(written!.seq, 1, 'the rolled-back append left no gap');
    await eventually('the committed notice', () => heard.notices.length > 0);
    assert.deepEqual(
      heard.notices,
      [{ kind: 'events', session: 'shared', first: 1, last: 1 }],
      'only the committed notice arrives',
    );
  });

  it('tells every other process, not the sender, and many notices at once arrive whole and in order', async () => {
    stores = [await openPostgresStore(url), await openPostgresStore(url), await openPostgresStore(url)];
    const [sender, ...others] = stores.map(hear);
    const sent: Notice[] = Array.from({ length: 300 }, (_, i) => change(`session-${i}-${'x'.repeat(40)}`));
    await stores[0]!.exclusive('any', (tx) => tx.notify(sent));
    for (const heard of others) await eventually('every notice', () => heard!.notices.length === sent.length);
    for (const heard of others) assert.deepEqual(heard!.notices, sent);
    assert.equal(sender!.notices.length, 0, 'a process skips its own notices');
  });

  it('prepares a statement with parameters once per connection, and runs it again by its name', async () => {
    const db = new Database(openPool(url));
    try {
      const prepared = await db.transaction(async (tx) => {
        for (const n of [1, 2, 3])
          assert.equal((await tx.query<{ n: number }>('SELECT $1::int AS n', [n])).rows[0]!.n, n);
        await tx.query("SELECT 'no parameters' AS text");
        const { rows } = await tx.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements');
        return rows.map((r) => r.statement);
      });
      assert.deepEqual(prepared, ['SELECT $1::int AS n']);
    } finally {
      await db.end();
    }
  });

  it("reads the database's clock as a hold is taken, and answers that time for the whole hold", async () => {
    const store = await openPostgresStore(url);
    stores.push(store);
    await store.sessions.insert(session('held'));
    const before = await store.clock();
    const [first, second] = await store.exclusive('held', async (tx) => {
      const at = await tx.clock();
      await new Promise((resolve) => setTimeout(resolve, 30));
      return [at, await tx.clock()];
    });
    const after = await store.clock();
    assert.equal(first, second);
    assert.ok(first! >= before && first! <= after - 30, `${before} <= ${first} <= ${after} - 30`);
    const tried = await store.tryExclusive('held', async (tx) => tx.clock());
    assert.ok(tried.done && tried.value >= after, 'a try-lock reads it too');
  });

  it('listens again after a database restart and says so (resync)', async function () {
    this.timeout(60_000);
    stores = [await openPostgresStore(url), await openPostgresStore(url)];
    const heard = hear(stores[1]!);
    await restartPostgres();
    await eventually('the resync after the restart', () => heard.resyncs === 1);
    await eventually('a notice after the restart', async () => {
      await stores[0]!.exclusive('after', (tx) => tx.notify([change('after')]));
      return heard.notices.length > 0;
    });
    assert.equal((heard.notices[0] as { change: { name: string } }).change.name, 'after');
  });
});
