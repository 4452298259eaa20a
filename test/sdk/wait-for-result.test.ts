/**
 * sessions.waitForResult() against a stub runtime whose status endpoint long-polls like the
 * contract says (`?wait=` holds the answer until the run ends or the wait is over).
 */
import assert from 'node:assert/strict';
import { NotFoundError, Orchestrator, WaitTimeoutError, type SessionResult } from '../../sdk/index.js';
import { startHttpStub, type HttpStub } from '../support/servers.js';

describe('sdk: sessions.waitForResult()', () => {
  let stub: HttpStub;
  let finishAt: number;
  /** When set, the run ends this long after the first status call has answered (whatever the load). */
  let finishAfterFirstPollMs: number | null;
  let statusCalls: Array<{ wait: string | null; heldMs: number }>;
  const result: SessionResult = {
    name: 'demo',
    run: 1,
    state: 'finished',
    result: 'done',
    error: null,
    is_error: false,
  };

  beforeEach(async () => {
    statusCalls = [];
    finishAfterFirstPollMs = null;
    stub = await startHttpStub(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const json = (status: number, body: unknown, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type });
        res.end(JSON.stringify(body));
      };
      if (!url.pathname.startsWith('/sessions/demo/')) {
        return json(
          404,
          { type: 'x', title: 'Not found', status: 404, detail: "Session 'other' not found" },
          'application/problem+json',
        );
      }
      const finished = () => Date.now() >= finishAt;
      if (url.pathname === '/sessions/demo/status') {
        const wait = url.searchParams.get('wait');
        const started = Date.now();
        const until = started + Number(wait ?? 0) * 1000;
        while (!finished() && Date.now() < until && !res.destroyed) await new Promise((r) => setTimeout(r, 10));
        statusCalls.push({ wait, heldMs: Date.now() - started });
        const state = finished() ? 'finished' : 'running';
        if (statusCalls.length === 1 && finishAfterFirstPollMs !== null) finishAt = Date.now() + finishAfterFirstPollMs;
        return json(200, { name: 'demo', state });
      }
      if (url.pathname === '/sessions/demo/result') {
        if (!finished())
          return json(
            409,
            { type: 'x', title: 'Conflict', status: 409, detail: 'still running' },
            'application/problem+json',
          );
        return json(200, result);
      }
      json(404, { type: 'x', title: 'Not found', status: 404, detail: 'no route' }, 'application/problem+json');
    });
  });
  afterEach(async () => {
    await stub.close();
  });
  const client = () => new Orchestrator({ runtimeUrl: stub.url, token: null });

  it('long-polls the status and returns the result as soon as the run ends', async () => {
    finishAt = Date.now() + 400;
    const started = Date.now();
    assert.deepEqual(await client().sessions.waitForResult('demo', { pollSeconds: 5 }), result);
    // Within the one long poll (5 s): the answer came when the run ended, not when the poll ran out.
    assert.ok(Date.now() - started < 4500, 'answered when the run ended, before the long poll ran out');
    assert.equal(statusCalls.length, 1, 'one long poll, not a busy loop');
    assert.equal(statusCalls[0]!.wait, '5');
  });

  it('polls again when a long poll ends without a final state', async () => {
    finishAt = Number.POSITIVE_INFINITY;
    finishAfterFirstPollMs = 300;
    assert.deepEqual(await client().sessions.waitForResult('demo', { pollSeconds: 1 }), result);
    assert.equal(statusCalls.length, 2, JSON.stringify(statusCalls));
    assert.ok(statusCalls.every((c) => c.wait === '1'));
  });

  it('returns at once for a run that has already ended', async () => {
    finishAt = 0;
    assert.deepEqual(await client().sessions.waitForResult('demo'), result);
    assert.equal(statusCalls.length, 1);
    assert.equal(statusCalls[0]!.wait, '30'); // the default long-poll
  });

  it('throws a WaitTimeoutError after timeoutMs, without overshooting much', async () => {
    finishAt = Infinity;
    const started = Date.now();
    await assert.rejects(
      client().sessions.waitForResult('demo', { timeoutMs: 1300, pollSeconds: 60 }),
      (error: unknown) => {
        assert.ok(error instanceof WaitTimeoutError);
        assert.equal(error.session, 'demo');
        assert.equal(error.timeoutMs, 1300);
        assert.equal(error.state, 'running');
        assert.equal(error.message, "Session 'demo' has not ended after 1.3 s (it is running)");
        return true;
      },
    );
    const elapsed = Date.now() - started;
    // Not before the timeout, and not after the 60 s poll it was asked for: the wait asked of the server
    // is capped at the time left (below). The upper bound leaves room for a loaded machine.
    assert.ok(elapsed >= 1300 && elapsed < 10_000, `took ${elapsed} ms`);
    assert.equal(statusCalls[0]!.wait, '1'); // never asks the server to hold longer than the time left
    assert.ok(statusCalls.length <= 6, `${statusCalls.length} status calls`);
  });

  it('throws NotFoundError for an unknown session', async () => {
    finishAt = 0;
    await assert.rejects(client().sessions.waitForResult('other'), NotFoundError);
  });

  it('stops waiting when the signal aborts', async () => {
    finishAt = Infinity;
    await assert.rejects(
      client().sessions.waitForResult('demo', { signal: AbortSignal.timeout(200), pollSeconds: 10 }),
      { name: 'TimeoutError' },
    );
  });
});
