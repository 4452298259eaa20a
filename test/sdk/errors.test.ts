import assert from 'node:assert/strict';
import {
  ApiError,
  ConflictError,
  ConnectionError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  Orchestrator,
  OrchestratorError,
  ServerError,
  UnauthorizedError,
  errorClassFor,
} from '../../sdk/index.js';
import { deadUrl, removeDir, startTestRegistry, type TestRegistry } from '../support/servers.js';

/** A fetch that answers every request with `status` and `body`, recording what it was sent. */
function answering(status: number, body: string, contentType = 'application/problem+json') {
  const seen: Request[] = [];
  const fetch = async (request: Request) => {
    seen.push(request);
    return new Response(body, { status, headers: { 'content-type': contentType } });
  };
  return { fetch, seen };
}

const problem = (status: number, detail: string, errors?: Array<{ field: string; message: string }>) =>
  JSON.stringify({ type: 'urn:aof:problem:x', title: 'Title', status, detail, ...(errors ? { errors } : {}) });

describe('sdk: errors', () => {
  describe('ConnectionError', () => {
    let dead: string;
    before(async () => {
      dead = await deadUrl();
    });

    it('is thrown for a dead Agent Registry, with url, service and the ECONNREFUSED cause', async () => {
      const ao = new Orchestrator({ registryUrl: dead, runtimeUrl: dead, token: null });
      await assert.rejects(ao.agents.list(), (error: unknown) => {
        assert.ok(error instanceof ConnectionError);
        assert.ok(error instanceof OrchestratorError);
        assert.ok(error instanceof Error);
        assert.equal(error.name, 'ConnectionError');
        assert.equal(error.service, 'Agent Registry');
        assert.equal(error.url, dead);
        assert.equal(error.code, 'ECONNREFUSED');
        assert.ok(error.cause instanceof TypeError);
        assert.equal(((error.cause as TypeError).cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
        assert.equal(error.message, `Cannot connect to Agent Registry at ${dead} (ECONNREFUSED)`);
        return true;
      });
    });

    it('is thrown for a dead Agent Runtime, by every kind of call', async () => {
      const ao = new Orchestrator({ registryUrl: dead, runtimeUrl: dead, token: null });
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['sessions.list', () => ao.sessions.list()],
        ['sessions.create', () => ao.sessions.create({ name: 'x', prompt: 'y' })],
        ['sessions.delete', () => ao.sessions.delete('x')],
        ['sessions.waitForResult', () => ao.sessions.waitForResult('x', { timeoutMs: 1000 })],
        [
          'sessions.events',
          async () => {
            for await (const _ of ao.sessions.events('x')) break;
          },
        ],
        [
          'sessions.changes',
          async () => {
            for await (const _ of ao.sessions.changes()) break;
          },
        ],
        ['health', () => ao.health()],
      ];
      for (const [what, call] of calls) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof ConnectionError, `${what}: ${String(error)}`);
          assert.equal(error.service, 'Agent Runtime', what);
          assert.equal(error.url, dead);
          assert.equal(error.code, 'ECONNREFUSED');
          assert.equal(error.message, `Cannot connect to Agent Runtime at ${dead} (ECONNREFUSED)`);
          return true;
        });
      }
    });

    it('names an unknown host by its code', async () => {
      const ao = new Orchestrator({ registryUrl: 'http://no-such-host.invalid:8767', token: null });
      await assert.rejects(ao.agents.list(), (error: unknown) => {
        assert.ok(error instanceof ConnectionError);
        assert.match(
          error.message,
          /^Cannot connect to Agent Registry at http:\/\/no-such-host\.invalid:8767 \((ENOTFOUND|EAI_AGAIN)\)$/,
        );
        return true;
      });
    });

    it('is not what a caller-aborted request throws', async () => {
      const ao = new Orchestrator({ registryUrl: dead, token: null, fetch: (request) => fetch(request) });
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(ao.sessions.status('x', { signal: controller.signal }), (error: unknown) => {
        assert.ok(!(error instanceof ConnectionError));
        assert.equal((error as Error).name, 'AbortError');
        return true;
      });
    });
  });

  describe('status to class', () => {
    const expected: Array<[number, typeof ApiError]> = [
      [400, InvalidRequestError],
      [413, InvalidRequestError],
      [415, InvalidRequestError],
      [422, InvalidRequestError],
      [401, UnauthorizedError],
      [403, ForbiddenError],
      [404, NotFoundError],
      [409, ConflictError],
      [500, ServerError],
      [502, ServerError],
      [503, ServerError],
      [405, ApiError],
      [429, ApiError],
    ];

    for (const [status, Class] of expected) {
      it(`${status} → ${Class.name}`, async () => {
        assert.equal(errorClassFor(status), Class);
        const { fetch, seen } = answering(
          status,
          problem(status, `detail for ${status}`, [{ field: 'body.name', message: 'is bad' }]),
        );
        const ao = new Orchestrator({
          runtimeUrl: 'http://runtime.test:1234',
          registryUrl: 'http://registry.test',
          fetch,
          token: null,
        });
        await assert.rejects(ao.sessions.get('demo'), (error: unknown) => {
          assert.ok(error instanceof Class);
          assert.ok(error instanceof ApiError);
          assert.equal(error.constructor, Class);
          assert.equal(error.name, Class.name);
          assert.equal(error.status, status);
          assert.equal(error.message, `detail for ${status}`);
          assert.equal(error.detail, `detail for ${status}`);
          assert.deepEqual(error.errors, [{ field: 'body.name', message: 'is bad' }]);
          assert.equal(error.problem.title, 'Title');
          assert.equal(error.method, 'GET');
          assert.equal(error.url, 'http://runtime.test:1234/sessions/demo');
          assert.equal(error.service, 'Agent Runtime');
          return true;
        });
        assert.equal(seen.length, 1);
      });
    }

    it('makes a problem out of a body that is not one (a proxy page)', async () => {
      const { fetch } = answering(502, '<html><body>Bad Gateway</body></html>', 'text/html');
      const ao = new Orchestrator({ registryUrl: 'http://registry.test', fetch, token: null });
      await assert.rejects(ao.agents.create({ name: 'x', description: 'y' }), (error: unknown) => {
        assert.ok(error instanceof ServerError);
        assert.equal(error.status, 502);
        assert.deepEqual(error.errors, []);
        assert.match(error.message, /^HTTP 502.*Bad Gateway/);
        assert.equal(error.method, 'POST');
        assert.equal(error.url, 'http://registry.test/agents');
        assert.equal(error.service, 'Agent Registry');
        return true;
      });
    });

    it('keeps the status when the body is empty', async () => {
      const { fetch } = answering(503, '', 'text/plain');
      const ao = new Orchestrator({ registryUrl: 'http://registry.test', fetch, token: null });
      await assert.rejects(
        ao.agents.list(),
        (error: unknown) => error instanceof ServerError && error.status === 503 && /^HTTP 503/.test(error.message),
      );
    });
  });

  describe('against the real Agent Registry', () => {
    let registry: TestRegistry;
    let ao: Orchestrator;
    before(async () => {
      registry = await startTestRegistry();
      ao = new Orchestrator({ registryUrl: registry.url, token: null });
      await ao.agents.create({ name: 'taken', description: 'x' });
    });
    after(async () => {
      await registry.close();
      await removeDir(registry.dataDir);
    });

    it('carries the problem the server wrote', async () => {
      await assert.rejects(ao.agents.create({ name: 'bad name', description: 'x' }), (error: unknown) => {
        assert.ok(error instanceof InvalidRequestError);
        assert.equal(error.problem.type, 'urn:aof:problem:invalid-request');
        assert.equal(error.problem.instance, '/agents');
        assert.equal(error.errors[0]?.field, 'body.name');
        assert.equal(error.message, error.problem.detail);
        return true;
      });
      await assert.rejects(ao.agents.create({ name: 'taken', description: 'x' }), ConflictError);
      await assert.rejects(ao.agents.get('missing'), NotFoundError);
    });
  });

  describe('configuration', () => {
    it('refuses a base URL that is not http(s)', () => {
      assert.throws(
        () => new Orchestrator({ runtimeUrl: 'not a url' }),
        (error: unknown) => {
          assert.ok(error instanceof OrchestratorError);
          assert.match(error.message, /runtimeUrl \(or AGENT_ORCHESTRATOR_SESSION_API_URL\) is not a URL/);
          return true;
        },
      );
      assert.throws(() => new Orchestrator({ registryUrl: 'ftp://x' }), /must be an http/);
    });
  });
});
