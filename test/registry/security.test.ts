import assert from 'node:assert/strict';
import { ENV, ForbiddenError, Orchestrator, UnauthorizedError } from '../../sdk/index.js';
import { rawRequest, removeDir, startTestRegistry, type TestRegistry } from '../support/servers.js';

describe('registry: security', () => {
  describe('Host and Origin headers', () => {
    let registry: TestRegistry;
    let port: string;

    before(async () => {
      registry = await startTestRegistry({ allowedOrigins: ['http://dashboard.example:3000'] });
      port = new URL(registry.url).port;
    });
    after(async () => {
      await registry.close();
      await removeDir(registry.dataDir);
    });

    it('refuses a foreign Host header with 403 (DNS rebinding)', async () => {
      for (const host of [
        'evil.example',
        `evil.example:${port}`,
        'localhost',
        `localhost:1${port}`,
        `127.0.0.2:${port}`,
      ]) {
        const res = await rawRequest(registry.url, { path: '/agents', headers: { host } });
        assert.equal(res.status, 403, host);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.equal(res.json.errors[0].field, 'header.host');
      }
    });

    it('accepts localhost:<port> and 127.0.0.1:<port>', async () => {
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LOCALHOST:${port}`]) {
        const res = await rawRequest(registry.url, { path: '/agents', headers: { host } });
        assert.equal(res.status, 200, host);
      }
    });

    it('the SDK works through localhost as well as 127.0.0.1', async () => {
      const ao = new Orchestrator({ registryUrl: `http://localhost:${port}`, token: null });
      assert.deepEqual(await ao.agents.list(), []);
    });

    it('refuses a foreign Origin with 403 (cross-site requests)', async () => {
      for (const origin of [
        'http://evil.example',
        'null',
        `http://evil.example:${port}`,
        'https://dashboard.example:3000',
      ]) {
        const res = await rawRequest(registry.url, { path: '/agents', headers: { origin } });
        assert.equal(res.status, 403, origin);
        assert.equal(res.json.errors[0].field, 'header.origin');
      }
      // Writes too, before the body is even looked at.
      const res = await rawRequest(registry.url, {
        method: 'POST',
        path: '/agents',
        headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
        body: '{"name":"planted","description":"x"}',
      });
      assert.equal(res.status, 403);
      assert.equal((await rawRequest(registry.url, { path: '/agents/planted' })).status, 404);
    });

    it('the SDK throws ForbiddenError for a refused Origin', async () => {
      const ao = new Orchestrator({
        registryUrl: registry.url,
        token: null,
        fetch: (request) => {
          const headers = new Headers(request.headers);
          headers.set('origin', 'http://evil.example');
          return fetch(new Request(request, { headers }));
        },
      });
      await assert.rejects(ao.agents.list(), (error: unknown) => {
        assert.ok(error instanceof ForbiddenError);
        assert.match(error.message, /Origin 'http:\/\/evil.example' is not allowed/);
        return true;
      });
    });

    it('accepts an origin listed in allowedOrigins, and its own origin', async () => {
      for (const origin of [
        'http://dashboard.example:3000',
        'http://DASHBOARD.example:3000',
        `http://127.0.0.1:${port}`,
        `http://localhost:${port}`,
      ]) {
        const res = await rawRequest(registry.url, { path: '/agents', headers: { origin } });
        assert.equal(res.status, 200, origin);
      }
    });
  });

  describe('bearer token', () => {
    const token = 's3cret-token';
    let registry: TestRegistry;

    before(async () => {
      registry = await startTestRegistry({ token });
    });
    after(async () => {
      await registry.close();
      await removeDir(registry.dataDir);
    });

    it('answers 401 without an Authorization header', async () => {
      const res = await rawRequest(registry.url, { path: '/agents' });
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      assert.equal(res.json.errors[0].field, 'header.authorization');
      assert.equal(res.json.errors[0].message, 'is missing');
      // Health too: every request needs the token.
      assert.equal((await rawRequest(registry.url, { path: '/health' })).status, 401);
    });

    it('answers 401 to a wrong token or scheme', async () => {
      for (const authorization of [
        `Bearer ${token}x`,
        'Bearer ',
        `Basic ${token}`,
        token,
        `Bearer ${token.slice(0, -1)}`,
      ]) {
        const res = await rawRequest(registry.url, { path: '/agents', headers: { authorization } });
        assert.equal(res.status, 401, authorization);
      }
    });

    it('the SDK throws UnauthorizedError without a token or with a wrong one', async () => {
      for (const ao of [
        new Orchestrator({ registryUrl: registry.url, token: null }),
        new Orchestrator({ registryUrl: registry.url, token: 'wrong' }),
      ]) {
        await assert.rejects(ao.agents.list(), (error: unknown) => {
          assert.ok(error instanceof UnauthorizedError);
          assert.equal(error.status, 401);
          assert.equal(error.service, 'Agent Registry');
          assert.match(error.message, /bearer token/);
          return true;
        });
      }
    });

    it('works with the right token given to the Orchestrator', async () => {
      const ao = new Orchestrator({ registryUrl: registry.url, token });
      await ao.agents.create({ name: 'guarded', description: 'x' });
      assert.deepEqual(
        (await ao.agents.list()).map((a) => a.name),
        ['guarded'],
      );
      const res = await rawRequest(registry.url, {
        path: '/agents/guarded',
        headers: { authorization: `bearer  ${token}` },
      });
      assert.equal(res.status, 200);
    });

    describe(`with ${ENV.token} set`, () => {
      let saved: string | undefined;
      beforeEach(() => {
        saved = process.env[ENV.token];
      });
      afterEach(() => {
        if (saved === undefined) delete process.env[ENV.token];
        else process.env[ENV.token] = saved;
      });

      it('the SDK sends the token from the environment by default', async () => {
        process.env[ENV.token] = token;
        const ao = new Orchestrator({ registryUrl: registry.url });
        assert.deepEqual(
          (await ao.agents.list()).map((a) => a.name),
          ['guarded'],
        );
      });

      it('an explicit token wins over the environment, and null sends none', async () => {
        process.env[ENV.token] = 'wrong';
        assert.equal(
          (await new Orchestrator({ registryUrl: registry.url, token }).agents.get('guarded')).name,
          'guarded',
        );
        process.env[ENV.token] = token;
        await assert.rejects(
          new Orchestrator({ registryUrl: registry.url, token: null }).agents.list(),
          UnauthorizedError,
        );
      });
    });
  });
});
