// The Agent Runtime's API through the SDK, with no local executor: runs stay queued until events
// reported through POST /sessions/{name}/events move them, as a remote executor would.
import assert from 'node:assert/strict';
import { ConflictError, InvalidRequestError, NotFoundError, type Orchestrator } from '../../sdk/index.js';
import type { EventInput } from '../../sdk/types.js';
import { silentLogger } from '../../servers/common/logger.js';
import { startRuntime } from '../../servers/runtime/server.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';
import { rawRequest as raw } from '../support/servers.js';

/** A request the SDK's types would not let us send; JSON unless told otherwise. */
const rawRequest = (
  base: string,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
) =>
  raw(base, { method, path, body: options.body, headers: { 'content-type': 'application/json', ...options.headers } });

const runToEnd = (text: string): EventInput[] => [
  { type: 'session_start', data: { claude_session_id: 'remote-1', model: 'm' } },
  { type: 'message', data: { role: 'assistant', text } },
  {
    type: 'result',
    data: {
      is_error: false,
      text,
      num_turns: 1,
      duration_ms: 5,
      total_cost_usd: 0.5,
      usage: { input_tokens: 10, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  },
  { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'completed' } },
];

describe('runtime: sessions API', () => {
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ executor: 'none' });
    ao = stack.client();
    await ao.agents.create({ name: 'reviewer', description: 'reviews', system_prompt: 'Be strict.', model: 'm1' });
    await ao.agents.create({ name: 'retired', description: 'old', status: 'inactive' });
  });
  after(async () => stack?.close());
  afterEach(async () => {
    await ao.sessions.clean();
  });

  describe('create', () => {
    it('creates a session with a queued first run and a conversation id', async () => {
      const session = await ao.sessions.create({ name: 's1', prompt: 'do it', project_dir: stack.projectDir });
      assert.equal(session.name, 's1');
      assert.equal(session.state, 'queued');
      assert.equal(session.project_dir, stack.projectDir);
      assert.equal(session.runs.length, 1);
      assert.equal(session.runs[0]!.prompt, 'do it');
      assert.match(session.claude_session_id ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(session.agent, null);
    });

    it('defaults the project dir and snapshots the blueprint', async () => {
      const session = await ao.sessions.create({ name: 's2', prompt: 'x', agent: 'reviewer' });
      assert.equal(session.project_dir, stack.projectDir);
      assert.equal(session.agent, 'reviewer');
      assert.deepEqual(session.blueprint, { name: 'reviewer', system_prompt: 'Be strict.', model: 'm1' });
    });

    it('refuses a duplicate name with 409', async () => {
      await ao.sessions.create({ name: 'dup', prompt: 'x' });
      await assert.rejects(
        ao.sessions.create({ name: 'dup', prompt: 'y' }),
        (e) => e instanceof ConflictError && /already exists/.test(e.message),
      );
    });

    it('lets exactly one of many simultaneous creations of one name succeed', async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, () => ao.sessions.create({ name: 'race', prompt: 'x' })),
      );
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof ConflictError);
      assert.equal((await ao.sessions.list()).sessions.filter((s) => s.name === 'race').length, 1);
    });

    it('refuses an unknown or inactive agent with 422 naming body.agent', async () => {
      for (const [agent, pattern] of [
        ['ghost', /not found/],
        ['retired', /inactive/],
      ] as const) {
        const error = await ao.sessions.create({ name: 'a1', prompt: 'x', agent }).catch((e) => e);
        assert.ok(error instanceof InvalidRequestError, String(error));
        assert.equal(error.status, 422);
        assert.match(error.message, pattern);
        assert.equal(error.errors[0]?.field, 'body.agent');
      }
      await assert.rejects(ao.sessions.get('a1'), NotFoundError);
    });

    it('refuses a relative or missing project dir with 422 naming body.project_dir', async () => {
      for (const dir of ['relative/dir', '/no/such/dir/here']) {
        const error = await ao.sessions.create({ name: 'p1', prompt: 'x', project_dir: dir }).catch((e) => e);
        assert.ok(error instanceof InvalidRequestError);
        assert.equal(error.errors[0]?.field, 'body.project_dir');
      }
    });
  });

  describe('bad input', () => {
    const cases: Array<[string, unknown, string]> = [
      ['a bad name', { name: 'bad name', prompt: 'x' }, 'body.name'],
      ['a name starting with a dash', { name: '-x', prompt: 'x' }, 'body.name'],
      ['a 61-character name', { name: 'a'.repeat(61), prompt: 'x' }, 'body.name'],
      ['an empty prompt', { name: 'ok', prompt: '' }, 'body.prompt'],
      ['a blank prompt', { name: 'ok', prompt: '  \n ' }, 'body.prompt'],
      ['a missing prompt', { name: 'ok' }, 'body.prompt'],
      ['an unknown field', { name: 'ok', prompt: 'x', colour: 'red' }, 'body.colour'],
      ['a wrong type', { name: 'ok', prompt: 42 }, 'body.prompt'],
    ];
    for (const [what, body, field] of cases) {
      it(`answers ${what} with 400 naming ${field}`, async () => {
        const response = await rawRequest(stack.runtimeUrl, 'POST', '/sessions', { body: JSON.stringify(body) });
        assert.equal(response.status, 400);
        assert.match(response.headers['content-type'] ?? '', /application\/problem\+json/);
        assert.ok(
          response.json.errors.some((e: { field: string }) => e.field === field),
          JSON.stringify(response.json),
        );
      });
    }

    it('answers malformed JSON, an oversized body and a wrong content type with 4xx', async () => {
      assert.equal((await rawRequest(stack.runtimeUrl, 'POST', '/sessions', { body: '{"name": ' })).status, 400);
      const huge = JSON.stringify({ name: 'big', prompt: 'x'.repeat(3 * 1024 * 1024) });
      assert.equal((await rawRequest(stack.runtimeUrl, 'POST', '/sessions', { body: huge })).status, 413);
      const typed = await rawRequest(stack.runtimeUrl, 'POST', '/sessions', {
        body: 'name=x',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(typed.status, 415);
    });

    it('answers bad path and query parameters with 400 naming them', async () => {
      const badName = await rawRequest(stack.runtimeUrl, 'GET', '/sessions/bad%20name');
      assert.equal(badName.status, 400);
      assert.equal(badName.json.errors[0].field, 'path.name');
      await ao.sessions.create({ name: 'q', prompt: 'x' });
      const badLimit = await rawRequest(stack.runtimeUrl, 'GET', '/sessions/q/events?limit=0');
      assert.equal(badLimit.json.errors[0].field, 'query.limit');
      const badWait = await rawRequest(stack.runtimeUrl, 'GET', '/sessions/q/status?wait=abc');
      assert.equal(badWait.json.errors[0].field, 'query.wait');
      const badState = await rawRequest(stack.runtimeUrl, 'GET', '/sessions?state=done');
      assert.equal(badState.json.errors[0].field, 'query.state.0', 'the first state given');
    });

    it('answers events of an unknown type with 400', async () => {
      await ao.sessions.create({ name: 'ev', prompt: 'x' });
      const response = await rawRequest(stack.runtimeUrl, 'POST', '/sessions/ev/events', {
        body: JSON.stringify({ events: [{ type: 'explode', data: {} }] }),
      });
      assert.equal(response.status, 400);
      assert.match(response.json.errors[0].field, /^body\.events\.0/);
    });
  });

  describe('runs and events', () => {
    it('moves the run through running to finished and keeps the result and usage', async () => {
      await ao.sessions.create({ name: 'r1', prompt: 'go' });
      await ao.sessions.appendEvents('r1', runToEnd('done!').slice(0, 1));
      assert.equal((await ao.sessions.status('r1')).state, 'running');
      await assert.rejects(ao.sessions.result('r1'), (e) => e instanceof ConflictError && /running/.test(e.message));
      await ao.sessions.appendEvents('r1', runToEnd('done!').slice(1));
      const result = await ao.sessions.result('r1');
      assert.deepEqual(result, {
        name: 'r1',
        run: 1,
        state: 'finished',
        result: 'done!',
        error: null,
        is_error: false,
      });
      const session = await ao.sessions.get('r1');
      assert.equal(session.claude_session_id, 'remote-1');
      assert.equal(session.runs[0]!.exit_code, 0);
      assert.equal(session.totals.usage.input_tokens, 10);
      assert.equal(session.totals.cost_usd, 0.5);
      assert.ok(session.runs[0]!.started_at && session.runs[0]!.ended_at);
    });

    it('fails a run whose result is an error, with the reason in the result', async () => {
      await ao.sessions.create({ name: 'r2', prompt: 'go' });
      await ao.sessions.appendEvents('r2', [
        { type: 'result', data: { is_error: true, text: 'API Error: 500 overloaded' } },
        { type: 'session_stop', data: { exit_code: 1, signal: null, reason: 'Claude Code reported an error' } },
      ]);
      const result = await ao.sessions.result('r2');
      assert.equal(result.state, 'failed');
      assert.equal(result.is_error, true);
      assert.equal(result.error, 'API Error: 500 overloaded');
    });

    it('fails a run that ends without a result line', async () => {
      await ao.sessions.create({ name: 'r3', prompt: 'go' });
      await ao.sessions.appendEvents('r3', [
        { type: 'session_stop', data: { exit_code: 2, reason: 'exited with code 2 without a result' } },
      ]);
      const result = await ao.sessions.result('r3');
      assert.equal(result.state, 'failed');
      assert.match(result.error ?? '', /without a result/);
    });

    it('refuses events for a run that has ended', async () => {
      await ao.sessions.create({ name: 'r4', prompt: 'go' });
      await ao.sessions.appendEvents('r4', runToEnd('x'));
      await assert.rejects(
        ao.sessions.appendEvents('r4', [{ type: 'message', data: { role: 'assistant', text: 'late' } }]),
        ConflictError,
      );
    });

    it('resumes an ended session with a new run, and refuses to resume an active one', async () => {
      await ao.sessions.create({ name: 'r5', prompt: 'first' });
      await assert.rejects(
        ao.sessions.resume('r5', { prompt: 'again' }),
        (e) => e instanceof ConflictError && /queued/.test(e.message),
      );
      await ao.sessions.appendEvents('r5', runToEnd('one'));
      const resumed = await ao.sessions.resume('r5', { prompt: 'second' });
      assert.equal(resumed.state, 'queued');
      assert.equal(resumed.runs.length, 2);
      assert.equal(resumed.runs[1]!.number, 2);
      assert.ok(resumed.last_resumed_at);
      await ao.sessions.appendEvents('r5', runToEnd('two'));
      assert.equal((await ao.sessions.result('r5')).result, 'two');
      const events = (await ao.sessions.listEvents('r5', { limit: 1000 })).events;
      assert.deepEqual(
        events.map((e) => e.seq),
        Array.from({ length: 8 }, (_, i) => i + 1),
      );
      assert.deepEqual([...new Set(events.map((e) => e.run))], [1, 2]);
    });

    it('pages events with after and limit', async () => {
      await ao.sessions.create({ name: 'r6', prompt: 'go' });
      const many: EventInput[] = Array.from({ length: 25 }, (_, i) => ({
        type: 'message',
        data: { role: 'assistant', text: `m${i}` },
      }));
      await ao.sessions.appendEvents('r6', many);
      const first = await ao.sessions.listEvents('r6', { limit: 10 });
      assert.equal(first.events.length, 10);
      assert.equal(first.has_more, true);
      const rest = await ao.sessions.listEvents('r6', { after: 20, limit: 10 });
      assert.deepEqual(
        rest.events.map((e) => e.seq),
        [21, 22, 23, 24, 25],
      );
      assert.equal(rest.has_more, false);
    });

    it('cuts very long strings in event data', async () => {
      await ao.sessions.create({ name: 'r7', prompt: 'go' });
      const [event] = await ao.sessions.appendEvents('r7', [
        { type: 'post_tool', data: { output: 'y'.repeat(200_000), is_error: false } },
      ]);
      const output = (event!.data as { output: string }).output;
      assert.ok(output.length < 70_000);
      assert.match(output, /characters cut/);
    });

    it('answers status with wait as soon as the run ends', async () => {
      await ao.sessions.create({ name: 'r8', prompt: 'go' });
      const waiting = ao.sessions.status('r8', { wait: 30 });
      setTimeout(() => void ao.sessions.appendEvents('r8', runToEnd('late')), 300);
      const started = Date.now();
      assert.equal((await waiting).state, 'finished');
      assert.ok(Date.now() - started < 20_000);
    });
  });

  describe('stop, delete, clean', () => {
    it('stops a queued run, idempotently', async () => {
      await ao.sessions.create({ name: 'st', prompt: 'go' });
      const stopped = await ao.sessions.stop('st');
      assert.equal(stopped.state, 'stopped');
      assert.equal((await ao.sessions.stop('st')).state, 'stopped');
      const result = await ao.sessions.result('st');
      assert.equal(result.state, 'stopped');
      const events = (await ao.sessions.listEvents('st')).events;
      assert.deepEqual(
        events.map((e) => e.type),
        ['session_stop'],
      );
    });

    it('deletes one session with its events, and 404s afterwards', async () => {
      await ao.sessions.create({ name: 'del', prompt: 'go' });
      await ao.sessions.appendEvents('del', runToEnd('x'));
      await ao.sessions.delete('del');
      await assert.rejects(ao.sessions.get('del'), NotFoundError);
      await assert.rejects(ao.sessions.delete('del'), NotFoundError);
      await ao.sessions.create({ name: 'del', prompt: 'again' });
      assert.equal((await ao.sessions.listEvents('del')).events.length, 0);
    });

    it('cleans every session, and lists with a state filter', async () => {
      await ao.sessions.create({ name: 'c1', prompt: 'go' });
      await ao.sessions.create({ name: 'c2', prompt: 'go' });
      await ao.sessions.appendEvents('c2', runToEnd('x'));
      assert.deepEqual((await ao.sessions.list()).sessions.map((s) => s.name).sort(), ['c1', 'c2']);
      assert.deepEqual(
        (await ao.sessions.list({ state: 'finished' })).sessions.map((s) => s.name),
        ['c2'],
      );
      assert.deepEqual((await ao.sessions.clean()).sort(), ['c1', 'c2']);
      assert.deepEqual((await ao.sessions.list()).sessions, []);
    });
  });

  describe('streams', () => {
    it('replays from Last-Event-ID and then follows live events', async () => {
      await ao.sessions.create({ name: 'sse', prompt: 'go' });
      await ao.sessions.appendEvents(
        'sse',
        [1, 2, 3].map((i) => ({ type: 'message', data: { role: 'assistant', text: `m${i}` } }) as EventInput),
      );
      // Raw SSE with Last-Event-ID: 2 must start at seq 3.
      const controller = new AbortController();
      const response = await fetch(`${stack.runtimeUrl}/sessions/sse/events/stream`, {
        headers: { 'Last-Event-ID': '2' },
        signal: controller.signal,
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
      const reader = response.body!.getReader();
      let text = '';
      setTimeout(
        () => void ao.sessions.appendEvents('sse', [{ type: 'message', data: { role: 'assistant', text: 'live' } }]),
        200,
      );
      while (!text.includes('id: 4')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      assert.doesNotMatch(text, /id: [12]\n/);
      assert.match(text, /id: 3\nevent: message\ndata: \{.*"text":"m3"/);
      assert.match(text, /id: 4\nevent: message\ndata: \{.*"text":"live"/);
    });

    it('follows events through the SDK and stops on break', async () => {
      await ao.sessions.create({ name: 'sse2', prompt: 'go' });
      await ao.sessions.appendEvents('sse2', [{ type: 'session_start', data: {} }]);
      setTimeout(() => void ao.sessions.appendEvents('sse2', runToEnd('done').slice(1)), 200);
      const seen: string[] = [];
      for await (const event of ao.sessions.events('sse2', { after: 0 })) {
        seen.push(event.type);
        if (event.type === 'session_stop') break;
      }
      assert.deepEqual(seen, ['session_start', 'message', 'result', 'session_stop']);
    });

    it('streams session changes for dashboards', async () => {
      const changes: string[] = [];
      const stream = ao.sessions.changes();
      const collecting = (async () => {
        for await (const change of stream) {
          changes.push(`${change.name}:${change.change}:${change.state}`);
          if (change.name === 'dash' && change.change === 'deleted') break;
        }
      })();
      // The stream tells only of changes after it opened: it is open once it tells of one.
      const probes: string[] = [];
      await eventually('the change stream to open', async () => {
        probes.push(`dash-probe-${probes.length + 1}`);
        await ao.sessions.create({ name: probes.at(-1)!, prompt: 'go' });
        return changes.length > 0;
      });
      await ao.sessions.create({ name: 'dash', prompt: 'go' });
      await ao.sessions.appendEvents('dash', runToEnd('x'));
      await ao.sessions.delete('dash');
      await collecting;
      for (const probe of probes) await ao.sessions.delete(probe);
      assert.deepEqual(
        changes.filter((change) => change.startsWith('dash:')),
        ['dash:created:queued', 'dash:state:running', 'dash:state:finished', 'dash:deleted:null'],
      );
    });

    it('answers a stream for an unknown session with 404', async () => {
      const response = await rawRequest(stack.runtimeUrl, 'GET', '/sessions/nobody/events/stream');
      assert.equal(response.status, 404);
    });
  });

  describe('restart', () => {
    it('keeps sessions, runs and events across a restart on the same data dir', async () => {
      await ao.sessions.create({ name: 'keep', prompt: 'go', agent: 'reviewer' });
      await ao.sessions.appendEvents('keep', runToEnd('kept'));
      await ao.sessions.resume('keep', { prompt: 'more' });
      const before = await ao.sessions.get('keep');
      const eventsBefore = await ao.sessions.listEvents('keep');
      await stack.restartRuntime();
      ao = stack.client();
      assert.deepEqual(await ao.sessions.get('keep'), before);
      assert.deepEqual(await ao.sessions.listEvents('keep'), eventsBefore);
      const [next] = await ao.sessions.appendEvents('keep', [{ type: 'session_start', data: {} }]);
      assert.equal(next!.seq, eventsBefore.events.length + 1);
    });

    it('refuses a second runtime on the same data dir', async () => {
      await assert.rejects(
        startRuntime({
          url: new URL('http://127.0.0.1:0'),
          dataDir: stack.dataDir,
          registryUrl: new URL(stack.registry.url),
          logger: silentLogger,
          executor: 'none',
        }),
        /in use by another runtime/,
      );
    });
  });
});
