/**
 * The SDK as a package (`npm i aof-sdk`): what package.json promises (main, types, exports) is in dist/
 * after `npm run build`, and the built module exports what sdk/index.ts does.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as sources from '../../sdk/index.js';
import { repoRoot } from '../support/claude-env.js';

interface PackageJson {
  main: string;
  types: string;
  exports: { '.': { types: string; default: string } };
}

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

describe('sdk: the package', () => {
  it('main, types and exports name built files', () => {
    assert.equal(manifest.exports['.'].default, manifest.main);
    assert.equal(manifest.exports['.'].types, manifest.types);
    for (const file of [manifest.main, manifest.types]) assert.ok(existsSync(join(repoRoot, file)), `${file} is built`);
    // The declarations are whole: each module index.d.ts names is there too.
    const declarations = readFileSync(join(repoRoot, manifest.types), 'utf8');
    assert.match(declarations, /export \{ Orchestrator \} from '\.\/orchestrator\.js';/);
    for (const [, path] of declarations.matchAll(/from '(\.[^']+)\.js'/g)) {
      assert.ok(existsSync(join(repoRoot, manifest.types, '..', `${path}.d.ts`)), `${path}.d.ts`);
    }
  });

  it('the built module exports what the sources do', async () => {
    const built = (await import(pathToFileURL(join(repoRoot, manifest.main)).href)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(built).sort(), Object.keys(sources).sort());
    const { Orchestrator, NotFoundError, ApiError } = built as typeof sources;
    const ao = new Orchestrator({ runtimeUrl: 'http://127.0.0.1:1', registryUrl: 'http://127.0.0.1:1' });
    assert.equal(typeof ao.sessions.list, 'function');
    assert.ok(Object.create(NotFoundError.prototype) instanceof ApiError);
    assert.equal(NotFoundError.name, 'NotFoundError');
  });
});
