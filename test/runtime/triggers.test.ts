// Triggers: a signed event POSTed to /triggers/{name} (no bearer token) starts a session from the
// trigger's template, or resumes the session owning the branch the payload names; a missing or wrong
// signature is 401 and starts nothing; a delivery id is done once; a filter keeps events out; the secret
// is never shown. The real Claude Code CLI runs the sessions, against the fake model.
import assert from 'node:assert/strict';
import type { Orchestrator } from '../../sdk/index.js';
import { signatureOf } from '../../servers/runtime/trigger-rules.js';
import { runBin } from '../bin/run-bin.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

const SECRET = 'trigger-secret-7f3a9c2e41';
const TOKEN = 'people-token-2b8d5e';

describe('triggers', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;

  /** POSTs `payload` to the trigger as a sender would: no bearer token, its own headers. */
  async function send(name: string, payload: unknown, headers: Record<string, string>) {
    const response = await fetch(`${stack.runtimeUrl}/triggers/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  const github = (body: string, delivery: string, secret = SECRET) => ({
    'x-github-delivery': delivery,
    'x-hub-signature-256': signatureOf(secret, body),
  });
  const sessionsNamed = async (prefix: string) => (await ao.sessions.list({ prefix })).sessions.map((s) => s.name);

  before(async () => {
    stack = await TestStack.start({ token: TOKEN });
    ao = stack.client();
    stack.fake.respond((req) => ({ text: `on it: ${req.lastUserText}` }));
  });
  after(async () => {
    await stack?.close();
  });

  it('starts a session for a signed event, once per delivery id; a badly signed one is 401 and starts nothing', async () => {
    const trigger = await ao.triggers.create({
      name: 'issues',
      secret: SECRET,
      filter: 'action == "opened" and issue.number > 0',
      prompt: 'Triage issue #{payload.issue.number}: {payload.issue.title}',
      session_name: '{trigger}-{delivery}',
    });
    assert.equal(trigger.signature, 'github');
    const body = JSON.stringify({ action: 'opened', issue: { number: 42, title: 'Crash on empty input' } });

    const forged = await send('issues', body, github(body, 'd-forged', 'not-the-secret-at-all'));
    assert.equal(forged.status, 401);
    assert.equal(forged.body.type, 'urn:aof:problem:unauthorized');
    const unsigned = await send('issues', body, { 'x-github-delivery': 'd-unsigned' });
    assert.equal(unsigned.status, 401);
    // Signed for another body: a changed payload does not pass.
    const tampered = await send('issues', body.replace('42', '43'), github(body, 'd-tampered'));
    assert.equal(tampered.status, 401);
    assert.deepEqual(await sessionsNamed('issues-'), []);
    assert.deepEqual((await ao.triggers.get('issues')).deliveries, []);

    const first = await send('issues', body, github(body, 'd-1'));
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.deepEqual([first.body.outcome, first.body.session], ['started', 'issues-d-1']);
    const result = await ao.sessions.waitForResult('issues-d-1', { timeoutMs: 60_000 });
    assert.equal(result.result, 'on it: Triage issue #42: Crash on empty input');

    const again = await send('issues', body, github(body, 'd-1'));
    assert.equal(again.status, 200);
    assert.deepEqual([again.body.outcome, again.body.session], ['started', 'issues-d-1']);
    assert.deepEqual(await sessionsNamed('issues-'), ['issues-d-1']);

    const closedBody = JSON.stringify({ action: 'closed', issue: { number: 42 } });
    const closed = await send('issues', closedBody, github(closedBody, 'd-2'));
    assert.deepEqual([closed.status, closed.body.outcome, closed.body.session], [202, 'filtered', null]);

    const { trigger: shown, deliveries } = await ao.triggers.get('issues');
    assert.equal(shown.deliveries, 2);
    assert.deepEqual(
      deliveries.map((d) => [d.id, d.outcome]),
      [
        ['d-2', 'filtered'],
        ['d-1', 'started'],
      ],
    );
    // The secret is in no answer and in none of the session's events.
    const everything = JSON.stringify([await ao.triggers.list(), shown, await ao.sessions.listEvents('issues-d-1')]);
    assert.ok(!everything.includes(SECRET));
  });

  it("resumes the session owning the branch the payload names (aof's own signature)", async () => {
    await ao.sessions.create({ name: 'fixer', prompt: 'Fix the parser' });
    await ao.sessions.waitForResult('fixer', { timeoutMs: 60_000 });
    await ao.triggers.create({
      name: 'ci-red',
      secret: SECRET,
      signature: 'aof',
      resume_branch: 'check_suite.head_branch',
      prompt: 'CI says {payload.check_suite.conclusion} on {payload.check_suite.head_branch}; fix it',
    });
    const body = JSON.stringify({ check_suite: { conclusion: 'failure', head_branch: 'aof/fixer' } });
    const github = await send('ci-red', body, { 'x-hub-signature-256': signatureOf(SECRET, body) });
    assert.equal(github.status, 401, 'an aof trigger reads X-AOF-Signature only');
    const sent = await send('ci-red', body, { 'x-aof-signature': signatureOf(SECRET, body), 'x-aof-delivery': 'ci-1' });
    assert.deepEqual([sent.status, sent.body.outcome, sent.body.session], [202, 'resumed', 'fixer']);
    const result = await eventually(
      'the resumed run to end',
      async () => {
        const got = await ao.sessions.get('fixer');
        return got.runs.length === 2 && got.state === 'finished' ? got : undefined;
      },
      60_000,
    );
    assert.equal(result.runs[1]!.prompt, 'CI says failure on aof/fixer; fix it');
    const other = JSON.stringify({ check_suite: { conclusion: 'failure', head_branch: 'main' } });
    const ignored = await send('ci-red', other, { 'x-aof-signature': signatureOf(SECRET, other) });
    assert.deepEqual(
      [ignored.body.outcome, ignored.body.reason],
      ['filtered', 'check_suite.head_branch names no aof/<session> branch'],
    );
  });

  it('refuses triggers that could not work, and needs a token for everything but events', async () => {
    await assert.rejects(
      ao.triggers.create({ name: 'bad', secret: SECRET, prompt: 'p', filter: 'action ==' }),
      /body\.filter/,
    );
    await assert.rejects(ao.triggers.create({ name: 'bad', secret: 'short', prompt: 'p' }), /secret/);
    await assert.rejects(
      ao.triggers.create({ name: 'bad', secret: SECRET, prompt: 'p', resume_branch: 'x', agent: 'a' }),
      /body\.agent/,
    );
    await assert.rejects(ao.triggers.create({ name: 'issues', secret: SECRET, prompt: 'p' }), /already exists/);
    for (const [method, path] of [
      ['GET', '/triggers'],
      ['GET', '/triggers/issues'],
      ['DELETE', '/triggers/issues'],
    ]) {
      const response = await fetch(`${stack.runtimeUrl}${path}`, { method });
      assert.equal(response.status, 401, `${method} ${path}`);
    }
    const missing = await send('nobody', '{}', { 'x-hub-signature-256': signatureOf(SECRET, '{}') });
    assert.equal(missing.status, 404);
  });

  it('ao-trigger adds (the secret from stdin), lists, shows and deletes', async () => {
    const env = stack.clientEnv;
    const add = await runBin('ao-trigger', ['add', 'cli', '--agent-less-check', 'x'], { env });
    assert.equal(add.code, 1);
    const added = await runBin(
      'ao-trigger',
      ['add', 'cli', '--filter', 'action == "opened"', '-p', 'Look at {payload.x}'],
      {
        env,
        input: `${SECRET}\n`,
      },
    );
    assert.equal(added.code, 0, added.stderr);
    assert.match(
      added.stdout,
      /^cli {2}github {2}new session {2}if action == "opened" {2}0 deliveries\nEvents: POST http:\/\/127\.0\.0\.1:\d+\/triggers\/cli\n$/,
    );
    assert.ok(!added.stdout.includes(SECRET));
    const list = await runBin('ao-trigger', ['list', '--json'], { env });
    assert.ok(!list.stdout.includes(SECRET));
    assert.ok(list.json().triggers.some((t: { name: string }) => t.name === 'cli'));
    const body = JSON.stringify({ action: 'opened', x: 'the thing' });
    assert.equal((await send('cli', body, github(body, 'cli-1'))).status, 202);
    const show = await runBin('ao-trigger', ['show', 'cli'], { env });
    assert.match(show.stdout, /started {2}cli-\d{8}-\d{6} {2}\(cli-1\)/);
    const short = await runBin('ao-trigger', ['add', 'weak', '-p', 'p'], { env, input: 'short\n' });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 16 characters/);
    assert.equal((await runBin('ao-trigger', ['delete', 'cli'], { env })).code, 0);
    assert.match((await runBin('ao-trigger', ['show', 'cli'], { env })).stderr, /Trigger 'cli' not found/);
  });
});
