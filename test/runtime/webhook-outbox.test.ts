// Webhook notices outlive the runtime process: kept in the store's outbox in the write that records
// a run's end, they are sent after a crash (SIGKILL) or a stop (SIGTERM) in the middle of their
// retries, once, under the same delivery id; a 4xx stays final across a restart; runtime processes
// sharing one PostgreSQL make each attempt once, and one goes on with the notices of another that died.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Orchestrator, EventInput, WebhookPayload } from '../../sdk/index.js';
import { eventually } from '../support/processes.js';
import { queryDatabase, freshDatabase, STORE_BACKENDS } from '../support/postgres.js';
import { clientOf, startReplica, type Replica } from '../support/replicas.js';
import { startHttpStub, type HttpStub } from '../support/servers.js';
import { TestStack } from '../support/stack.js';

const SECRET = 'outbox-secret';
/** In the URL's query, which no log may show. */
const TOKEN = 'hush-query-token';

const ending = (text: string): EventInput[] => [
  { type: 'session_start', data: {} },
  { type: 'result', data: { text, is_error: false } },
  { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'exited' } },
];

interface Attempt {
  delivery: string;
  session: string;
  body: string;
  signature: string | undefined;
  answer: number | 'refused' | 'held';
}

/**
 * A webhook receiver that answers each attempt as `answer` says (a status; `refused`: the connection
 * is dropped; `held`: no answer ever comes), and keeps what it got.
 */
async function startReceiver() {
  const attempts: Attempt[] = [];
  let answer: (delivery: string, earlier: number) => Attempt['answer'] = () => 204;
  const stub: HttpStub = await startHttpStub((req, res) => {
    const chunks: Buffer[] = [];
    req
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const delivery = String(req.headers['x-aof-delivery']);
        const given = answer(delivery, attempts.filter((a) => a.delivery === delivery).length);
        attempts.push({
          delivery,
          session: (JSON.parse(body) as WebhookPayload).session,
          body,
          signature: req.headers['x-aof-signature'] as string | undefined,
          answer: given,
        });
        if (given === 'refused') req.socket.destroy();
        else if (given !== 'held') res.writeHead(given).end();
      });
  });
  return {
    url: `${stub.url}/hook?token=${TOKEN}`,
    attempts,
    of: (session: string) => attempts.filter((a) => a.session === session),
    answer: (how: typeof answer) => {
      answer = how;
    },
    close: () => stub.close(),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const delivered = (attempts: Attempt[]) => attempts.filter((a) => typeof a.answer === 'number' && a.answer < 300);

/** The attempts of one notice: one delivery id throughout, signed, delivered exactly once, last. */
function assertDeliveredOnce(attempts: Attempt[], session: string): void {
  assert.ok(attempts.length >= 2, `a failed attempt and a delivered one, not ${attempts.length}`);
  assert.equal(new Set(attempts.map((a) => a.delivery)).size, 1, 'the same delivery id on every attempt');
  assert.equal(delivered(attempts).length, 1, 'delivered once');
  assert.equal(attempts.at(-1), delivered(attempts)[0], 'no attempt after the delivery');
  for (const a of attempts)
    assert.equal(a.signature, `sha256=${createHmac('sha256', SECRET).update(a.body).digest('hex')}`);
  const payload = JSON.parse(attempts.at(-1)!.body) as WebhookPayload;
  assert.deepEqual(
    [payload.event, payload.session, payload.run, payload.state, payload.result],
    ['run.ended', session, 1, 'finished', `end of ${session}`],
  );
}

for (const backend of STORE_BACKENDS) {
  describe(`runtime (${backend.label}): webhook notices across a crash or a stop`, function () {
    this.timeout(90_000);
    let receiver: Receiver;
    let stack: TestStack;
    let ao: Orchestrator;
    let counter = 0;

    before(async () => {
      receiver = await startReceiver();
      const databaseUrl = await backend.databaseUrl();
      stack = await TestStack.start({
        executor: 'none',
        runtimeProcess: true,
        ...(databaseUrl ? { databaseUrl } : {}),
        runtimeEnv: { AGENT_ORCHESTRATOR_WEBHOOK_URL: receiver.url, AGENT_ORCHESTRATOR_WEBHOOK_SECRET: SECRET },
      });
      ao = stack.client();
    });
    afterEach(function () {
      if (this.currentTest?.state === 'failed')
        process.stderr.write(`--- runtime log:\n${stack?.runtimeLog.slice(-40).join('\n')}\n`);
    });
    after(async () => {
      await stack?.close();
      await receiver?.close();
    });

    /** A session whose run has ended through the runtime, once its first notice was answered (as `answer` says). */
    const endRun = async () => {
      const name = `hooked-${++counter}`;
      await ao.sessions.create({ name, prompt: 'go', parent: null });
      await ao.sessions.appendEvents(name, ending(`end of ${name}`));
      await eventually('the first attempt', () => receiver.of(name).length >= 1);
      return name;
    };

    it('sends a notice that was being retried when the runtime was SIGKILLed, once, after the restart', async () => {
      receiver.answer(() => 503);
      const name = await endRun();
      await stack.killRuntime();
      receiver.answer(() => 204);
      await stack.startRuntime();
      await eventually(
        'the notice delivered after the restart',
        () => delivered(receiver.of(name)).length >= 1,
        30_000,
      );
      await sleep(1500); // past the first retry pause: nothing more comes
      assertDeliveredOnce(receiver.of(name), name);
      assert.ok(!stack.runtimeLog.join('\n').includes(TOKEN), 'logs show no query');
    });

    it('sends a notice that was being retried when the runtime was stopped (SIGTERM), once, after the restart', async () => {
      receiver.answer(() => 'refused');
      const name = await endRun();
      await stack.stopRuntime();
      receiver.answer(() => 204);
      await stack.startRuntime();
      await eventually(
        'the notice delivered after the restart',
        () => delivered(receiver.of(name)).length >= 1,
        30_000,
      );
      await sleep(1500);
      assertDeliveredOnce(receiver.of(name), name);
    });

    it('keeps a 4xx final, also across a restart', async () => {
      receiver.answer(() => 410);
      const name = await endRun();
      await sleep(1500); // a retry would come after 1 s
      assert.match(stack.runtimeLog.join('\n'), /refused the notice \(HTTP 410\); not retried/);
      assert.ok(!stack.runtimeLog.join('\n').includes(TOKEN), 'logs show no query');
      await stack.killRuntime();
      receiver.answer(() => 204);
      await stack.startRuntime();
      await sleep(1500);
      assert.deepEqual(
        receiver.of(name).map((a) => a.answer),
        [410],
      );
    });
  });
}

describe('runtime replicas on one PostgreSQL: webhook notices', function () {
  this.timeout(90_000);
  let databaseUrl: string;
  let receiver: Receiver;
  let a: Replica;
  let b: Replica;
  let viaA: Orchestrator;
  let viaB: Orchestrator;
  let counter = 0;

  before(async () => {
    databaseUrl = await freshDatabase();
    receiver = await startReceiver();
    const env = { AGENT_ORCHESTRATOR_WEBHOOK_URL: receiver.url, AGENT_ORCHESTRATOR_WEBHOOK_SECRET: SECRET };
    [a, b] = await Promise.all([startReplica(databaseUrl, env), startReplica(databaseUrl, env)]);
    viaA = clientOf(a);
    viaB = clientOf(b);
  });
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const [label, replica] of [
      ['A', a],
      ['B', b],
    ] as const)
      process.stderr.write(`--- replica ${label}:\n${replica?.log.slice(-30).join('\n')}\n`);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await receiver?.close();
  });

  const endRun = async (through: Orchestrator) => {
    const name = `replicated-${++counter}`;
    await through.sessions.create({ name, prompt: 'go' });
    await through.sessions.appendEvents(name, ending(`end of ${name}`));
    return name;
  };

  it('makes every attempt of every notice once, whichever replica recorded the end', async () => {
    // The first attempt of each notice fails: both replicas then know when it is due again.
    receiver.answer((_, earlier) => (earlier === 0 ? 503 : 204));
    const names = await Promise.all(Array.from({ length: 6 }, (_, i) => endRun(i % 2 ? viaB : viaA)));
    await eventually('every notice delivered', () => names.every((name) => delivered(receiver.of(name)).length >= 1));
    await sleep(1500);
    for (const name of names) {
      assert.deepEqual(
        receiver.of(name).map((x) => x.answer),
        [503, 204],
        `attempts of ${name}`,
      );
      assertDeliveredOnce(receiver.of(name), name);
    }
  });

  it('goes on with the notices of a replica that died mid-retry, on the other one', async () => {
    receiver.answer(() => 503);
    const name = await endRun(viaA);
    // The failed attempt is recorded (A holds no claim any more) before A dies.
    await eventually(
      'the first attempt recorded',
      async () =>
        (
          await queryDatabase<{ attempts: number }>(
            databaseUrl,
            `SELECT attempts FROM aof_webhooks WHERE session = '${name}'`,
          )
        )[0]?.attempts === 1,
    );
    const exited = new Promise((resolve) => a.child.once('exit', resolve));
    a.child.kill('SIGKILL');
    await exited;
    receiver.answer(() => 204);
    await eventually('the notice delivered by B', () => delivered(receiver.of(name)).length >= 1);
    await sleep(1500);
    assertDeliveredOnce(receiver.of(name), name);
    const [row] = await queryDatabase<{ state: string; attempts: number }>(
      databaseUrl,
      `SELECT state, attempts FROM aof_webhooks WHERE session = '${name}'`,
    );
    assert.deepEqual({ ...row }, { state: 'delivered', attempts: receiver.of(name).length });
  });

  it('gives back the claim of an attempt cut short by a stop (SIGTERM), so another replica need not wait for it to run out', async () => {
    receiver.answer(() => 'held');
    const name = await endRun(viaB);
    await eventually('the attempt under way', () => receiver.of(name).length >= 1);
    const row = async () =>
      (
        await queryDatabase<{ state: string; attempts: number; claimed_by: string | null }>(
          databaseUrl,
          `SELECT state, attempts, claimed_by FROM aof_webhooks WHERE session = '${name}'`,
        )
      )[0];
    assert.ok((await row())?.claimed_by, 'claimed while the attempt is under way');
    await b.stop();
    assert.deepEqual(
      { ...(await row()) },
      { state: 'pending', attempts: 0, claimed_by: null },
      'no attempt counted, no claim left',
    );
    receiver.answer(() => 204);
    b = await startReplica(databaseUrl, {
      AGENT_ORCHESTRATOR_WEBHOOK_URL: receiver.url,
      AGENT_ORCHESTRATOR_WEBHOOK_SECRET: SECRET,
    });
    await eventually('the notice delivered by the new replica', () => delivered(receiver.of(name)).length >= 1);
    await sleep(1500);
    assertDeliveredOnce(receiver.of(name), name);
    assert.equal((await row())?.state, 'delivered');
  });
});

describe('runtime: a backlog of webhook notices', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let hooks: HttpStub;
  const seen = new Map<string, number>();
  let open = 0;
  let mostOpen = 0;

  before(async () => {
    // A slow receiver: each notice is answered after 300 ms.
    hooks = await startHttpStub((req, res) => {
      open++;
      mostOpen = Math.max(mostOpen, open);
      req.resume().on('end', () =>
        setTimeout(() => {
          open--;
          const id = String(req.headers['x-aof-delivery']);
          seen.set(id, (seen.get(id) ?? 0) + 1);
          res.writeHead(204).end();
        }, 300),
      );
    });
    // The poll is rare here: only the end of each attempt can move the backlog on in time.
    stack = await TestStack.start({ executor: 'none', webhooks: { url: `${hooks.url}/slow`, pollMs: 60_000 } });
  });
  after(async () => {
    await stack?.close();
    await hooks?.close();
  });

  it('sends many notices due at once a bounded number at a time, each once, without pausing between', async () => {
    const ao = stack.client();
    const names = Array.from({ length: 80 }, (_, i) => `many-${i}`);
    await Promise.all(
      names.map(async (name) => {
        await ao.sessions.create({ name, prompt: 'go', parent: null });
        await ao.sessions.appendEvents(name, ending(`end of ${name}`));
      }),
    );
    await eventually('every notice', () => seen.size === names.length);
    assert.ok(mostOpen <= 32, `at most 32 at a time, not ${mostOpen}`);
    assert.deepEqual([...new Set(seen.values())], [1], 'each once');
  });
});
