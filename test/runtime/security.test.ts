// The runtime launches processes that edit files: foreign hosts, foreign origins and (when a token
// is set) unauthenticated requests never reach a handler.
import assert from 'node:assert/strict';
import { Orchestrator, UnauthorizedError } from '../../sdk/index.js';
import { rawRequest } from '../support/servers.js';
import { TestStack } from '../support/stack.js';

describe('runtime: Host, Origin and token', () => {
  let stack: TestStack;
  const token = 's3cret-token-for-tests';

  before(async () => {
    stack = await TestStack.start({ executor: 'none', token });
  });
  after(async () => stack?.close());

  const create = (headers: Record<string, string>) =>
    rawRequest(stack.runtimeUrl, {
      method: 'POST',
      path: '/sessions',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify({ name: `s${Math.random().toString(36).slice(2, 8)}`, prompt: 'x' }),
    });

  it('refuses a foreign Host header (DNS rebinding) with 403 and creates nothing', async () => {
    const response = await create({ host: `evil.example:${new URL(stack.runtimeUrl).port}` });
    assert.equal(response.status, 403);
    assert.equal(response.json.errors[0].field, 'header.host');
    assert.deepEqual((await stack.client().sessions.list()).sessions, []);
  });

  it('refuses a cross-origin browser request with 403', async () => {
    const response = await create({ origin: 'http://evil.example' });
    assert.equal(response.status, 403);
    assert.equal(response.json.errors[0].field, 'header.origin');
    assert.deepEqual((await stack.client().sessions.list()).sessions, []);
  });

  it('accepts localhost and 127.0.0.1 hosts with the token', async () => {
    const port = new URL(stack.runtimeUrl).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      assert.equal((await create({ host })).status, 201);
    }
  });

  it('needs the bearer token: none or a wrong one is 401, the SDK sends it', async () => {
    assert.equal((await create({ authorization: '' })).status, 401);
    assert.equal((await create({ authorization: 'Bearer wrong' })).status, 401);
    const anonymous = new Orchestrator({ runtimeUrl: stack.runtimeUrl, registryUrl: stack.registry.url, token: '' });
    await assert.rejects(anonymous.sessions.list(), UnauthorizedError);
    assert.ok(Array.isArray((await stack.client().sessions.list()).sessions));
  });

  it('never echoes the token in errors', async () => {
    const response = await create({ authorization: `Bearer ${token}x` });
    assert.doesNotMatch(response.text, new RegExp(token));
  });
});

describe('runtime: the Host names of a load balancer (AGENT_ORCHESTRATOR_ALLOWED_HOSTS)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start({
      executor: 'none',
      runtimeProcess: true,
      runtimeEnv: { AGENT_ORCHESTRATOR_ALLOWED_HOSTS: 'aof.internal, balancer.example:8443' },
    });
  });
  after(async () => stack?.close());

  const create = (headers: Record<string, string>) =>
    rawRequest(stack.runtimeUrl, {
      method: 'POST',
      path: '/sessions',
      // No token configured: the one `aof` keeps in its data dir.
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}`, ...headers },
      body: JSON.stringify({ name: `s${Math.random().toString(36).slice(2, 8)}`, prompt: 'x' }),
    });

  it('accepts the names it is given (any port for a bare name, that port for name:port), and no others', async () => {
    for (const host of ['aof.internal', 'aof.internal:443', 'balancer.example:8443'])
      assert.equal((await create({ host })).status, 201, host);
    for (const host of ['balancer.example', 'balancer.example:9000', 'evil.example', 'aof.internal.evil.example']) {
      const response = await create({ host });
      assert.equal(response.status, 403, host);
      assert.equal(response.json.type, 'urn:aof:problem:forbidden-host');
    }
  });

  it('treats a page served under those names as same-origin, and still refuses other origins', async () => {
    assert.equal((await create({ host: 'aof.internal', origin: 'https://aof.internal' })).status, 201);
    assert.equal((await create({ host: 'aof.internal', origin: 'https://evil.example' })).status, 403);
  });
});
