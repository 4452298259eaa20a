// The embedded store (nedb files in a data dir) against the conformance suite, and what is its own:
// start-up reads no events, event files are opened on demand and closed when idle.
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../servers/runtime/store/embedded-store.js';
import { NedbEventFiles, eventFileName } from '../../servers/runtime/store/nedb-event-files.js';
import { removeDir, tempDir } from '../support/servers.js';
import { storeConformance } from './store-conformance.js';

storeConformance('embedded (nedb, one events file per session)', {
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
    const log = await NedbEventFiles.open(dir, { maxOpen: 3 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      await log.append(name, [{ session: name, run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data: { text: name } }]);
    }
    assert.equal(log.openFiles, 3);
    assert.equal((await log.after('a', 0, 1))[0]?.data.text, 'a', 'a closed file opens again');
    assert.equal(log.openFiles, 3);
    await log.close();
    assert.equal(log.openFiles, 0);
  });

  it('gives each session its own file, distinct for names that differ only in case', async () => {
    const store = await openEmbeddedStore(dir);
    await store.events.append('Abc', [{ session: 'Abc', run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data: { text: 'upper' } }]);
    await store.events.append('abc', [{ session: 'abc', run: 1, type: 'message', at: '2026-01-01T00:00:00.000Z', data: { text: 'lower' } }]);
    assert.deepEqual((await readdir(join(dir, 'events'))).sort(), [eventFileName('Abc'), eventFileName('abc')].sort());
    assert.notEqual(eventFileName('Abc').toLowerCase(), eventFileName('abc').toLowerCase());
    await store.events.remove('Abc');
    assert.deepEqual(await readdir(join(dir, 'events')), [eventFileName('abc')]);
    assert.ok((await stat(join(dir, 'sessions.db'))).isFile());
    await store.close();
  });
});
