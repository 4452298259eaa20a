// People's named tokens with roles: `aof token create NAME --role R`, `aof token list`, `aof token
// revoke NAME`, against the real runtime process (its admin token the data dir's, found by the command).
import assert from 'node:assert/strict';
import { runBin } from '../bin/run-bin.js';
import { TEST_MODEL } from '../support/claude-env.js';
import { TestStack } from '../support/stack.js';

describe('people: named tokens with roles (aof token)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  before(async () => {
    stack = await TestStack.start({ runtimeProcess: true, executor: 'none' });
    await stack.client().agents.create({ name: 'kept', description: 'a blueprint', model: TEST_MODEL });
  });
  after(async () => stack?.close());

  const aof = (args: string[]) => runBin('aof', args, { env: stack.clientEnv, cwd: stack.projectDir });
  const as = (token: string, url: string, init: RequestInit = {}) =>
    fetch(url, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });
  const create = async (name: string, role: string) => {
    const made = await aof(['token', 'create', name, '--role', role, '--json']);
    assert.equal(made.code, 0, made.stderr);
    return made.json().token as string;
  };

  it('an admin makes tokens; the list shows names and roles, never a token; the store keeps only hashes', async () => {
    const token = await create('vera', 'viewer');
    assert.match(token, /^aoft_/);
    const listed = await aof(['token', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const vera = listed.json().tokens.find((t: { name: string }) => t.name === 'vera');
    assert.deepEqual(Object.keys(vera).sort(), ['created_at', 'name', 'role']);
    assert.equal(vera.role, 'viewer');
    assert.doesNotMatch(listed.stdout, /aoft_/);
    const again = await aof(['token', 'create', 'vera', '--role', 'viewer']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /A token named 'vera' exists already/);
    const noRole = await aof(['token', 'create', 'nobody']);
    assert.equal(noRole.code, 1);
    assert.match(noRole.stderr, /--role must be admin, operator, viewer or runner/);
  });

  it('a viewer reads and cannot write, on either server', async () => {
    const token = await create('val', 'viewer');
    const who = await as(token, `${stack.runtimeUrl}/whoami`);
    assert.deepEqual(await who.json(), { kind: 'person', name: 'val', role: 'viewer' });
    assert.equal((await as(token, `${stack.runtimeUrl}/sessions`)).status, 200);
    assert.equal((await as(token, `${stack.registry.url}/agents/kept`)).status, 200);
    const write = await as(token, `${stack.runtimeUrl}/sessions`, {
      method: 'POST',
      body: JSON.stringify({ name: 'by-viewer', prompt: 'x' }),
    });
    assert.equal(write.status, 403);
    const problem = (await write.json()) as { type: string; detail: string };
    assert.equal(problem.type, 'urn:aof:problem:forbidden');
    assert.match(problem.detail, /^val \(viewer\) may not start sessions: a viewer only reads$/);
    const blueprint = await as(token, `${stack.registry.url}/agents/kept`, {
      method: 'PATCH',
      body: JSON.stringify({ description: 'changed' }),
    });
    assert.equal(blueprint.status, 403);
    assert.equal((await stack.client().agents.get('kept')).description, 'a blueprint');
    assert.equal(
      (await stack.client().sessions.list()).sessions.some((s) => s.name === 'by-viewer'),
      false,
    );
  });

  it('an operator works with sessions, not with blueprints or tokens', async () => {
    const token = await create('otto', 'operator');
    const created = await as(token, `${stack.runtimeUrl}/sessions`, {
      method: 'POST',
      body: JSON.stringify({ name: 'by-operator', prompt: 'x' }),
    });
    assert.equal(created.status, 201);
    const tokens = await as(token, `${stack.runtimeUrl}/tokens`, {
      method: 'POST',
      body: JSON.stringify({ name: 'sneaky', role: 'admin' }),
    });
    assert.equal(tokens.status, 403);
    const blueprint = await as(token, `${stack.registry.url}/agents`, {
      method: 'POST',
      body: JSON.stringify({ name: 'by-operator', description: 'x' }),
    });
    assert.equal(blueprint.status, 403);
  });

  it("a runner's token is good only for the runner endpoints", async () => {
    const token = await create('build-1', 'runner');
    const who = await as(token, `${stack.runtimeUrl}/whoami`);
    assert.deepEqual(await who.json(), { kind: 'runner', name: 'build-1' });
    const claim = await as(token, `${stack.runtimeUrl}/runners/build-1/claim`, {
      method: 'POST',
      body: JSON.stringify({
        version: (await stack.client().runtimeInfo()).version,
        host: 'test',
        tags: ['nothing-has-it'],
      }),
    });
    assert.equal(claim.status, 200, await claim.clone().text());
    for (const [url, init] of [
      [`${stack.runtimeUrl}/sessions`, {}],
      [`${stack.runtimeUrl}/sessions`, { method: 'POST', body: JSON.stringify({ name: 'by-runner', prompt: 'x' }) }],
      [`${stack.runtimeUrl}/approvals`, {}],
      [`${stack.registry.url}/agents`, {}],
    ] as const) {
      const refused = await as(token, url, init);
      assert.equal(refused.status, 403, url);
      assert.match(((await refused.json()) as { detail: string }).detail, /^runner token 'build-1' may not /);
    }
  });

  it('a revoked token is refused by both servers', async () => {
    const token = await create('rex', 'operator');
    assert.equal((await as(token, `${stack.runtimeUrl}/sessions`)).status, 200);
    const revoked = await aof(['token', 'revoke', 'rex']);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await as(token, `${stack.runtimeUrl}/sessions`);
    assert.equal(after.status, 401);
    assert.match(((await after.json()) as { errors: Array<{ message: string }> }).errors[0]!.message, /revoked/);
    assert.equal((await as(token, `${stack.registry.url}/agents`)).status, 401);
    const gone = await aof(['token', 'revoke', 'rex']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No token named 'rex'/);
  });
});
