// Webhooks: a loopback receiver gets a signed notice when a run ends, retried with backoff after
// failures (the same delivery id each time), from the runtime-wide URL and from a session's own. A
// session's own URL goes only where the operator allows (AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS):
// the receiver's loopback address is listed here, and what is not listed is refused at creation and
// at sending.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError, type EventInput, type Orchestrator, type WebhookPayload } from '../../sdk/index.js';
import { eventually } from '../support/processes.js';
import { rawRequest, startHttpStub, type HttpStub } from '../support/servers.js';
import { TestStack } from '../support/stack.js';
import { runtimeDocument } from '../../servers/common/contract/documents.generated.js';
import type { ResolvedAddress } from '../../servers/runtime/webhook-targets.js';

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
  /** The DNS of this test: names the runtime looks up for sessions' webhooks, and the look-ups. */
  const dns: Record<string, string> = {};
  const lookups: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    lookups.push(hostname);
    const address = dns[hostname];
    if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };

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
      webhooks: {
        url: `${receiver.url}/all`,
        secret: SECRET,
        retryDelaysMs: [100, 300, 900],
        allowedHosts: ['127.0.0.1'],
        resolve,
      },
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

  it("refuses a session's URL on a loopback, link-local, private or unspecified address not listed: 422 naming body.webhook_url", async () => {
    const port = new URL(receiver.url).port;
    for (const url of [
      `http://127.0.0.2:${port}/hook`,
      `http://[::1]:${port}/hook`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/latest/meta-data/',
      'http://[fe80::1]/hook',
      'http://10.0.0.1/hook',
      'http://192.168.1.1/hook',
      `http://0.0.0.0:${port}/hook`,
    ]) {
      const error = await ao.sessions.create({ name: 'refused', prompt: 'hi', parent: null, webhook_url: url }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof ApiError, `${url} was accepted`);
      assert.equal(error.status, 422, url);
      assert.equal(error.code, 'webhook-not-allowed', url);
      assert.equal(error.errors[0]?.field, 'body.webhook_url', url);
      assert.match(error.message, /AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS/);
    }
    assert.equal((await rawRequest(stack.runtimeUrl, { path: '/sessions/refused' })).status, 404);
  });

  it('checks the address again when it sends: a name that has come to resolve to a refused address gets no notice', async () => {
    received.length = 0;
    const port = new URL(receiver.url).port;
    dns['hooks.test'] = '127.0.0.1';
    stack.fake.respond(() => ({ text: 'moved' }));
    await ao.sessions.create({
      name: 'moved',
      prompt: 'hi',
      parent: null,
      webhook_url: `http://hooks.test:${port}/moved`,
    });
    // The name moves to the cloud's metadata address while the run goes on.
    dns['hooks.test'] = '169.254.169.254';
    const before = lookups.length;
    await ao.sessions.waitForResult('moved', { timeoutMs: 30_000 });
    await eventually('the notice to the runtime-wide URL', () =>
      received.some((r) => r.path === '/all' && (JSON.parse(r.body) as WebhookPayload).session === 'moved'),
    );
    await eventually('the name looked up again to send', () => lookups.slice(before).includes('hooks.test'));
    assert.deepEqual(
      received.filter((r) => r.path === '/moved'),
      [],
      'nothing was sent to the address the name resolves to now',
    );
  });
});

describe("runtime: a session's webhook goes only to hosts the operator allows (aof runtime)", function () {
  this.timeout(60_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let receiver: HttpStub;
  const paths: string[] = [];
  const ending: EventInput[] = [
    { type: 'session_start', data: {} },
    { type: 'result', data: { text: 'done', is_error: false } },
    { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'exited' } },
  ];
  const runtimeEnv: Record<string, string> = {};

  before(async () => {
    receiver = await startHttpStub((req, res) => {
      req.resume().on('end', () => {
        paths.push(req.url ?? '');
        res.writeHead(204).end();
      });
    });
    Object.assign(runtimeEnv, {
      AGENT_ORCHESTRATOR_WEBHOOK_URL: `${receiver.url}/all`,
      AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS: 'localhost',
    });
    stack = await TestStack.start({ executor: 'none', runtimeProcess: true, runtimeEnv });
    ao = stack.client();
  });
  after(async () => {
    await stack?.close();
    await receiver?.close();
  });

  const port = () => new URL(receiver.url).port;

  it('logs at start what session webhooks may reach', () => {
    assert.ok(
      stack.runtimeLog.some((line) => line.includes('session webhooks may reach public addresses and localhost')),
      stack.runtimeLog.join('\n'),
    );
  });

  it('delivers to a listed host name, which resolves to loopback; the address itself is not listed', async () => {
    await ao.sessions.create({ name: 'listed', prompt: 'hi', webhook_url: `http://localhost:${port()}/listed` });
    await ao.sessions.appendEvents('listed', ending);
    await eventually('the notice to localhost', () => paths.includes('/listed'));
    const refused = await ao.sessions
      .create({ name: 'literal', prompt: 'hi', webhook_url: `http://127.0.0.1:${port()}/literal` })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(refused instanceof ApiError && refused.status === 422 && refused.errors[0]?.field === 'body.webhook_url');
  });

  it('gives up at once, without retrying, a notice whose host may no longer be reached when it is sent', async () => {
    await ao.sessions.create({ name: 'late', prompt: 'hi', webhook_url: `http://localhost:${port()}/late` });
    // The operator takes localhost off the list; the session's run ends after the restart.
    runtimeEnv.AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS = '';
    await stack.restartRuntime();
    assert.ok(stack.runtimeLog.some((line) => line.includes('session webhooks may reach public addresses only')));
    await ao.sessions.appendEvents('late', ending);
    const given =
      /webhook http:\/\/localhost:\d+\/late for run 1 of session 'late' .* was not sent \(localhost resolves to \S+, a loopback address.*\); not retried/;
    await eventually('the refusal logged', () => stack.runtimeLog.some((line) => given.test(line)));
    await eventually('the runtime-wide notice, which is trusted', () => paths.filter((p) => p === '/all').length >= 2);
    assert.ok(!paths.includes('/late'), 'nothing sent to localhost');
    assert.ok(!stack.runtimeLog.some((line) => /\/late .*next in/.test(line)), 'no retry planned');
  });
});
