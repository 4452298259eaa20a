import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REGISTRY_URL, DEFAULT_RUNTIME_URL, ENV, Orchestrator, resolveConfig } from '../../sdk/index.js';
import { removeDir, tempDir } from '../support/servers.js';

describe('sdk: configuration', () => {
  it('defaults to localhost when nothing is set', () => {
    const config = resolveConfig({}, {});
    assert.equal(config.runtimeUrl, DEFAULT_RUNTIME_URL);
    assert.equal(config.registryUrl, DEFAULT_REGISTRY_URL);
    assert.equal(DEFAULT_RUNTIME_URL, 'http://localhost:8765');
    assert.equal(DEFAULT_REGISTRY_URL, 'http://localhost:8767');
    assert.equal(config.token, undefined);
  });

  it('finds the token aof keeps in the data dir when the variable is unset; the variable and options win', async () => {
    const dir = await tempDir('aof-token-file-');
    try {
      await writeFile(join(dir, 'api-token'), 'from-file\n', { mode: 0o600 });
      const env = { AGENT_ORCHESTRATOR_DATA_DIR: dir };
      assert.equal(resolveConfig({}, env).token, 'from-file');
      assert.equal(resolveConfig({}, { HOME: dir }).token, undefined, 'the default dir is ~/.agent-orchestrator');
      assert.equal(resolveConfig({}, { ...env, [ENV.token]: 'from-env' }).token, 'from-env');
      assert.equal(resolveConfig({ token: 'given' }, env).token, 'given');
      assert.equal(resolveConfig({ token: null }, env).token, undefined, 'null sends none, not even the file');
      assert.equal(resolveConfig({}, { AGENT_ORCHESTRATOR_DATA_DIR: join(dir, 'nothing') }).token, undefined);
    } finally {
      await removeDir(dir);
    }
  });

  it('reads the environment, and options win over it', () => {
    const env = {
      [ENV.runtimeUrl]: 'http://10.0.0.1:9000/',
      [ENV.registryUrl]: 'http://10.0.0.2:9001',
      [ENV.token]: 'from-env',
      [ENV.sessionName]: 'lead',
    };
    assert.deepEqual(resolveConfig({}, env), {
      runtimeUrl: 'http://10.0.0.1:9000',
      registryUrl: 'http://10.0.0.2:9001',
      token: 'from-env',
      fetch: undefined,
      parent: 'lead',
    });
    const config = resolveConfig(
      { runtimeUrl: new URL('http://a.test/prefix/'), registryUrl: 'https://b.test', token: 't' },
      env,
    );
    assert.equal(config.runtimeUrl, 'http://a.test/prefix');
    assert.equal(config.registryUrl, 'https://b.test');
    assert.equal(config.token, 't');
    assert.equal(resolveConfig({ token: null }, env).token, undefined);
    assert.equal(resolveConfig({ token: '' }, env).token, undefined);
    assert.equal(resolveConfig({}, { [ENV.runtimeUrl]: '' }).runtimeUrl, DEFAULT_RUNTIME_URL);
  });

  it('exposes the URLs read-only and sends the token to both servers', async () => {
    const seen: Request[] = [];
    const ao = new Orchestrator({
      runtimeUrl: 'http://runtime.test/',
      registryUrl: 'http://registry.test',
      token: 'tok',
      fetch: async (request) => {
        seen.push(request);
        const service = request.url.startsWith('http://runtime.test') ? 'agent-runtime' : 'agent-registry';
        return Response.json({ status: 'ok', service, version: '1' });
      },
    });
    assert.equal(ao.runtimeUrl, 'http://runtime.test');
    assert.equal(ao.registryUrl, 'http://registry.test');
    assert.throws(() => {
      (ao as { runtimeUrl: string }).runtimeUrl = 'x';
    }, TypeError);
    const health = await ao.health();
    assert.equal(health.runtime.service, 'agent-runtime');
    assert.equal(health.registry.service, 'agent-registry');
    assert.deepEqual(seen.map((r) => r.url).sort(), ['http://registry.test/health', 'http://runtime.test/health']);
    assert.ok(seen.every((r) => r.headers.get('authorization') === 'Bearer tok'));
  });

  it('sends no Authorization header without a token', async () => {
    const seen: Request[] = [];
    const ao = new Orchestrator({
      registryUrl: 'http://registry.test',
      token: null,
      fetch: async (request) => {
        seen.push(request);
        return Response.json({ agents: [] });
      },
    });
    assert.deepEqual(await ao.agents.list({ status: 'active' }), []);
    assert.equal(seen[0]!.headers.get('authorization'), null);
    assert.equal(seen[0]!.url, 'http://registry.test/agents?status=active');
  });

  it('loads eventsource-parser only when a stream starts (the CLI imports the SDK on every call)', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const dir = await tempDir();
    const log = join(dir, 'imports.log');
    // A resolve hook (it runs on a loader thread) notes every import of eventsource-parser in a file.
    const hook = `import { appendFileSync } from 'node:fs';
      export async function resolve(specifier, context, next) {
        if (specifier.startsWith('eventsource-parser')) appendFileSync(${JSON.stringify(log)}, specifier + '\\n');
        return next(specifier, context);
      }`;
    try {
      const output = execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `
        import { register } from 'node:module';
        import { existsSync } from 'node:fs';
        register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
        const { Orchestrator } = await import('./sdk/index.ts');
        const ao = new Orchestrator({ runtimeUrl: 'http://127.0.0.1:9' });
        console.log(existsSync(${JSON.stringify(log)}) ? 'loaded at start' : 'not loaded at start');
        await ao.sessions.events('x')[Symbol.asyncIterator]().next().catch(() => {});
      `,
        ],
        { cwd: root, encoding: 'utf8' },
      );
      assert.equal(output.trim(), 'not loaded at start');
      assert.equal(await readFile(log, 'utf8'), 'eventsource-parser\n');
    } finally {
      await removeDir(dir);
    }
  });
});
