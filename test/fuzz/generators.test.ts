// The fuzz's own parts: what it calls valid is valid by the servers' own validators, and its
// oracle flags what it should. Otherwise a green fuzz would prove nothing.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contract } from '../../servers/common/contract/contract.js';
import { validValue, type Pools } from './arbitraries.js';
import { contractOperations, deletesCollection, operationAt } from './contract-operations.js';
import { checkResponse } from './oracle.js';
import type { FuzzRequest } from './requests.js';
import type { FuzzResponse } from './sender.js';

const pools: Pools = { sessionNames: ['s1'], agentNames: ['a1'], projectDirs: ['/tmp'] };

describe('fuzz generators', () => {
  for (const op of contractOperations()) {
    if (!op.body && !op.parameters.length) continue;
    it(`${op.api} ${op.operationId}: generated valid inputs pass the server's validators`, () => {
      const body = op.body ? contract.compile(op.api, op.body.schema) : undefined;
      const params = op.parameters.map((p) => ({ p, validate: contract.compile(op.api, p.schema) }));
      fc.assert(
        fc.property(
          op.body ? validValue(op.api, op.body.schema, pools) : fc.constant(undefined),
          fc.tuple(...params.map(({ p }) => validValue(op.api, p.schema, pools, p.name))),
          (value, paramValues) => {
            if (body) assert.ok(body(value), JSON.stringify(body.errors));
            params.forEach(({ validate }, i) => {
              assert.ok(validate(paramValues[i]), JSON.stringify(validate.errors));
            });
          },
        ),
        { seed: 42, numRuns: 60 },
      );
    });
  }
});

describe('operationAt', () => {
  const ops = contractOperations();
  it('finds the operation a request reaches, as the router does', () => {
    assert.equal(operationAt(ops, 'runtime', 'POST', '/sessions/a%2Fb/runs?x=1')?.op.operationId, 'resumeSession');
    assert.equal(operationAt(ops, 'runtime', 'POST', '/sessions/a%2Fb/runs')?.params.name, 'a/b');
    // An empty name leaves `/sessions/`, which is no route (never the collection's DELETE).
    assert.equal(operationAt(ops, 'runtime', 'DELETE', '/sessions/'), undefined);
    assert.equal(operationAt(ops, 'runtime', 'DELETE', '/sessions?all=true')?.op.operationId, 'deleteAllSessions');
    assert.equal(operationAt(ops, 'registry', 'DELETE', '/agents/'), undefined);
    // The operations the oracle guards from a trailing slash: every one that deletes a whole collection.
    assert.deepEqual(
      ops
        .filter(deletesCollection)
        .map((op) => `${op.api} ${op.operationId}`)
        .sort(),
      ['runtime deleteAllSessions', 'runtime pruneSessions'],
    );
    assert.equal(operationAt(ops, 'registry', 'POST', '/AGENTS')?.op.operationId, 'createAgent');
    assert.equal(operationAt(ops, 'registry', 'PUT', '/agents/x'), undefined);
    assert.equal(operationAt(ops, 'registry', 'GET', '/agents/x/y'), undefined);
  });
});

describe('fuzz oracle', () => {
  const request = (change: Partial<FuzzRequest> = {}): FuzzRequest => ({
    op: 'createSession',
    api: 'runtime',
    method: 'POST',
    target: '/sessions',
    headers: {},
    mutation: 'body:wrong-type',
    blame: ['body'],
    streams: false,
    params: {},
    repeat: 1,
    ...change,
  });
  const problem = (status: number, extra: object = {}): FuzzResponse => {
    const json = { type: 'urn:aof:problem:x', title: 'X', status, ...extra };
    return { status, headers: { 'content-type': 'application/problem+json' }, text: JSON.stringify(json), json };
  };

  it('passes a problem that names the mutated field', () => {
    assert.deepEqual(checkResponse(request(), problem(400, { errors: [{ field: 'body.prompt', message: 'm' }] })), []);
    assert.deepEqual(checkResponse(request(), problem(404)), []);
    assert.deepEqual(
      checkResponse(request({ mutation: 'valid', blame: [] }), { status: 201, headers: {}, text: '{}', json: {} }),
      [],
    );
  });

  it('flags 5xx, silence, bare 4xx, missing types and fields, and the wrong field', () => {
    const flagged = (req: FuzzRequest, res: FuzzResponse) => assert.notDeepEqual(checkResponse(req, res), []);
    flagged(request(), problem(500));
    flagged(request(), { status: 0, headers: {}, text: '', json: undefined, error: 'ECONNRESET' });
    flagged(request(), { status: 404, headers: { 'content-type': 'text/plain' }, text: 'Not Found', json: undefined });
    flagged(request(), problem(404, { type: undefined }));
    flagged(request(), problem(404, { type: 'not a uri' }));
    flagged(request(), problem(400));
    flagged(request(), problem(400, { errors: [{ field: 'query.x', message: 'm' }] }));
    flagged(request(), problem(400, { errors: [{ field: 'prompt', message: 'm' }] }));
    flagged(request({ mutation: 'valid', blame: [] }), problem(400, { errors: [{ field: 'body', message: 'm' }] }));
    flagged(request(), problem(409, { status: 400 }));
    const tooLarge = request({ mutation: 'body:too-large', refusedAs: 'payload-too-large' });
    const field = { errors: [{ field: 'body', message: 'm' }] };
    assert.deepEqual(
      checkResponse(tooLarge, problem(413, { ...field, type: 'urn:aof:problem:payload-too-large' })),
      [],
    );
    flagged(tooLarge, problem(400, { ...field, type: 'urn:aof:problem:invalid-request' }));
    flagged(tooLarge, problem(413, field));
    flagged(tooLarge, { status: 0, headers: {}, text: '', json: undefined, error: 'EPIPE write EPIPE' });
    flagged(request({ mutation: 'header:no-auth', mustRefuse: true }), {
      status: 200,
      headers: {},
      text: '{}',
      json: {},
    });
  });

  it('flags a path ending with / that reached an operation, naming one that deletes a whole collection', () => {
    const deleted: FuzzResponse = { status: 200, headers: {}, text: '{"deleted":[]}', json: { deleted: [] } };
    const slip = request({ op: 'deleteSession', method: 'DELETE', target: '/sessions/', mutation: 'path:nasty' });
    assert.match(
      checkResponse(slip, deleted).join('\n'),
      /reached deleteAllSessions, which deletes the whole collection/,
    );
    const prune = request({ op: 'pruneSessions', method: 'POST', target: '/sessions/prune/', mutation: 'path:odd' });
    assert.match(checkResponse(prune, deleted).join('\n'), /reached pruneSessions/);
    assert.notDeepEqual(checkResponse(request({ target: '/sessions/', mutation: 'path:odd' }), deleted), []);
    assert.deepEqual(checkResponse(slip, problem(404)), []);
    assert.deepEqual(
      checkResponse(
        request({
          op: 'deleteAllSessions',
          method: 'DELETE',
          target: '/sessions?all=true',
          mutation: 'valid',
          blame: [],
        }),
        deleted,
      ),
      [],
    );
  });
});
