// Structured output end to end: the real Claude Code CLI against the fake model, told the schema; the
// runtime validates each answer and asks once more, in the same conversation, when it does not match.
// Then on the fake agent: a run failed with the validation errors when it still does not, the schema
// from a session or its blueprint, schemas refused.
import assert from 'node:assert/strict';
import { InvalidRequestError, type Orchestrator } from '../../sdk/index.js';
import type { FakeRequest, MessagesBody, Reply } from '../support/fake-model.js';
import { TestStack } from '../support/stack.js';
import { runBin } from '../bin/run-bin.js';

const SCHEMA = {
  type: 'object',
  properties: { title: { type: 'string' }, count: { type: 'integer' } },
  required: ['title'],
  additionalProperties: false,
};
const RETRY = 'Your final answer does not match the required JSON Schema';

/** Markers in the first prompt choose the answers; the retry prompt gets the second answer. */
function responder(req: FakeRequest): Reply {
  const conversation = JSON.stringify(req.body.messages);
  const retry = req.lastUserText.startsWith(RETRY);
  if (conversation.includes('JSON-GOOD')) return { text: '{"title":"good","count":2}' };
  if (conversation.includes('JSON-FENCED')) return { text: 'Done.\n```json\n{"title":"fenced"}\n```' };
  if (conversation.includes('JSON-FIXED')) return { text: retry ? '{"title":"fixed"}' : '{"title": 3}' };
  if (conversation.includes('JSON-NEVER')) return { text: '{"title": 3, "extra": true}' };
  if (conversation.includes('JSON-PROSE')) return { text: 'I did it, all done!' };
  return { text: `ECHO: ${req.lastUserText}` };
}

const requestsMentioning = (requests: MessagesBody[], marker: string) =>
  requests.filter((body) => JSON.stringify(body.messages).includes(marker));

describe('runtime: structured output (output_schema)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ executorOptions: { maxConcurrent: 4 } });
    stack.fake.respond(responder);
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('a valid answer finishes the run with result_json; the agent was told the schema', async () => {
    const session = await ao.sessions.create({ name: 'good', prompt: 'JSON-GOOD please', output_schema: SCHEMA });
    assert.deepEqual(session.output_schema, SCHEMA);
    const result = await ao.sessions.waitForResult('good', { timeoutMs: 30_000 });
    assert.deepEqual(result, {
      name: 'good',
      run: 1,
      state: 'finished',
      result: '{"title":"good","count":2}',
      error: null,
      is_error: false,
      result_json: { title: 'good', count: 2 },
    });
    const sent = requestsMentioning(stack.fake.requests, 'JSON-GOOD');
    assert.equal(sent.length, 1, 'no retry');
    const system = JSON.stringify(sent[0]!.system);
    assert.match(system, /must be a single JSON value and nothing else/);
    assert.ok(
      system.includes(JSON.stringify(JSON.stringify(SCHEMA)).slice(1, -1)),
      'the schema itself reached the model',
    );

    // A resumed run is held to the schema too (a fenced answer: the runtime's rules, below).
    await ao.sessions.resume('good', { prompt: 'again' });
    assert.deepEqual((await ao.sessions.waitForResult('good', { timeoutMs: 30_000 })).result_json, {
      title: 'good',
      count: 2,
    });
  });

  it('an answer that does not match gets one retry with the errors, in the same run and conversation', async () => {
    await ao.sessions.create({ name: 'fixed', prompt: 'JSON-FIXED please', output_schema: SCHEMA });
    const result = await ao.sessions.waitForResult('fixed', { timeoutMs: 30_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(result.run, 1);
    assert.deepEqual(result.result_json, { title: 'fixed' });
    const sent = requestsMentioning(stack.fake.requests, 'JSON-FIXED');
    assert.equal(sent.length, 2);
    const retry = JSON.stringify(sent[1]!.messages);
    assert.ok(retry.includes(`${RETRY}:\\n- /title must be string`), retry.slice(-400));
    assert.match(retry, /JSON-FIXED please[\s\S]*\{\\"title\\": 3\}/, 'the retry continues the same conversation');

    const session = await ao.sessions.get('fixed');
    assert.equal(session.runs.length, 1);
    assert.equal(session.runs[0]!.num_turns, 2, 'both attempts count');
    const events = (await ao.sessions.listEvents('fixed')).events;
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'session_start',
        'message',
        'message',
        'result',
        'output_retry',
        'session_start',
        'message',
        'message',
        'result',
        'session_stop',
      ],
    );
    // The rejected answer and the retry are said to be so, between the two attempts.
    const retried = events[4]!;
    assert.equal(retried.type, 'output_retry');
    assert.deepEqual(retried.data, { attempt: 2, errors: ['/title must be string'] });
    assert.match((events[6]!.data as { text: string }).text, /^Your final answer does not match/);
    const printed = await runBin('ao-events', ['fixed'], { env: stack.clientEnv });
    assert.match(
      printed.stdout,
      /run 1 output_retry +the answer before was rejected \(\/title must be string\); attempt 2 asks again/,
    );
  });
});

// What the runtime makes of the answers (a failure after the retry, a blueprint's schema, bad schemas)
// is its own: on the fake agent (test/support/fake-agent.mjs); the CLI's part is above.
describe("runtime: structured output, the runtime's rules", function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake', executorOptions: { maxConcurrent: 4 } });
    stack.fake.respond(responder);
    ao = stack.client();
  });
  after(async () => stack?.close());

  // Reading the JSON out of a fenced answer is the runtime's (a run of Claude Code costs ~0.9 s of CPU).
  it('a fenced answer counts', async () => {
    await ao.sessions.create({ name: 'fenced', prompt: 'JSON-FENCED', output_schema: SCHEMA });
    assert.deepEqual((await ao.sessions.waitForResult('fenced', { timeoutMs: 30_000 })).result_json, {
      title: 'fenced',
    });
  });

  it('an answer that still does not match fails the run with the validation errors', async () => {
    await ao.sessions.create({ name: 'never', prompt: 'JSON-NEVER', output_schema: SCHEMA });
    await ao.sessions.create({ name: 'prose', prompt: 'JSON-PROSE', output_schema: SCHEMA });
    const never = await ao.sessions.waitForResult('never', { timeoutMs: 30_000 });
    assert.equal(never.state, 'failed');
    assert.equal(
      never.error,
      "The answer does not match the output schema: (the answer) must not have the property 'extra'; /title must be string",
    );
    assert.equal(never.result_json, null);
    assert.equal(never.is_error, true);
    assert.equal(requestsMentioning(stack.fake.requests, 'JSON-NEVER').length, 2, 'one retry, no more');
    const prose = await ao.sessions.waitForResult('prose', { timeoutMs: 30_000 });
    assert.equal(prose.state, 'failed');
    assert.match(prose.error!, /the answer is not JSON/);
  });

  it("takes the blueprint's schema by default; a session's own schema overrides it", async () => {
    // `$defs` and `$ref`: names the stores could not hold as field names.
    const typed = {
      $defs: { title: { type: 'string' } },
      type: 'object',
      properties: { title: { $ref: '#/$defs/title' } },
      required: ['title'],
    };
    await ao.agents.create({ name: 'typed', description: 'answers with a title', output_schema: typed });
    assert.deepEqual((await ao.agents.get('typed')).output_schema, typed);
    await ao.sessions.create({ name: 'from-blueprint', prompt: 'JSON-GOOD', agent: 'typed' });
    await ao.sessions.create({
      name: 'overridden',
      prompt: 'JSON-GOOD',
      agent: 'typed',
      output_schema: { type: 'object', required: ['missing'] },
    });
    const a = await ao.sessions.waitForResult('from-blueprint', { timeoutMs: 30_000 });
    assert.deepEqual(a.result_json, { title: 'good', count: 2 });
    assert.deepEqual((await ao.sessions.get('from-blueprint')).output_schema, typed);
    assert.equal((await ao.sessions.get('from-blueprint')).blueprint?.name, 'typed');
    const b = await ao.sessions.waitForResult('overridden', { timeoutMs: 30_000 });
    assert.equal(b.state, 'failed');
    assert.match(b.error!, /must have the property 'missing'/);
    // A session without a schema has no result_json at all.
    await ao.sessions.create({ name: 'plain', prompt: 'hello' });
    assert.equal('result_json' in (await ao.sessions.waitForResult('plain', { timeoutMs: 30_000 })), false);
  });

  it('refuses a schema that is not JSON Schema, on a session or a blueprint, naming the field', async () => {
    for (const schema of [{ type: 'objekt' }, { type: 'object', requird: ['x'] }]) {
      const error = await ao.sessions.create({ name: 'bad-schema', prompt: 'x', output_schema: schema }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(error instanceof InvalidRequestError, String(error));
      assert.equal(error.status, 422);
      assert.deepEqual(
        error.errors.map((e) => e.field),
        ['body.output_schema'],
      );
      assert.match(error.message, /^body\.output_schema: is not a valid JSON Schema: /);
      const agentError = await ao.agents.create({ name: 'bad-typed', description: 'x', output_schema: schema }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(agentError instanceof InvalidRequestError && agentError.status === 422, String(agentError));
      assert.deepEqual(
        agentError.errors.map((e) => e.field),
        ['body.output_schema'],
      );
      const update = await ao.agents.update('typed', { output_schema: schema }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(update instanceof InvalidRequestError && update.status === 422, String(update));
    }
    const notAnObject = await ao.sessions
      .create({ name: 'bad-schema', prompt: 'x', output_schema: 'string' as never })
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(notAnObject instanceof InvalidRequestError && notAnObject.status === 400);
    assert.deepEqual(
      notAnObject.errors.map((e) => e.field),
      ['body.output_schema'],
    );
    assert.equal(
      (await ao.sessions.list()).sessions.some((s) => s.name === 'bad-schema'),
      false,
    );
    assert.deepEqual(
      (await ao.agents.get('typed')).output_schema?.required,
      ['title'],
      'a refused update changes nothing',
    );
  });
});

describe('runtime: structured output from an executor that runs elsewhere', function () {
  this.timeout(30_000);
  let stack: TestStack;
  before(async () => {
    stack = await TestStack.start({ executor: 'none' });
  });
  after(async () => stack?.close());

  it('validates the results it reports: a match finishes with result_json, a mismatch fails the run (no retry)', async () => {
    const ao = stack.client();
    for (const [name, text] of [
      ['remote-good', '{"title":"ok"}'],
      ['remote-bad', '{"title": 3}'],
    ] as const) {
      await ao.sessions.create({ name, prompt: 'x', output_schema: SCHEMA });
      await ao.sessions.appendEvents(name, [
        { type: 'session_start', data: {} },
        { type: 'result', data: { is_error: false, text } },
        { type: 'session_stop', data: { exit_code: 0, reason: 'completed' } },
      ]);
    }
    assert.deepEqual(await ao.sessions.result('remote-good'), {
      name: 'remote-good',
      run: 1,
      state: 'finished',
      result: '{"title":"ok"}',
      error: null,
      is_error: false,
      result_json: { title: 'ok' },
    });
    const bad = await ao.sessions.result('remote-bad');
    assert.equal(bad.state, 'failed');
    assert.equal(bad.error, 'The answer does not match the output schema: /title must be string');
    assert.equal(bad.result_json, null);
  });
});
