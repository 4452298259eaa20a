// Forking a session: the real Claude Code CLI continues the source's conversation under a new id
// (--resume SOURCE --fork-session --session-id OWN). What each fork's model requests carry proves
// that forks start from the source's turns and never see each other's.
import assert from 'node:assert/strict';
import { ApiError, ConflictError, InvalidRequestError, NotFoundError, type Orchestrator } from '../../sdk/index.js';
import type { FakeRequest, MessagesBody, Reply } from '../support/fake-model.js';
import { TestStack } from '../support/stack.js';

function responder(req: FakeRequest): Reply {
  return { text: `ECHO: ${req.lastUserText}` };
}

/** The conversation the model was sent for the turn whose prompt is `prompt`, as one string. */
function conversationFor(requests: MessagesBody[], prompt: string): string {
  const request = requests.findLast((body) => JSON.stringify(body.messages.at(-1)).includes(prompt));
  assert.ok(request, `the model was asked '${prompt}'`);
  return JSON.stringify(request.messages);
}

describe('runtime: forking a session', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ executorOptions: { maxConcurrent: 2 } });
    stack.fake.respond(responder);
    ao = stack.client();
  });
  after(async () => stack?.close());

  it("two forks of one session go different ways, and neither (nor the source) sees the other's turns", async () => {
    await ao.sessions.create({ name: 'base', prompt: 'remember the word PELICAN' });
    await ao.sessions.waitForResult('base', { timeoutMs: 30_000 });
    const base = await ao.sessions.get('base');

    const left = await ao.sessions.fork('base', { name: 'left', prompt: 'go LEFT-TURN' });
    assert.equal(left.state, 'queued');
    assert.deepEqual(left.forked_from, { session: 'base', run: 1, claude_session_id: base.claude_session_id });
    await ao.sessions.fork('base', { name: 'right', prompt: 'go RIGHT-TURN' });
    const [l, r] = await Promise.all([
      ao.sessions.waitForResult('left', { timeoutMs: 30_000 }),
      ao.sessions.waitForResult('right', { timeoutMs: 30_000 }),
    ]);
    assert.equal(l.result, 'ECHO: go LEFT-TURN');
    assert.equal(r.result, 'ECHO: go RIGHT-TURN');

    // Each fork's first turn carried the source's conversation, and only it.
    const leftFirst = conversationFor(stack.fake.requests, 'go LEFT-TURN');
    assert.match(leftFirst, /remember the word PELICAN/);
    assert.match(leftFirst, /ECHO: remember the word PELICAN/);
    assert.doesNotMatch(leftFirst, /RIGHT-TURN/);
    assert.doesNotMatch(conversationFor(stack.fake.requests, 'go RIGHT-TURN'), /LEFT-TURN/);

    // Later turns of each fork continue its own conversation.
    await ao.sessions.resume('left', { prompt: 'and then LEFT-AGAIN' });
    await ao.sessions.resume('right', { prompt: 'and then RIGHT-AGAIN' });
    await ao.sessions.resume('base', { prompt: 'and the source BASE-AGAIN' });
    await Promise.all(['left', 'right', 'base'].map((name) => ao.sessions.waitForResult(name, { timeoutMs: 30_000 })));
    const leftSecond = conversationFor(stack.fake.requests, 'and then LEFT-AGAIN');
    assert.match(leftSecond, /PELICAN[\s\S]*go LEFT-TURN/);
    assert.doesNotMatch(leftSecond, /RIGHT/);
    const rightSecond = conversationFor(stack.fake.requests, 'and then RIGHT-AGAIN');
    assert.match(rightSecond, /PELICAN[\s\S]*go RIGHT-TURN/);
    assert.doesNotMatch(rightSecond, /LEFT/);
    const baseSecond = conversationFor(stack.fake.requests, 'and the source BASE-AGAIN');
    assert.match(baseSecond, /PELICAN/);
    assert.doesNotMatch(baseSecond, /LEFT|RIGHT/);

    // Three conversations, three ids; each session has its own runs and events.
    const sessions = await Promise.all(['base', 'left', 'right'].map((name) => ao.sessions.get(name)));
    assert.equal(new Set(sessions.map((s) => s.claude_session_id)).size, 3);
    assert.equal(sessions[0]!.claude_session_id, base.claude_session_id, 'the source keeps its conversation');
    assert.deepEqual(
      sessions.map((s) => s.runs.length),
      [2, 2, 2],
    );
    assert.equal(sessions[0]!.forked_from ?? null, null);
    assert.equal(sessions[2]!.forked_from?.session, 'base');
    const summaries = (await ao.sessions.list()).sessions;
    assert.equal(summaries.find((s) => s.name === 'right')?.forked_from, 'base');
    assert.equal(summaries.find((s) => s.name === 'base')?.forked_from, undefined);
    const leftEvents = (await ao.sessions.listEvents('left')).events;
    assert.ok(leftEvents.every((e) => e.session === 'left'));
    assert.equal(
      (leftEvents[0]!.data as { claude_session_id: string }).claude_session_id,
      sessions[1]!.claude_session_id,
    );
    assert.equal(sessions[1]!.project_dir, base.project_dir);
  });

  it('answers bad forks with a clear 4xx and changes nothing', async () => {
    await assert.rejects(
      ao.sessions.fork('nobody', { name: 'orphan', prompt: 'x' }),
      (e: unknown) => e instanceof NotFoundError && /nobody/.test(e.message),
    );
    await assert.rejects(
      ao.sessions.fork('base', { name: 'left', prompt: 'x' }),
      (e: unknown) => e instanceof ConflictError && /'left' already exists/.test(e.message),
    );
    const badName = await ao.sessions.fork('base', { name: 'no spaces', prompt: 'x' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(badName instanceof InvalidRequestError);
    assert.deepEqual(
      badName.errors.map((e) => e.field),
      ['body.name'],
    );
    const noPrompt = await ao.sessions.fork('base', { name: 'empty', prompt: '  ' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(noPrompt instanceof ApiError && noPrompt.status === 400);
    assert.deepEqual(
      noPrompt.errors.map((e) => e.field),
      ['body.prompt'],
    );
    assert.equal((await ao.sessions.get('base')).runs.length, 2);
  });
});

describe('runtime: forking, with an executor that runs elsewhere', function () {
  this.timeout(30_000);
  let stack: TestStack;
  before(async () => {
    stack = await TestStack.start({ executor: 'none' });
  });
  after(async () => stack?.close());

  it('is a 409 no-conversation (the run was stopped before Claude Code opened one)', async () => {
    const ao = stack.client();
    await ao.sessions.create({ name: 'never', prompt: 'x' });
    await ao.sessions.stop('never');
    const error = await ao.sessions.fork('never', { name: 'never-fork', prompt: 'y' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConflictError, String(error));
    assert.equal(error.problem?.type, 'urn:aof:problem:no-conversation');
  });

  it('refuses to fork a session whose run is active: 409 session-busy', async () => {
    const ao = stack.client();
    // Run 1 ended (as an executor elsewhere reports it); run 2, resumed, is active (queued here).
    await ao.sessions.create({ name: 'busy', prompt: 'first' });
    await ao.sessions.appendEvents('busy', [
      { type: 'session_start', data: { claude_session_id: 'b0b0b0b0-0000-4000-8000-000000000000' } },
      { type: 'result', data: { is_error: false, text: 'ok' } },
      { type: 'session_stop', data: { exit_code: 0, reason: 'completed' } },
    ]);
    assert.equal((await ao.sessions.status('busy')).state, 'finished');
    assert.equal((await ao.sessions.resume('busy', { prompt: 'second' })).runs.length, 2);
    const error = await ao.sessions.fork('busy', { name: 'busy-fork', prompt: 'x' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConflictError, String(error));
    assert.equal(error.status, 409);
    assert.equal(error.problem?.type, 'urn:aof:problem:session-busy');
    assert.match(error.message, /Session 'busy' is (queued|running)/);
    await assert.rejects(ao.sessions.get('busy-fork'), NotFoundError);
  });

  it('holds the source still until the fork has copied its conversation: resuming it meanwhile is a 409', async () => {
    const ao = stack.client();
    await ao.sessions.create({ name: 'src', prompt: 'x' });
    await ao.sessions.appendEvents('src', [
      { type: 'session_start', data: { claude_session_id: 'c0ffee00-0000-4000-8000-000000000000' } },
      { type: 'result', data: { is_error: false, text: 'ok' } },
      { type: 'session_stop', data: { exit_code: 0, reason: 'completed' } },
    ]);
    const fork = await ao.sessions.fork('src', { name: 'src-fork', prompt: 'y' });
    assert.equal(fork.forked_from?.claude_session_id, 'c0ffee00-0000-4000-8000-000000000000');
    const error = await ao.sessions.resume('src', { prompt: 'z' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConflictError, String(error));
    assert.equal(error.problem.type, 'urn:aof:problem:session-busy');
    assert.match(error.message, /^Session 'src-fork' was forked from 'src' and has not started yet/);
    // Once the fork's Claude Code has opened its conversation, the source may go on.
    await ao.sessions.appendEvents('src-fork', [{ type: 'session_start', data: {} }]);
    assert.equal((await ao.sessions.resume('src', { prompt: 'z' })).runs.length, 2);
  });
});
