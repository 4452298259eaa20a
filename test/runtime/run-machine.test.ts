// The run state machine (servers/runtime/run-machine.ts), pure: every transition of a run, with time as an argument.
import assert from 'node:assert/strict';
import { HttpProblem } from '../../servers/common/contract/problem.js';
import { credentialHash, parseCredential } from '../../servers/runtime/agent-credentials.js';
import {
  admit,
  adopt,
  claim,
  fail,
  heartbeat,
  isHeldBy,
  newRun,
  queue,
  record,
  recordedInput,
  requestStop,
  retry,
  start,
  STOPPED_ON_REQUEST,
  stopEvent,
} from '../../servers/runtime/run-machine.js';
import { lastRun, type EventInput, type StoredSession } from '../../servers/runtime/session-store.js';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const LEASE = 30_000;
const iso = (ms: number) => new Date(ms).toISOString();

function session(name = 's', extra: Partial<StoredSession> = {}): StoredSession {
  const run = newRun(1, 'p', iso(T0));
  return {
    _id: name,
    name,
    agent: null,
    blueprint: null,
    project_dir: '/p',
    claude_session_id: null,
    created_at: run.queued_at,
    last_resumed_at: null,
    updated_at: run.queued_at,
    runs: [run],
    parent: null,
    ...extra,
  };
}
const offer = { runner: 'r1', host: 'h1', tags: [] };
const result = (text: string, isError = false): EventInput => ({
  type: 'result',
  data: { text, is_error: isError, num_turns: 1, total_cost_usd: 0.5, duration_ms: 10 },
});
const end = (exitCode: number | null = 0): EventInput => ({
  type: 'session_stop',
  data: { exit_code: exitCode, signal: null, reason: 'exited' },
});

function conflictCode(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof HttpProblem, String(error));
    assert.equal(error.status, 409);
    return error.code;
  }
  assert.fail('expected a 409');
}

describe('run state machine (pure)', () => {
  it('queues the next run after the last, numbered on, with the callbacks it delivers', () => {
    const s = session();
    Object.assign(lastRun(s), { state: 'finished' });
    const run = queue(s, 'again', T0 + 5, ['cb-1']);
    assert.equal(run.number, 2);
    assert.equal(run.state, 'queued');
    assert.equal(run.queued_at, iso(T0 + 5));
    assert.deepEqual(run.callbacks, ['cb-1']);
    assert.equal(lastRun(s), run);
  });

  it('claims a queued run with a new attempt and a credential for that run, each claim a new one', () => {
    const s = session();
    const first = claim(s, offer, T0, LEASE);
    assert.ok(first);
    assert.equal(first.attempt, 1);
    assert.deepEqual(parseCredential(first.credential), { session: 's', run: 1 });
    assert.equal(lastRun(s).credential_hash, credentialHash(first.credential));
    assert.equal(lastRun(s).lease?.expires_at, iso(T0 + LEASE));
    assert.equal(lastRun(s).runner, 'r1@h1');
    assert.equal(claim(s, { ...offer, runner: 'r2' }, T0 + LEASE - 1, LEASE), null, 'held by a live lease');
    const second = claim(s, { ...offer, runner: 'r2' }, T0 + LEASE, LEASE);
    assert.equal(second?.attempt, 2, 'the lease expired: claimed again, fenced by a new attempt');
    assert.notEqual(lastRun(s).credential_hash, credentialHash(first.credential));
  });

  it('beats a held lease, and a runner re-adopts its own runs only', () => {
    const s = session();
    claim(s, offer, T0, LEASE);
    assert.equal(heartbeat(s, 1, 'r1', 1, T0 + 10_000, LEASE), 'held');
    assert.equal(lastRun(s).lease?.expires_at, iso(T0 + 10_000 + LEASE));
    assert.equal(heartbeat(s, 1, 'r1', 2, T0 + 10_000, LEASE), 'lost');
    requestStop(lastRun(s));
    assert.equal(heartbeat(s, 1, 'r1', 1, T0 + 11_000, LEASE), 'stop');
    assert.equal(adopt(s, 'r2', T0, LEASE), null);
    assert.equal(isHeldBy(s, 'r1'), true);
    assert.deepEqual(adopt(s, 'r1', T0 + 20_000, LEASE), { run: lastRun(s), attempt: 1, reported: 0 });
    assert.equal(lastRun(s).lease?.expires_at, iso(T0 + 20_000 + LEASE));
  });

  it('starts a run when its process exists, or at its first event from the agent', () => {
    const a = session('a');
    const { states, steps } = record(a, lastRun(a), [], T0 + 1, { started: true });
    assert.deepEqual(states, ['running']);
    assert.deepEqual(steps, ['started']);
    assert.equal(lastRun(a).started_at, iso(T0 + 1));
    const b = session('b');
    const moved = record(
      b,
      lastRun(b),
      [{ type: 'message', data: { role: 'assistant', text: 'hi' } } as EventInput],
      T0 + 2,
    );
    assert.deepEqual(moved.states, ['running']);
    assert.deepEqual(moved.steps, ['started', 'firstEvent']);
    assert.equal(lastRun(b).first_event_at, iso(T0 + 2));
  });

  it('ends a run finished, failed or stopped by what its result and its end said', () => {
    const finished = session('f');
    start(lastRun(finished), T0);
    const { steps } = record(finished, lastRun(finished), [result('done'), end(0)], T0 + 5);
    assert.deepEqual(steps, ['firstEvent', 'ended']);
    assert.equal(lastRun(finished).state, 'finished');
    assert.equal(lastRun(finished).result, 'done');
    assert.equal(lastRun(finished).ended_at, iso(T0 + 5));
    assert.equal(lastRun(finished).outcome, undefined);

    const failed = session('x');
    start(lastRun(failed), T0);
    record(failed, lastRun(failed), [result('no', true), end(1)], T0 + 5);
    assert.equal(lastRun(failed).state, 'failed');
    assert.equal(lastRun(failed).error, 'no');

    const stopped = session('st');
    start(lastRun(stopped), T0);
    assert.equal(requestStop(lastRun(stopped), 'cost limit crossed'), true);
    assert.equal(requestStop(lastRun(stopped)), false, 'asked once');
    const named = recordedInput(lastRun(stopped), end(null));
    assert.equal((named.data as { reason: string }).reason, 'cost limit crossed');
    record(stopped, lastRun(stopped), [end(null)], T0 + 5);
    assert.equal(lastRun(stopped).state, 'stopped');
    assert.equal(lastRun(stopped).error, 'cost limit crossed');
    assert.equal(requestStop(lastRun(stopped)), false, 'an ended run is not stopped');

    const queued = session('q');
    requestStop(lastRun(queued));
    record(queued, lastRun(queued), [stopEvent()], T0 + 1);
    assert.equal(lastRun(queued).state, 'stopped');
    assert.equal(lastRun(queued).started_at, null, 'stopped in the queue: it never started');
    assert.equal(lastRun(queued).error, STOPPED_ON_REQUEST);
  });

  it("admits a runner's report only under its lease, once per event, and never after the end", () => {
    const s = session();
    claim(s, offer, T0, LEASE);
    const lease = { runner: 'r1', attempt: 1, from: 0 };
    assert.equal(
      conflictCode(() => admit(s, [end()], { lease: { ...lease, attempt: 2 } })),
      'lease-lost',
    );
    assert.equal(
      conflictCode(() => admit(s, [end()], { run: 2 })),
      'run-not-last',
    );
    const events = [{ type: 'message', data: { role: 'assistant', text: 'hi' } } as EventInput, result('ok')];
    const admitted = admit(s, events, { run: 1, lease });
    assert.deepEqual(admitted?.inputs, events);
    record(s, admitted!.run, admitted!.inputs, T0 + 1000, { lease: { leaseMs: LEASE } });
    assert.equal(lastRun(s).lease?.reported, 2);
    assert.equal(lastRun(s).lease?.expires_at, iso(T0 + 1000 + LEASE), 'a report extends the lease');
    assert.equal(admit(s, events, { run: 1, lease }), null, 'a retried batch is not stored twice');
    assert.deepEqual(admit(s, [...events, end()], { run: 1, lease })?.inputs, [end()]);
    record(s, lastRun(s), [end()], T0 + 2000, { lease: { leaseMs: LEASE } });
    assert.equal(admit(s, [end()], { force: true }), null, 'an end reported twice');
    assert.equal(
      conflictCode(() => admit(s, [end()], {})),
      'run-ended',
    );
  });

  it('lets the sweeper end a run only when the lease it saw expired is still the one held', () => {
    const s = session();
    claim(s, offer, T0, LEASE);
    start(lastRun(s), T0);
    const expired = { runner: 'r1', attempt: 1, before: iso(T0 + LEASE) };
    assert.ok(admit(s, [end(null)], { expired, force: true }));
    heartbeat(s, 1, 'r1', 1, T0 + 20_000, LEASE);
    assert.equal(admit(s, [end(null)], { expired, force: true }), null, 'the runner beat meanwhile');
  });

  it('retries keeping the first attempt, whose figures the second result adds to', () => {
    const s = session();
    start(lastRun(s), T0);
    record(s, lastRun(s), [result('bad')], T0 + 1);
    retry(lastRun(s), 'again, as the schema says', 3);
    assert.equal(lastRun(s).retry?.events_before, 3);
    record(s, lastRun(s), [result('good'), end(0)], T0 + 2);
    assert.equal(lastRun(s).cost_usd, 1);
    assert.equal(lastRun(s).num_turns, 2);
  });

  it('fails a run that could not start, with its reason', () => {
    const run = newRun(1, 'p', iso(T0));
    fail(run, T0 + 3, 'worktree setup failed');
    assert.equal(run.state, 'failed');
    assert.equal(run.ended_at, iso(T0 + 3));
    assert.equal(run.error, 'worktree setup failed');
  });
});
