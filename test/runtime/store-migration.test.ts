// Upgrading: a data dir written by the previous version (sessions.db and a single events.db holding
// every event, written through nedb exactly as that version did) opens in today's runtime, which
// moves the events into one file per session; every session and event survives, numbering goes on.
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openCollection } from '../../servers/common/storage/data-dir.js';
import type { RunningRuntime } from '../../servers/runtime/server.js';
import type { Event, StoredSession } from '../../servers/runtime/session-store.js';
import { startRuntimeOn } from '../support/runtime-on-dir.js';
import { removeDir, tempDir } from '../support/servers.js';
import { eventFileName } from '../../servers/runtime/store/event-files.js';
import { session } from './store-conformance.js';

/** Writes a data dir the way the previous version's store did: its files, its indexes, its event keys. */
async function writePreviousVersion(
  dataDir: string,
  sessions: StoredSession[],
  events: Event[],
  deletedSession: string,
): Promise<void> {
  const sessionsDb = await openCollection<StoredSession>(dataDir, 'sessions.db', []);
  const eventsDb = await openCollection<Event & { key: string; _id?: string }>(dataDir, 'events.db', [
    { fieldName: 'session' },
    { fieldName: 'key', unique: true },
  ]);
  const key = (name: string, seq: number) => `${name}/${String(seq).padStart(15, '0')}`;
  for (const s of sessions) await sessionsDb.insert(s);
  // Appended in batches, interleaved between sessions, as runs recorded them.
  for (let i = 0; i < events.length; i += 7) {
    await eventsDb.insert(events.slice(i, i + 7).map((e) => ({ ...e, key: key(e.session, e.seq) })));
  }
  // A deleted session leaves `$$deleted` lines behind in both files.
  await eventsDb.remove({ session: deletedSession }, { multi: true });
  await sessionsDb.remove({ _id: deletedSession }, {});
}

describe('runtime store: upgrading a data dir of the previous version', function () {
  this.timeout(30_000);
  let dataDir: string;
  let runtime: RunningRuntime | undefined;
  const start = async () => {
    const started = await startRuntimeOn(dataDir);
    runtime = started.runtime;
    return started.client;
  };

  beforeEach(async () => {
    dataDir = await tempDir('aof-upgrade-');
  });
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await removeDir(dataDir);
  });

  it('moves every event into per-session files and serves all sessions and events as before', async () => {
    const names = ['alpha', 'Beta', 'beta', 'gamma-1', 'empty', 'doomed'];
    const stored = names.map((name, i) =>
      session(name, {
        state: name === 'gamma-1' ? 'running' : 'finished',
        updated_at: `2026-01-0${i + 1}T00:00:00.000Z`,
        runs: 2,
      }),
    );
    const events: Event[] = [];
    const counts: Record<string, number> = { alpha: 120, Beta: 3, beta: 45, 'gamma-1': 260, empty: 0, doomed: 9 };
    for (let seq = 1; seq <= 260; seq++) {
      for (const name of names) {
        if (seq > counts[name]!) continue;
        events.push({
          session: name,
          seq,
          run: seq <= 10 ? 1 : 2,
          type: 'message',
          at: '2026-01-01T00:00:00.000Z',
          data: { role: 'assistant', text: `${name} #${seq} ${'x'.repeat(seq % 50)}` },
        });
      }
    }
    await writePreviousVersion(dataDir, stored, events, 'doomed');
    assert.ok((await stat(join(dataDir, 'events.db'))).size > 0);

    const ao = await start();
    await assert.rejects(stat(join(dataDir, 'events.db')), /ENOENT/, 'the single file is gone once migrated');
    assert.equal((await readdir(join(dataDir, 'events'))).length, 4, 'one file per session that has events');
    const listed = await ao.sessions.list();
    assert.deepEqual(
      listed.sessions.map((s) => s.name),
      ['empty', 'gamma-1', 'beta', 'Beta', 'alpha'],
    );
    assert.deepEqual(listed.counts, { queued: 0, running: 1, finished: 4, failed: 0, stopped: 0 });
    for (const name of names.filter((n) => n !== 'doomed')) {
      const before = stored.find((s) => s._id === name)!;
      const whole = await ao.sessions.get(name);
      assert.deepEqual(
        whole.runs.map((r) => r.prompt),
        before.runs.map((r) => r.prompt),
      );
      const got: Event[] = [];
      for (let after = 0; ; ) {
        const page = await ao.sessions.listEvents(name, { after, limit: 100 });
        got.push(...(page.events as Event[]));
        if (!page.has_more) break;
        after = page.events[page.events.length - 1]!.seq;
      }
      assert.deepEqual(
        got,
        events.filter((e) => e.session === name),
        `every event of ${name}, in order, unchanged`,
      );
    }
    await assert.rejects(ao.sessions.get('doomed'));

    // The numbering goes on after the migrated events, and a second start migrates nothing again.
    const [appended] = await ao.sessions.appendEvents('gamma-1', [
      { type: 'message', data: { role: 'assistant', text: 'after the upgrade' } },
    ]);
    assert.equal(appended!.seq, 261);
    await runtime!.close();
    const again = await start();
    assert.equal(
      (await again.sessions.listEvents('gamma-1', { after: 260 })).events[0]?.data.text,
      'after the upgrade',
    );
    assert.equal((await again.sessions.listEvents('alpha', { after: 119 })).events.length, 1);
  });

  it('finishes a migration that a crash interrupted', async () => {
    const stored = [session('one', { state: 'finished' }), session('two', { state: 'finished' })];
    const events: Event[] = ['one', 'two'].flatMap((name) =>
      Array.from({ length: 5 }, (_, i) => ({
        session: name,
        seq: i + 1,
        run: 1,
        type: 'message' as const,
        at: '2026-01-01T00:00:00.000Z',
        data: { role: 'assistant', text: `${name}${i}` },
      })),
    );
    await writePreviousVersion(dataDir, stored, events, 'none');
    // As if the last start died midway: a half-written staging folder, one file already moved.
    const { writeEventFile } = await import('../../servers/runtime/store/nedb-migration.js');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dataDir, 'events.migrating'), { recursive: true });
    await writeEventFile(join(dataDir, 'events.migrating', eventFileName('two')), events.slice(5, 6));
    await mkdir(join(dataDir, 'events'), { recursive: true });
    await writeEventFile(join(dataDir, 'events', eventFileName('one')), events.slice(0, 5));
    const ao = await start();
    assert.deepEqual(
      (await ao.sessions.listEvents('one')).events.map((e) => e.data.text),
      ['one0', 'one1', 'one2', 'one3', 'one4'],
    );
    assert.deepEqual(
      (await ao.sessions.listEvents('two')).events.map((e) => e.data.text),
      ['two0', 'two1', 'two2', 'two3', 'two4'],
    );
  });
});
