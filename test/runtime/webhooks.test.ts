// Webhooks: a loopback receiver gets a signed notice when a run ends, retried with backoff after
// failures (the same delivery id each time), from the runtime-wide URL and from a session's own.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Orchestrator, WebhookPayload } from '../../sdk/index.js';
import { eventually } from '../support/processes.js';
import { startHttpStub, type HttpStub } from '../support/servers.js';
import { TestStack } from '../support/stack.js';
import { runtimeDocument } from '../../servers/common/documents.generated.js';

const SECRET = 'hook-secret';

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

describe('runtime: webhooks when runs end', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let receiver: HttpStub;
  const received: Received[] = [];
  /** Statuses to answer, in order; 204 once they run out. */
  const answers: number[] = [];

  before(async () => {
    receiver = await startHttpStub((req, res) => {
      const chunks: Buffer[] = [];
      req
        .on('data', (c: Buffer) => chunks.push(c))
        .on('end', () => {
          received.push({
            at: Date.now(),
            headers: req.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            path: req.url ?? '',
          });
          res.writeHead(answers.shift() ?? 204).end();
        });
    });
    stack = await TestStack.start({
      agent: 'fake',
      webhooks: { url: `${receiver.url}/all`, secret: SECRET, retryDelaysMs: [100, 300, 900] },
    });
    ao = stack.client();
  });
  after(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it('posts a signed payload when a run finishes, retrying 5xx with backoff under one delivery id', async () => {
    answers.push(500, 503);
    stack.fake.respond(() => ({ text: 'all good' }));
    await ao.sessions.create({ name: 'hooked', prompt: 'hi', parent: null });
    await eventually('three attempts', () => received.filter((r) => r.path === '/all').length >= 3);
    const attempts = received.filter((r) => r.path === '/all');
    assert.equal(attempts.length, 3, 'no attempt after the 2xx');
    assert.equal(new Set(attempts.map((a) => a.headers['x-aof-delivery'])).size, 1);
    assert.ok(attempts[1]!.at - attempts[0]!.at >= 90 && attempts[2]!.at - attempts[1]!.at >= 280, 'backoff grows');
    const [first] = attempts;
    assert.equal(first!.headers['x-aof-event'], 'run.ended');
    assert.equal(
      first!.headers['x-aof-signature'],
      `sha256=${createHmac('sha256', SECRET).update(first!.body).digest('hex')}`,
    );
    const payload = JSON.parse(first!.body) as WebhookPayload;
    assert.deepEqual(
      {
        event: payload.event,
        session: payload.session,
        run: payload.run,
        state: payload.state,
        result: payload.result,
        parent: payload.parent,
      },
      { event: 'run.ended', session: 'hooked', run: 1, state: 'finished', result: 'all good', parent: null },
    );
    assert.ok(payload.cost_usd! > 0 && payload.usage!.input_tokens > 0);
    // Exactly the contract's fields.
    const schema = (runtimeDocument as unknown as { components: { schemas: Record<string, { required: string[] }> } })
      .components.schemas.WebhookPayload!;
    assert.deepEqual(Object.keys(payload).sort(), [...schema.required].sort());
  });

  it("also notifies the session's own URL when its run fails, and gives up on a 4xx", async () => {
    received.length = 0;
    stack.fake.respond(() => ({ error: { status: 400, message: 'no way' } }));
    await ao.sessions.create({
      name: 'doomed',
      prompt: 'fail',
      parent: null,
      webhook_url: `${receiver.url}/mine?key=x`,
    });
    await eventually(
      'both URLs told',
      () => received.some((r) => r.path === '/all') && received.some((r) => r.path.startsWith('/mine')),
    );
    const mine = received.find((r) => r.path.startsWith('/mine'))!;
    const payload = JSON.parse(mine.body) as WebhookPayload;
    assert.equal(payload.state, 'failed');
    assert.match(payload.error ?? '', /no way/);

    received.length = 0;
    answers.push(410);
    stack.fake.respond(() => ({ text: 'again' }));
    await ao.sessions.resume('doomed', { prompt: 'again' });
    await ao.sessions.waitForResult('doomed', { timeoutMs: 30_000 });
    await eventually('two notices', () => received.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(received.length, 2, 'a 410 is not retried');
  });
});
