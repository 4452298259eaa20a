// GET /metrics, the JSON logs and the traces, end to end: the runtime as its own process (`aof runtime`,
// with AGENT_ORCHESTRATOR_LOG_FORMAT=json, a token and OTLP export to a loopback receiver) runs the fake
// agent (test/support/fake-agent.mjs; what is measured is the runtime) against the fake model; after
// runs that finish, fail, are stopped and wait for an approval, what the scrape says is checked against
// what the API says, every log line is read back as JSON, and the spans of a run, its tool call and a
// child's run are checked against the agent's TRACEPARENT.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Orchestrator, type Session, UnauthorizedError } from '../../sdk/index.js';
import { uniqueName } from '../bin/run-bin.js';
import { askingSession, bashOnce } from '../support/approvals.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.js';
import { parse, sum } from '../support/prometheus.js';
import { repoRoot } from '../support/claude-env.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

const TOKEN = 'metrics-test-token-7f3a';

describe('metrics and JSON logs of a runtime process', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let ao: Orchestrator;
  const scrape = async () => parse(await ao.metrics());

  let otlp: OtlpReceiver;

  before(async () => {
    otlp = await startOtlpReceiver();
    stack = await TestStack.start({
      agent: 'fake',
      token: TOKEN,
      runtimeProcess: true,
      runtimeEnv: {
        AGENT_ORCHESTRATOR_LOG_FORMAT: 'json',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
    });
    ao = stack.client();
  });
  after(async () => {
    await stack?.close();
    await otlp?.close();
  });

  it('is guarded by the token like every other endpoint', async () => {
    const bare = await fetch(`${stack.runtimeUrl}/metrics`);
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const registry = await fetch(`${stack.registry.url}/metrics`);
    assert.equal(registry.status, 401);
    await assert.rejects(
      new Orchestrator({
        runtimeUrl: stack.runtimeUrl,
        registryUrl: stack.registry.url,
        token: 'wrong',
        parent: null,
      }).metrics(),
      UnauthorizedError,
    );
    const answer = await fetch(`${stack.runtimeUrl}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  });

  it('after runs that finish, fail, are stopped and ask for approval, says what the API says', async () => {
    const names: string[] = [];
    // Finished.
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    const done = uniqueName('m-done');
    names.push(done);
    await ao.sessions.create({ name: done, prompt: 'hello' });
    assert.equal((await ao.sessions.waitForResult(done, { timeoutMs: 60_000 })).state, 'finished');

    // Failed: the model answers with an error.
    stack.fake.respond(() => ({ error: { status: 400, message: 'the fake model refuses' } }));
    const broken = uniqueName('m-broken');
    names.push(broken);
    await ao.sessions.create({ name: broken, prompt: 'anything' });
    assert.equal((await ao.sessions.waitForResult(broken, { timeoutMs: 60_000 })).state, 'failed');

    // Stopped while it waits for the model.
    stack.fake.respond(() => ({ text: 'too late', delayMs: 60_000 }));
    const slow = uniqueName('m-slow');
    names.push(slow);
    await ao.sessions.create({ name: slow, prompt: 'take your time' });
    await eventually('the slow request to reach the model', () =>
      stack.fake.requests.some((r) => JSON.stringify(r.messages).includes('take your time')),
    );
    assert.equal((await ao.sessions.stop(slow)).state, 'stopped');

    // Waiting for an approval: the gauges read the store while it waits.
    const { name: asking, asked } = await askingSession(stack, ao, 'metered');
    names.push(asking);
    const waiting = await scrape();
    const info = await ao.runtimeInfo();
    assert.equal(sum(waiting, 'aof_approvals_pending'), (await ao.approvals.list({ state: 'pending' })).length);
    assert.equal(sum(waiting, 'aof_approvals_pending'), 1);
    assert.equal(sum(waiting, 'aof_runs_running'), info.running);
    assert.equal(sum(waiting, 'aof_runs_queued'), info.queued);
    assert.equal(sum(waiting, 'aof_runners_live'), 1, 'the runtime holds the running run');
    assert.equal(sum(waiting, 'aof_runner_claims'), info.running);
    await ao.approvals.approve(asked.id);
    assert.equal((await ao.sessions.waitForResult(asking, { timeoutMs: 60_000 })).state, 'finished');

    // Three requests of one operation are counted as three.
    const before = sum(await scrape(), 'aof_http_requests_total', { operation: 'getHealth', status: '200' });
    for (let i = 0; i < 3; i++) await ao.health();

    const samples = await scrape();
    assert.equal(sum(samples, 'aof_http_requests_total', { operation: 'getHealth', status: '200' }), before + 3);
    const sessions: Session[] = await Promise.all(names.map((name) => ao.sessions.get(name)));
    const runs = sessions.flatMap((s) => s.runs);
    for (const state of ['finished', 'failed', 'stopped'] as const) {
      const count = runs.filter((r) => r.state === state).length;
      assert.equal(sum(samples, 'aof_runs_ended_total', { state }), count, `runs ended ${state}`);
      assert.equal(
        sum(samples, 'aof_run_duration_seconds_count', { state }),
        runs.filter((r) => r.state === state && r.started_at).length,
        `durations of runs ${state}`,
      );
    }
    assert.deepEqual(
      runs.map((r) => r.state).sort(),
      ['failed', 'finished', 'finished', 'stopped'],
      'the runs this test made',
    );
    assert.equal(sum(samples, 'aof_runs_started_total'), runs.filter((r) => r.started_at).length);
    assert.equal(sum(samples, 'aof_runs_ended_total', { blueprint: sessions[3]!.agent! }), 1);
    assert.equal(sum(samples, 'aof_runs_ended_total', { blueprint: 'none' }), 3);

    // Time to first event: one per run in which the agent said anything.
    let talked = 0;
    for (const name of names) {
      const events = (await ao.sessions.listEvents(name, { limit: 500 })).events;
      if (events.some((e) => !['session_stop', 'approval_request', 'approval_answer'].includes(e.type))) talked++;
    }
    assert.equal(sum(samples, 'aof_run_time_to_first_event_seconds_count'), talked);
    assert.ok(talked >= 3, `${talked} runs with an event of their agent`);

    // Tokens and cost, against the sessions' totals.
    const totals = sessions.map((s) => s.totals);
    const kinds = [
      ['input', 'input_tokens'],
      ['output', 'output_tokens'],
      ['cache_creation', 'cache_creation_input_tokens'],
      ['cache_read', 'cache_read_input_tokens'],
    ] as const;
    for (const [kind, field] of kinds) {
      const expected = totals.reduce((n, t) => n + t.usage[field], 0);
      assert.equal(sum(samples, 'aof_tokens_total', { kind }), expected, `${kind} tokens`);
    }
    assert.ok(sum(samples, 'aof_tokens_total', { kind: 'output' }) > 0, 'the fake model billed output tokens');
    const cost = totals.reduce((n, t) => n + t.cost_usd, 0);
    assert.ok(Math.abs(sum(samples, 'aof_cost_usd_total') - cost) < 1e-9, `cost ${cost}`);

    // The shared state, from the store, as the API tells it.
    const page = await ao.sessions.list();
    const after = await ao.runtimeInfo();
    assert.equal(after.last_hour.runs_ended, runs.length, 'GET /runtime: the runs of the last hour');
    assert.equal(after.last_hour.time_to_first_event_seconds.count, talked);
    assert.equal(after.last_hour.run_duration_seconds.count, runs.filter((r) => r.started_at).length);
    assert.equal(sum(samples, 'aof_runs_running'), after.running);
    assert.equal(sum(samples, 'aof_runs_queued'), after.queued);
    assert.equal(sum(samples, 'aof_approvals_pending'), 0);
    assert.equal(sum(samples, 'aof_callbacks_pending'), 0);
    assert.equal(sum(samples, 'aof_webhook_deliveries_pending'), 0);
    for (const [state, count] of Object.entries(page.counts))
      assert.equal(sum(samples, 'aof_sessions', { state }), count, `sessions ${state}`);
    assert.equal(sum(samples, 'aof_store_up'), 1);

    // Node's own metrics, event-loop delay among them; the store's latency per operation.
    assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds'));
    assert.ok(sum(samples, 'aof_store_operation_duration_seconds_count', { operation: 'store.exclusive' }) > 0);
    assert.ok(sum(samples, 'aof_http_request_duration_seconds_count', { operation: 'createSession' }) >= 4);

    // Counters carry the process's instance; the shared gauges do not. No session is ever a label.
    assert.ok(samples.filter((s) => s.name === 'aof_runs_ended_total').every((s) => s.labels.instance));
    assert.ok(samples.filter((s) => s.name === 'aof_runs_queued').every((s) => !s.labels.instance));
    const text = await ao.metrics();
    for (const name of names) assert.ok(!text.includes(name), `session ${name} appears in the metrics`);

    // The registry counts its own requests.
    const registry = parse(await ao.metrics('registry'));
    assert.ok(sum(registry, 'aof_http_requests_total', { operation: 'createAgent', status: '201' }) >= 1);
    assert.ok(sum(registry, 'aof_store_operation_duration_seconds_count', { operation: 'agents.get' }) >= 1);

    // What the docs, the Grafana dashboard and the alert rules name is served.
    const served = new Set([...samples, ...registry].map((s) => s.name));
    for (const file of ['operations.md', 'grafana-dashboard.json', 'prometheus-alerts.yaml']) {
      const text = await readFile(join(repoRoot, 'docs', file), 'utf8');
      for (const [named] of text.matchAll(/\b(aof|nodejs|process)_[a-z0-9_]*[a-z0-9]\b/g)) {
        if (named.endsWith('_')) continue;
        const found = [named, `${named}_bucket`, `${named}_count`].some((n) => served.has(n));
        assert.ok(found, `${file} names ${named}, which /metrics does not serve`);
      }
    }
  });

  it('logs one JSON object per line, each request with its id, and never the token', async () => {
    const given = 'trace-me-0001';
    const answer = await fetch(`${stack.runtimeUrl}/sessions/no-such-session`, {
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-Request-Id': given },
    });
    assert.equal(answer.status, 404);
    assert.equal(answer.headers.get('x-request-id'), given);
    const fresh = await fetch(`${stack.runtimeUrl}/health`, {
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-Request-Id': 'not a valid id\u00e9' },
    });
    const made = fresh.headers.get('x-request-id') ?? '';
    assert.match(made, /^[0-9a-f-]{36}$/, 'an id that is not plain is replaced');

    let lines: Array<Record<string, unknown>> = [];
    await eventually('the request lines in the log', () => {
      lines = stack.runtimeLog.map((line) => JSON.parse(line) as Record<string, unknown>);
      return lines.some((l) => l.request_id === made);
    });
    for (const line of lines) {
      assert.equal(typeof line.time, 'string');
      assert.ok(['info', 'warn', 'error'].includes(line.level as string), JSON.stringify(line));
      assert.equal(typeof line.message, 'string');
    }
    const mine = lines.find((l) => l.request_id === given);
    // Traces are on in this file: each request's line names the trace of its server span.
    assert.match(String(mine?.trace_id), /^[0-9a-f]{32}$/);
    assert.deepEqual(
      { ...mine, time: undefined, duration_ms: undefined, trace_id: undefined },
      {
        time: undefined,
        trace_id: undefined,
        level: 'info',
        service: 'runtime',
        message: 'request',
        request_id: given,
        session: 'no-such-session',
        method: 'GET',
        path: '/sessions/no-such-session',
        operation: 'getSession',
        status: 404,
        duration_ms: undefined,
      },
    );
    const stop = lines.find((l) => l.message === 'request' && l.operation === 'stopSession');
    assert.match(String(stop?.session), /^m-slow/, 'a request on a session names it');
    const failed = lines.find((l) => l.state === 'failed');
    assert.match(String(failed?.session), /^m-broken/, 'the end of a run names its session');
    assert.equal(failed?.run, 1);
    assert.equal(failed?.level, 'info');
    assert.ok(!stack.runtimeLog.join('\n').includes(TOKEN), 'the token is never logged');
  });

  it("exports a run's span with its tool span, under the TRACEPARENT its agent got, and a child's run links to it", async () => {
    const traced = uniqueName('m-traced');
    const file = join(stack.projectDir, `${traced}.txt`);
    bashOnce(stack.fake, `printenv TRACEPARENT > ${file}`);
    await ao.sessions.create({ name: traced, prompt: 'write the file' });
    assert.equal((await ao.sessions.waitForResult(traced, { timeoutMs: 60_000 })).state, 'finished');
    const traceparent = (await readFile(file, 'utf8')).trim();
    const [, traceId, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent) ?? [];
    assert.ok(traceId && spanId, `the agent's TRACEPARENT: ${traceparent}`);

    const find = (what: string, test: (s: ReceivedSpan) => boolean) => {
      let found: ReceivedSpan | undefined;
      return eventually(what, () => {
        found = otlp.spans.find(test);
        return found;
      }).then(() => found!);
    };
    const run = await find('the run span', (s) => s.spanId === spanId);
    assert.equal(run.traceId, traceId);
    assert.equal(run.parentSpanId, undefined, 'a run is the root of its trace');
    assert.equal(run.name, 'invoke_agent claude-code');
    assert.equal(run.service, 'aof-runtime');
    assert.equal(run.attributes['aof.session'], traced);
    assert.equal(run.attributes['aof.run'], 1);
    assert.equal(run.attributes['gen_ai.operation.name'], 'invoke_agent');
    assert.equal(run.attributes['aof.state'], 'finished');
    const tool = await find('the tool span', (s) => s.parentSpanId === spanId);
    assert.equal(tool.name, 'execute_tool Bash');
    assert.equal(tool.traceId, traceId);
    assert.equal(tool.attributes['gen_ai.tool.name'], 'Bash');

    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    const child = uniqueName('m-child');
    await ao.sessions.create({ name: child, prompt: 'hi', parent: traced });
    assert.equal((await ao.sessions.waitForResult(child, { timeoutMs: 60_000 })).state, 'finished');
    const childRun = await find('the child run span', (s) => s.attributes['aof.session'] === child);
    assert.notEqual(childRun.traceId, traceId, 'a run of its own');
    assert.deepEqual(childRun.links, [{ traceId, spanId }]);

    // A request that names its parent gets a server span under it.
    const parent = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };
    await fetch(`${stack.runtimeUrl}/sessions/${traced}`, {
      headers: { Authorization: `Bearer ${TOKEN}`, traceparent: `00-${parent.traceId}-${parent.spanId}-01` },
    });
    const server = await find('the server span', (s) => s.parentSpanId === parent.spanId);
    assert.equal(server.traceId, parent.traceId);
    // Its log line names that trace, so logs and traces meet.
    await eventually('the log line of the traced request', () =>
      stack.runtimeLog.some((line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return entry.message === 'request' && entry.path === `/sessions/${traced}` && entry.trace_id === parent.traceId;
      }),
    );
    assert.equal(server.name, 'GET /sessions/:name');
    assert.equal(server.attributes['http.response.status_code'], 200);
  });
});
