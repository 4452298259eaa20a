// Retention: POST /sessions/prune (and ao-clean --older-than/--keep) deletes old sessions that have
// ended, with their event files, and compacts sessions.db while the runtime keeps serving.
import assert from 'node:assert/strict';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAge } from '../../bin/lib/age.js';
import type { Orchestrator } from '../../sdk/index.js';
import { openCollection } from '../../servers/common/storage/data-dir.js';
import type { RunningRuntime } from '../../servers/runtime/server.js';
import type { Event, StoredSession } from '../../servers/runtime/session-store.js';
import { eventFileName } from '../../servers/runtime/store/event-files.js';
import { writeEventFile } from '../../servers/runtime/store/nedb-migration.js';
import { runBin } from '../bin/run-bin.js';
import { startRuntimeOn } from '../support/runtime-on-dir.js';
import { rawRequest, removeDir, tempDir } from '../support/servers.js';
import { session } from './store-conformance.js';

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

describe('runtime store: retention', function () {
  this.timeout(60_000);
  let dataDir: string;
  let runtime: RunningRuntime | undefined;
  let ao: Orchestrator;

  /** A data dir with sessions of known ages and states (days since last activity), each with events. */
  async function seed(sessions: Array<[string, number, StoredSession['runs'][number]['state']]>): Promise<void> {
    const db = await openCollection<StoredSession>(dataDir, 'sessions.db', []);
    await mkdir(join(dataDir, 'events'), { recursive: true });
    for (const [name, days, state] of sessions) {
      await db.insert(session(name, { state, updated_at: daysAgo(days) }));
      const events: Event[] = Array.from({ length: 20 }, (_, i) => ({
        session: name,
        seq: i + 1,
        run: 1,
        type: 'message',
        at: daysAgo(days),
        data: { text: 'x'.repeat(500) },
      }));
      await writeEventFile(join(dataDir, 'events', eventFileName(name)), events);
    }
    ({ runtime, client: ao } = await startRuntimeOn(dataDir));
  }

  beforeEach(async () => {
    dataDir = await tempDir('aof-retention-');
  });
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await removeDir(dataDir);
  });

  const names = async () => (await ao.sessions.list({ limit: 500 })).sessions.map((s) => s.name).sort();

  it('deletes ended sessions older than a date, with their events, and never an active one', async () => {
    await seed([
      ['old-done', 40, 'finished'],
      ['old-failed', 35, 'failed'],
      ['old-running', 50, 'running'],
      ['old-queued', 45, 'queued'],
      ['new-done', 2, 'finished'],
      ['edge', 29, 'stopped'],
    ]);
    const before = (await stat(join(dataDir, 'sessions.db'))).size;
    const deleted = await ao.sessions.prune({ before: new Date(Date.now() - 30 * DAY) });
    assert.deepEqual(deleted.sort(), ['old-done', 'old-failed']);
    assert.deepEqual(await names(), ['edge', 'new-done', 'old-queued', 'old-running']);
    assert.deepEqual(
      (await readdir(join(dataDir, 'events'))).sort(),
      ['edge', 'new-done', 'old-queued', 'old-running'].map(eventFileName).sort(),
    );
    assert.ok((await stat(join(dataDir, 'sessions.db'))).size < before, 'sessions.db was compacted');
    assert.equal((await ao.sessions.listEvents('edge')).events.length, 20, 'the others keep their events');
  });

  it('keeps the N most recently active, and with a date too, only deletes what is both', async () => {
    await seed([
      ['a', 1, 'finished'],
      ['b', 2, 'finished'],
      ['c', 3, 'running'],
      ['d', 40, 'finished'],
      ['e', 50, 'failed'],
      ['f', 60, 'stopped'],
    ]);
    assert.deepEqual((await ao.sessions.prune({ keep: 4, before: daysAgo(55) })).sort(), ['f']);
    assert.deepEqual((await ao.sessions.prune({ keep: 2 })).sort(), ['d', 'e']);
    assert.deepEqual(await names(), ['a', 'b', 'c']);
    assert.deepEqual(await ao.sessions.prune({ keep: 0, before: daysAgo(10) }), []);
    assert.deepEqual((await ao.sessions.prune({ keep: 0 })).sort(), ['a', 'b']);
    assert.deepEqual(await names(), ['c']);
  });

  it('keeps serving while it prunes, and refuses an empty or bad request with a 400 naming the field', async () => {
    await seed(
      Array.from(
        { length: 300 },
        (_, i) => [`s${i}`, 40 + (i % 20), i % 10 ? 'finished' : 'running'] as [string, number, 'finished' | 'running'],
      ),
    );
    const [deleted, pages] = await Promise.all([
      ao.sessions.prune({ before: daysAgo(30) }),
      Promise.all(Array.from({ length: 20 }, () => ao.sessions.list({ limit: 10 }))),
    ]);
    assert.equal(deleted.length, 270);
    assert.ok(pages.every((p) => p.sessions.length === 10));
    assert.equal((await names()).length, 30);
    for (const [body, field] of [
      ['{}', 'body'],
      ['{"keep":-1}', 'body.keep'],
      ['{"before":"last week"}', 'body.before'],
      ['{"older_than":"30d"}', 'body.older_than'],
    ] as const) {
      const r = await rawRequest(runtime!.url, {
        method: 'POST',
        path: '/sessions/prune',
        body,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 400, `${body}: ${r.text}`);
      assert.ok(
        r.json.errors.some((e: { field: string }) => e.field === field),
        `${body}: ${r.text}`,
      );
    }
  });

  it('ao-clean --older-than and --keep prune; a bad age is a usage error', async () => {
    await seed([
      ['recent', 1, 'finished'],
      ['month', 31, 'finished'],
      ['year', 365, 'failed'],
    ]);
    const env = { AGENT_ORCHESTRATOR_SESSION_API_URL: runtime!.url, PATH: process.env.PATH ?? '' };
    const r = await runBin('ao-clean', ['--older-than', '60d'], { env });
    assert.deepEqual([r.code, r.stdout], [0, 'Deleted 1 session: year\n']);
    assert.deepEqual((await runBin('ao-clean', ['--keep', '1', '--json'], { env })).json(), { deleted: ['month'] });
    const bad = await runBin('ao-clean', ['--older-than', '30 days'], { env });
    assert.deepEqual(
      [bad.code, bad.stderr],
      [1, "ao-clean: --older-than must be a number and a unit (m, h, d or w), like 30d, not '30 days'\n"],
    );
    assert.equal((await runBin('ao-clean', ['--keep', '-2'], { env })).code, 1);
    assert.deepEqual(await names(), ['recent']);
  });

  it('reads ages as minutes, hours, days and weeks', () => {
    assert.equal(parseAge('90m'), 90 * 60_000);
    assert.equal(parseAge('12h'), 12 * 3_600_000);
    assert.equal(parseAge('30d'), 30 * DAY);
    assert.equal(parseAge('2w'), 14 * DAY);
    for (const bad of ['', 'd', '30', '30 d', '-1d', '1.5d', '30y']) assert.equal(parseAge(bad), null, bad);
  });
});
