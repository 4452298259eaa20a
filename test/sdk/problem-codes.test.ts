// Every kind of failure has its own problem type, `urn:aof:problem:<code>` with a code the contract
// lists, and the SDK exposes it as `error.code` — taken from the body's type, never from its prose.
import assert from 'node:assert/strict';
import {
  ApiError,
  ConflictError,
  InvalidRequestError,
  NotFoundError,
  Orchestrator,
  UnauthorizedError,
} from '../../sdk/index.js';
import { registryDocument, runtimeDocument } from '../../servers/common/contract/documents.generated.js';
import { PROBLEM_CODES } from '../../servers/common/contract/problem-types.js';
import { rawRequest } from '../support/servers.js';
import { TestStack } from '../support/stack.js';

const contractCodes = (registryDocument as any).components.schemas.ProblemCode.enum as string[];

/** The ApiError a call rejects with. */
async function failure(pending: Promise<unknown>): Promise<ApiError> {
  try {
    await pending;
  } catch (error) {
    assert.ok(error instanceof ApiError, `not an ApiError: ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
}

describe('sdk: problem codes (against the real servers)', function () {
  this.timeout(30_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ executor: 'none', token: 'sesame' });
    ao = stack.client();
    await ao.agents.create({ name: 'retired', description: 'Inactive', status: 'inactive' });
    await ao.sessions.create({ name: 'queued-one', prompt: 'wait' });
  });
  after(async () => {
    await stack?.close();
  });

  it('the contract and the servers list the same codes, in both documents', () => {
    assert.deepEqual([...contractCodes].sort(), Object.keys(PROBLEM_CODES).sort());
    assert.deepEqual((runtimeDocument as any).components.schemas.ProblemCode, {
      $ref: 'registry.yaml#/components/schemas/ProblemCode',
    });
    for (const code of contractCodes)
      assert.match((registryDocument as any).components.schemas.ProblemCode.description, new RegExp(`\`${code}\``));
  });

  const cases: Array<[string, () => Promise<unknown>, string, number, typeof ApiError]> = [
    ['a missing session', () => ao.sessions.get('nobody'), 'session-not-found', 404, NotFoundError],
    [
      'a taken session name',
      () => ao.sessions.create({ name: 'queued-one', prompt: 'again' }),
      'session-exists',
      409,
      ConflictError,
    ],
    [
      'resuming a queued session',
      () => ao.sessions.resume('queued-one', { prompt: 'more' }),
      'session-busy',
      409,
      ConflictError,
    ],
    ['the result of a queued session', () => ao.sessions.result('queued-one'), 'session-not-ended', 409, ConflictError],
    [
      'a missing project dir',
      () => ao.sessions.create({ name: 'p1', prompt: 'x', project_dir: '/no/such/dir' }),
      'project-dir-invalid',
      422,
      InvalidRequestError,
    ],
    [
      'a relative project dir',
      () => ao.sessions.create({ name: 'p2', prompt: 'x', project_dir: 'relative' }),
      'project-dir-invalid',
      422,
      InvalidRequestError,
    ],
    [
      'a session from a missing blueprint',
      () => ao.sessions.create({ name: 'p3', prompt: 'x', agent: 'nobody' }),
      'agent-not-found',
      422,
      InvalidRequestError,
    ],
    [
      'a session from an inactive blueprint',
      () => ao.sessions.create({ name: 'p4', prompt: 'x', agent: 'retired' }),
      'agent-inactive',
      422,
      InvalidRequestError,
    ],
    [
      'a bad name',
      () => ao.sessions.create({ name: 'bad name', prompt: 'x' }),
      'invalid-request',
      400,
      InvalidRequestError,
    ],
    ['a missing blueprint', () => ao.agents.get('nobody'), 'agent-not-found', 404, NotFoundError],
    [
      'a taken blueprint name',
      () => ao.agents.create({ name: 'retired', description: 'again' }),
      'agent-exists',
      409,
      ConflictError,
    ],
    [
      'a wrong token',
      () =>
        new Orchestrator({
          runtimeUrl: stack.runtimeUrl,
          registryUrl: stack.registry.url,
          token: 'wrong',
        }).sessions.list(),
      'unauthorized',
      401,
      UnauthorizedError,
    ],
  ];
  for (const [what, call, code, status, Class] of cases) {
    it(`${what}: ${status} ${code}`, async () => {
      const error = await failure(call());
      assert.equal(error.code, code, error.message);
      assert.equal(error.status, status);
      assert.ok(error instanceof Class, error.constructor.name);
      assert.equal(error.problem.type, `urn:aof:problem:${code}`);
    });
  }

  it('events for a run that has ended: 409 run-ended', async () => {
    await ao.sessions.create({ name: 'ended', prompt: 'x' });
    await ao.sessions.stop('ended');
    assert.equal(
      (
        await failure(
          ao.sessions.appendEvents('ended', [{ type: 'message', data: { role: 'assistant', text: 'late' } }]),
        )
      ).code,
      'run-ended',
    );
  });

  it('what the HTTP layer refuses has its code too: host, origin, size, media type, method, route', async () => {
    const auth = { authorization: 'Bearer sesame' };
    const url = new URL(stack.runtimeUrl);
    const seen = [
      await rawRequest(stack.runtimeUrl, { path: '/sessions', headers: { ...auth, host: 'evil.example' } }),
      await rawRequest(stack.runtimeUrl, { path: '/sessions', headers: { ...auth, origin: 'http://evil.example' } }),
      await rawRequest(stack.runtimeUrl, {
        method: 'POST',
        path: '/sessions',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'big', prompt: 'x'.repeat(3_000_000) }),
      }),
      await rawRequest(stack.runtimeUrl, {
        method: 'POST',
        path: '/sessions',
        headers: { ...auth, 'content-type': 'text/plain' },
        body: 'hello',
      }),
      await rawRequest(stack.runtimeUrl, { method: 'PUT', path: '/sessions', headers: auth }),
      await rawRequest(stack.runtimeUrl, { path: '/no/such/route', headers: auth }),
      await rawRequest(stack.runtimeUrl, {
        method: 'POST',
        path: '/sessions',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"name": ',
      }),
    ].map((r) => [r.status, r.json?.type]);
    assert.deepEqual(
      seen,
      [
        [403, 'urn:aof:problem:forbidden-host'],
        [403, 'urn:aof:problem:forbidden-origin'],
        [413, 'urn:aof:problem:payload-too-large'],
        [415, 'urn:aof:problem:unsupported-media-type'],
        [405, 'urn:aof:problem:method-not-allowed'],
        [404, 'urn:aof:problem:not-found'],
        [400, 'urn:aof:problem:invalid-request'],
      ],
      `against ${url.host}`,
    );
  });

  it('error.code is undefined for an answer that is not an aof problem, whatever its text says', async () => {
    const fetch = async () =>
      new Response(
        JSON.stringify({ type: 'about:blank', title: 'Conflict', status: 409, detail: "Session 'x' is running" }),
        { status: 409 },
      );
    const error = await failure(
      new Orchestrator({ runtimeUrl: 'http://127.0.0.1:1', fetch, token: null }).sessions.resume('x', { prompt: 'y' }),
    );
    assert.ok(error instanceof ConflictError);
    assert.equal(error.code, undefined);
  });
});
