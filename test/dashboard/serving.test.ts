// The runtime serves the dashboard's files (types, caching, gzip, the app's page for deep links,
// nothing outside its folder, no token needed for files but for every API call), forwards
// /registry to the Agent Registry, and says what it is doing at GET /runtime.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Orchestrator, UnauthorizedError } from '../../sdk/index.js';
import { startRuntime, type RunningRuntime } from '../../servers/runtime/server.js';
import {
  deadUrl,
  rawRequest,
  removeDir,
  startTestRegistry,
  tempDir,
  testLogger,
  type TestRegistry,
} from '../support/servers.js';

const TOKEN = 'dashboard-serving-token';
const INDEX = '<!doctype html><title>aof</title><script type="module" src="/assets/app-1a2b3c.js"></script>';
const SCRIPT = 'console.log("dashboard");'.repeat(50);

describe('dashboard: serving from the runtime', () => {
  let root: string;
  let registry: TestRegistry;
  let runtime: RunningRuntime;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    root = await tempDir('aof-dash-serve-');
    const dist = join(root, 'dist');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dist, 'index.html'), INDEX);
    await writeFile(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(dist, 'assets', 'app-1a2b3c.js'), SCRIPT);
    await writeFile(join(dist, 'assets', 'app-1a2b3c.js.gz'), gzipSync(SCRIPT));
    await writeFile(join(dist, 'notes.unknownext'), 'not a web file');
    await writeFile(join(root, 'secret.txt'), 'outside the dashboard');
    registry = await startTestRegistry({ dataDir: join(root, 'registry'), token: TOKEN });
    runtime = await startRuntime({
      url: new URL('http://127.0.0.1:0'),
      dataDir: join(root, 'runtime'),
      registryUrl: new URL(registry.url),
      token: TOKEN,
      executor: 'none',
      dashboardDir: dist,
      logger: testLogger('runtime'),
    });
  });
  after(async () => {
    await runtime?.close();
    await registry?.close();
    await removeDir(root);
  });

  it('serves the page at / without a token, revalidated, with a strict CSP', async () => {
    const response = await rawRequest(runtime.url, { path: '/', headers: { accept: 'text/html' } });
    assert.equal(response.status, 200);
    assert.equal(response.text, INDEX);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(response.headers['cache-control'], 'no-cache');
    assert.match(String(response.headers['content-security-policy']), /default-src 'self'/);
    assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(runtime.dashboardUrl, `${runtime.url}/`);
  });

  it('serves hashed assets as immutable, gzipped when asked, and answers 304 to a known ETag', async () => {
    const plain = await rawRequest(runtime.url, { path: '/assets/app-1a2b3c.js' });
    assert.equal(plain.status, 200);
    assert.equal(plain.text, SCRIPT);
    assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    const gzipped = await rawRequest(runtime.url, {
      path: '/assets/app-1a2b3c.js',
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.ok(Number(gzipped.headers['content-length']) < SCRIPT.length / 5);
    const again = await rawRequest(runtime.url, {
      path: '/assets/app-1a2b3c.js',
      headers: { 'if-none-match': String(plain.headers.etag) },
    });
    assert.equal(again.status, 304);
    const svg = await rawRequest(runtime.url, { path: '/favicon.svg' });
    assert.equal(svg.headers['content-type'], 'image/svg+xml');
  });

  it('answers a browser deep link with the page, but never shadows the API', async () => {
    const page = await rawRequest(runtime.url, {
      path: '/board/some/where',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    assert.equal(page.status, 200);
    assert.equal(page.text, INDEX);
    // An API path asked for by a browser is still the API (and still needs the token).
    const api = await rawRequest(runtime.url, { path: '/sessions', headers: { accept: 'text/html' } });
    assert.equal(api.status, 401);
    // A script (asking for JSON, or for anything) at an unknown path gets the API's 404, not the page.
    for (const accept of ['application/json', '*/*']) {
      const json = await rawRequest(runtime.url, { path: '/nothing-here', headers: { ...auth, accept } });
      assert.equal(json.status, 404);
      assert.equal(json.headers['content-type'], 'application/problem+json');
    }
  });

  it('never serves a file outside its folder, nor one of an unknown type', async () => {
    for (const path of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%5csecret.txt',
      '/notes.unknownext',
      '/assets/app-1a2b3c.js%00.html',
    ]) {
      const response = await rawRequest(runtime.url, { path, headers: { ...auth, accept: 'application/json' } });
      assert.ok(!response.text.includes('outside the dashboard'), `${path} leaked the file`);
      assert.ok(!response.text.includes('not a web file'), `${path} served an unknown type`);
      assert.equal(response.status, 404, `${path} answered ${response.status}`);
    }
  });

  it('still refuses a foreign Host for the files, and writes to them are not allowed', async () => {
    const port = new URL(runtime.url).port;
    const foreign = await rawRequest(runtime.url, { path: '/', headers: { host: `evil.example:${port}` } });
    assert.equal(foreign.status, 403);
    const post = await rawRequest(runtime.url, {
      method: 'POST',
      path: '/index.html',
      headers: { ...auth, accept: 'application/json' },
    });
    assert.equal(post.status, 404);
  });

  it('forwards /registry to the Agent Registry with the token, and refuses it without', async () => {
    const ao = new Orchestrator({ runtimeUrl: runtime.url, registryUrl: `${runtime.url}/registry`, token: TOKEN });
    const created = await ao.agents.create({ name: 'via-proxy', description: 'made through the runtime' });
    assert.equal(created.name, 'via-proxy');
    const direct = new Orchestrator({ registryUrl: registry.url, token: TOKEN });
    assert.equal((await direct.agents.get('via-proxy')).description, 'made through the runtime');
    const updated = await ao.agents.update('via-proxy', { model: 'claude-opus-4' });
    assert.equal(updated.model, 'claude-opus-4');
    const anonymous = new Orchestrator({
      runtimeUrl: runtime.url,
      registryUrl: `${runtime.url}/registry`,
      token: null,
    });
    await assert.rejects(anonymous.agents.list(), UnauthorizedError);
    // The registry's own problems come through unchanged, field names included.
    const bad = await rawRequest(runtime.url, {
      method: 'POST',
      path: '/registry/agents',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bad name!', description: 'x' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.errors[0].field, 'body.name');
    await ao.agents.delete('via-proxy');
  });

  it('answers 502 naming the registry when it is down, and reports it in GET /runtime', async () => {
    const dead = await deadUrl();
    const lonely = await startRuntime({
      url: new URL('http://127.0.0.1:0'),
      dataDir: join(root, 'lonely'),
      registryUrl: new URL(dead),
      executor: 'none',
      dashboardDir: join(root, 'missing'),
      logger: testLogger('runtime'),
    });
    try {
      const response = await rawRequest(lonely.url, { path: '/registry/agents' });
      assert.equal(response.status, 502);
      assert.match(
        response.json.detail,
        new RegExp(`Agent Registry at ${dead.replace(/[.]/g, '\\.')} does not answer`),
      );
      const info = await new Orchestrator({ runtimeUrl: lonely.url }).runtimeInfo();
      assert.equal(info.registry.reachable, false);
      assert.equal(info.registry.url, dead);
      assert.match(String(info.registry.error), /ECONNREFUSED/);
      // Not built: `/` says how to build it instead of a blank page.
      const page = await rawRequest(lonely.url, { path: '/' });
      assert.equal(page.status, 404);
      assert.match(page.text, /npm run build/);
      assert.equal(lonely.dashboardUrl, undefined);
    } finally {
      await lonely.close();
    }
  });

  it('GET /runtime: version, data dir, no local executor, the queue oldest first, the registry answers', async () => {
    const ao = new Orchestrator({ runtimeUrl: runtime.url, registryUrl: registry.url, token: TOKEN });
    await ao.sessions.create({ name: 'first', prompt: 'x', project_dir: root });
    await ao.sessions.create({ name: 'second', prompt: 'x', project_dir: root });
    const info = await ao.runtimeInfo();
    assert.equal(info.executor, 'none');
    assert.equal(info.max_concurrent, 8); // the global cap, which runners elsewhere obey too
    assert.equal(info.data_dir, join(root, 'runtime'));
    assert.equal(info.running, 0);
    assert.deepEqual(
      info.queue.map((q) => q.name),
      ['first', 'second'],
    );
    assert.equal(info.queued, 2);
    assert.equal(info.registry.reachable, true);
    assert.equal(info.registry.version, '0.1.0');
    await ao.sessions.clean();
  });
});
