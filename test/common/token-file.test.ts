import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTokenFile } from '../../servers/common/storage/token-file.js';
import { removeDir, tempDir } from '../support/servers.js';

describe("the data dir's admin token (no AGENT_ORCHESTRATOR_API_TOKEN)", () => {
  let root: string;
  beforeEach(async () => {
    root = await tempDir('aof-token-');
  });
  afterEach(async () => removeDir(root));

  it('is made at the first start, mode 0600, and the same at the next ones', async () => {
    const dir = join(root, 'data');
    const first = await ensureTokenFile(dir);
    assert.equal(first.created, true);
    assert.match(first.token, /^aofp_[A-Za-z0-9_-]{43}$/);
    assert.equal((await stat(first.path)).mode & 0o777, 0o600);
    assert.equal((await readFile(first.path, 'utf8')).trim(), first.token);
    const again = await ensureTokenFile(dir);
    assert.deepEqual(again, { ...first, created: false });
  });

  it('two servers starting at once on one data dir agree on one token', async () => {
    const dir = join(root, 'shared');
    const made = await Promise.all(Array.from({ length: 8 }, () => ensureTokenFile(dir)));
    assert.equal(new Set(made.map((m) => m.token)).size, 1);
    assert.equal(made.filter((m) => m.created).length, 1);
  });
});
