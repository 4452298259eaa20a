// The embedded store (nedb files in a data dir) against the conformance suite, and what is its own:
// start-up reads no events, event files are opened on demand and closed when idle.
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONVERSATIONS_DIR, conversationFileName } from '../../servers/runtime/store/embedded-conversations.js';
import { openEmbeddedStore } from '../../servers/runtime/store/embedded-store.js';
import { EventFiles, eventFileName } from '../../servers/runtime/store/event-files.js';
import { removeDir, tempDir } from '../support/servers.js';
import { session, storeConformance } from './store-conformance.js';

storeConformance('embedded (nedb sessions, one events file per session)', {
  async fresh() {
    const dir = await tempDir('aof-store-');
    // Two open event files at most, so the suite also exercises closing and reopening them.
    return { open: () => openEmbeddedStore(dir, { maxOpenEventFiles: 2 }), dispose: () => removeDir(dir) };
  },
});

describe('embedded store: event files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('aof-store-');
  });
  afterEach(async () => removeDir(dir));

  it('keeps at most maxOpen files open, closing the least recently used', async () => {
    const log = await EventFiles.open(dir, { maxOpen: 3 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      await log.append(name, [
        { session: name, run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data: { text: name } },
      ]);
    }
    assert.equal(log.openFiles, 3);
    assert.equal((await log.after('a', 0, 1))[0]?.data.text, 'a', 'a closed file opens again');
    assert.equal(log.openFiles, 3);
    await log.close();
    assert.equal(log.openFiles, 0);
  });

  it('gives each session its own file, distinct for names that differ only in case', async () => {
    const store = await openEmbeddedStore(dir);
    await store.events.append('Abc', [
      { session: 'Abc', run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data: { text: 'upper' } },
    ]);
    await store.events.append('abc', [
      { session: 'abc', run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data: { text: 'lower' } },
    ]);
    assert.deepEqual((await readdir(join(dir, 'events'))).sort(), [eventFileName('Abc'), eventFileName('abc')].sort());
    assert.notEqual(eventFileName('Abc').toLowerCase(), eventFileName('abc').toLowerCase());
    await store.events.remove('Abc');
    assert.deepEqual(await readdir(join(dir, 'events')), [eventFileName('abc')]);
    assert.ok((await stat(join(dir, 'sessions.db'))).isFile());
    await store.close();
  });

  it('drops the indexes an earlier version kept in runs.db (runs by state, by lease end)', async () => {
    const made = [
      { $$indexCreated: { fieldName: 'state' } },
      { $$indexCreated: { fieldName: 'lease_expires_at', sparse: true } },
    ];
    await writeFile(join(dir, 'runs.db'), made.map((line) => `${JSON.stringify(line)}\n`).join(''));
    // What runs.db says of its indexes: made (by field) and removed.
    const indexLines = async () => {
      const lines = (await readFile(join(dir, 'runs.db'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { $$indexCreated?: { fieldName: string }; $$indexRemoved?: string });
      return {
        made: lines.flatMap((line) => (line.$$indexCreated ? [line.$$indexCreated.fieldName] : [])),
        removed: lines.flatMap((line) => (line.$$indexRemoved ? [line.$$indexRemoved] : [])),
      };
    };
    let store = await openEmbeddedStore(dir);
    await store.sessions.insert(session('kept'));
    await store.close();
    assert.deepEqual((await indexLines()).removed, ['state', 'lease_expires_at']);
    // Opening compacts the file: only the indexes kept are in it, and none is removed again.
    store = await openEmbeddedStore(dir);
    assert.equal((await store.sessions.find('kept'))?.runs[0]?.state, 'queued');
    await store.close();
    assert.deepEqual(await indexLines(), { made: ['session', 'queue'], removed: [] });
  });

  it('writes one JSON event per line, seq first, and creates no file for a session without events', async () => {
    const log = await EventFiles.open(dir);
    assert.deepEqual(await log.after('quiet', 0, 10), []);
    assert.equal(await log.lastSeq('quiet'), 0);
    await log.append('s', [
      { session: 's', run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data: { text: 'line\nbreak' } },
    ]);
    await log.close();
    assert.deepEqual(await readdir(join(dir, 'events')), [eventFileName('s')]);
    assert.equal(
      await readFile(join(dir, 'events', eventFileName('s')), 'utf8'),
      '{"seq":1,"session":"s","run":1,"type":"message","at":"2026-01-01T00:00:00.000Z","data":{"text":"line\\nbreak"}}\n',
    );
  });

  it('drops a line cut short by a crash mid-write, and reads lines written in another field order', async () => {
    const file = join(dir, 'events', eventFileName('cut'));
    const log = await EventFiles.open(dir);
    await log.append(
      'cut',
      [1, 2].map((i) => ({
        session: 'cut',
        run: 1,
        type: 'message' as const,
        at: '2026-01-01T00:00:00.000Z',
        data: { text: `e${i}` },
      })),
    );
    await log.close();
    await appendFile(
      file,
      '{"session":"cut","run":1,"type":"message","at":"2026-01-01T00:00:00.000Z","data":{"text":"e3"},"seq":3}\n{"seq":4,"session":"cut","da',
    );
    const again = await EventFiles.open(dir);
    assert.deepEqual(
      (await again.after('cut', 0, 10)).map((e) => [e.seq, e.data.text]),
      [
        [1, 'e1'],
        [2, 'e2'],
        [3, 'e3'],
      ],
    );
    const [next] = await again.append('cut', [
      { session: 'cut', run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data: { text: 'e4' } },
    ]);
    assert.equal(next!.seq, 4);
    assert.deepEqual(
      (await again.after('cut', 2, 10)).map((e) => e.data.text),
      ['e3', 'e4'],
    );
    await again.close();
    assert.equal(
      (await readFile(file, 'utf8')).split('\n').filter(Boolean).length,
      4,
      'the cut line is gone from the file',
    );
    await writeFile(file, '');
  });
});

describe('embedded store: conversation files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('aof-store-');
  });
  afterEach(async () => removeDir(dir));

  it("keeps each conversation as conversations/<name>.jsonl.gz, readable by the runtime's user only", async () => {
    const store = await openEmbeddedStore(dir);
    await store.conversations.save('Talk', Buffer.from('gzip bytes'));
    await store.close();
    const folder = join(dir, CONVERSATIONS_DIR);
    assert.equal(conversationFileName('Talk'), '~talk.jsonl.gz');
    assert.deepEqual(await readdir(folder), ['~talk.jsonl.gz']);
    assert.equal(await readFile(join(folder, '~talk.jsonl.gz'), 'utf8'), 'gzip bytes');
    assert.equal((await stat(join(folder, '~talk.jsonl.gz'))).mode & 0o777, 0o600);
    assert.equal((await stat(folder)).mode & 0o777, 0o700);
  });

  it('keeps the previous conversation when a crash cut a save short, and drops the temp file it left', async () => {
    let store = await openEmbeddedStore(dir);
    await store.conversations.save('cut', Buffer.from('before'));
    await store.close();
    // What a crash between writing the temp file and renaming it over the conversation leaves.
    const folder = join(dir, CONVERSATIONS_DIR);
    await writeFile(join(folder, `${conversationFileName('cut')}.0123456789ab.tmp`), 'half of the ne');
    store = await openEmbeddedStore(dir);
    assert.equal((await store.conversations.load('cut'))?.toString(), 'before');
    assert.deepEqual(await readdir(folder), [conversationFileName('cut')]);
    await store.close();
  });
});
