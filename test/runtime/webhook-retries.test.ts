// The pure parts of webhook notices: how an attempt's result decides what comes next (retry rules),
// and what a run's end puts in the outbox (one notice per URL, ids stable for the run).
import assert from 'node:assert/strict';
import { newRun, type StoredSession } from '../../servers/runtime/session-store.js';
import { afterAttempt } from '../../servers/runtime/webhook-retries.js';
import { deliveryId, runEndDeliveries, shown } from '../../servers/runtime/webhooks.js';

const DELAYS = [1000, 2000, 4000];

describe('webhook retries', () => {
  it('delivers on any 2xx', () => {
    for (const status of [200, 202, 204, 299])
      assert.deepEqual(afterAttempt(1, { status }, DELAYS), { state: 'delivered' });
  });

  it('retries a network error, a 429 and a 5xx after the pause of that attempt, and gives up once the pauses run out', () => {
    assert.deepEqual(afterAttempt(1, { error: 'connect ECONNREFUSED' }, DELAYS), {
      state: 'pending',
      error: 'connect ECONNREFUSED',
      retryInMs: 1000,
    });
    assert.deepEqual(afterAttempt(2, { status: 429 }, DELAYS), {
      state: 'pending',
      error: 'HTTP 429',
      retryInMs: 2000,
    });
    assert.deepEqual(afterAttempt(3, { status: 503 }, DELAYS), {
      state: 'pending',
      error: 'HTTP 503',
      retryInMs: 4000,
    });
    assert.deepEqual(afterAttempt(4, { status: 500 }, DELAYS), { state: 'given_up', error: 'HTTP 500' });
    assert.deepEqual(afterAttempt(1, { error: 'timeout' }, []), { state: 'given_up', error: 'timeout' });
  });

  it('gives up at once on a notice refused before sending (its host resolves to an address it may not reach)', () => {
    assert.deepEqual(afterAttempt(1, { refused: 'localhost resolves to 127.0.0.1, a loopback address' }, DELAYS), {
      state: 'given_up',
      error: 'not sent: localhost resolves to 127.0.0.1, a loopback address',
    });
  });

  it('takes any other status as final: a 4xx, and a redirect (not followed)', () => {
    for (const status of [400, 401, 404, 410, 302])
      assert.deepEqual(afterAttempt(1, { status }, DELAYS), { state: 'given_up', error: `HTTP ${status}` });
  });
});

describe('webhook notices of a run end', () => {
  const session = (over: Partial<StoredSession> = {}): StoredSession => {
    const run = {
      ...newRun(1, 'go'),
      state: 'finished' as const,
      result: 'done',
      ended_at: '2026-01-01T00:01:00.000Z',
    };
    return {
      _id: 'job',
      name: 'job',
      agent: null,
      blueprint: null,
      project_dir: '/work',
      claude_session_id: null,
      created_at: '2026-01-01T00:00:00.000Z',
      last_resumed_at: null,
      updated_at: '2026-01-01T00:01:00.000Z',
      runs: [run],
      parent: 'lead',
      ...over,
    };
  };

  it('has one notice per distinct URL, the same payload in each, none without a URL', () => {
    const s = session({ webhook_url: 'https://mine.example/in?key=k' });
    const notices = runEndDeliveries('https://all.example/hook', s, s.runs[0]!);
    assert.deepEqual(
      notices.map((n) => n.url),
      ['https://all.example/hook', 'https://mine.example/in?key=k'],
    );
    assert.equal(new Set(notices.map((n) => n.body)).size, 1);
    assert.deepEqual(JSON.parse(notices[0]!.body), {
      event: 'run.ended',
      session: 'job',
      run: 1,
      state: 'finished',
      error: null,
      result: 'done',
      cost_usd: null,
      usage: null,
      parent: 'lead',
      at: '2026-01-01T00:01:00.000Z',
    });
    assert.equal(
      runEndDeliveries('https://mine.example/in?key=k', s, s.runs[0]!).length,
      1,
      'one URL named twice is told once',
    );
    assert.deepEqual(runEndDeliveries(undefined, session(), session().runs[0]!), []);
  });

  it('gives each notice an id of the form of a UUID, the same for the same run and URL, another for any other', () => {
    const s = session();
    const id = deliveryId(s, s.runs[0]!, 'https://all.example/hook');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(deliveryId(session(), session().runs[0]!, 'https://all.example/hook'), id);
    const others = [
      deliveryId(s, s.runs[0]!, 'https://other.example/hook'),
      deliveryId(session({ created_at: '2026-02-01T00:00:00.000Z' }), s.runs[0]!, 'https://all.example/hook'), // a new session of that name
      deliveryId(s, { ...s.runs[0]!, number: 2 }, 'https://all.example/hook'),
    ];
    assert.equal(new Set([id, ...others]).size, 4);
  });

  it('shows a URL in logs without its credentials or query', () => {
    assert.equal(shown('https://user:pw@hooks.example:8443/in/x?token=secret#f'), 'https://hooks.example:8443/in/x');
    assert.equal(shown('not a url'), '(an invalid URL)');
  });
});
