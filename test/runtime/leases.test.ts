// The lease rules (servers/runtime/leases.ts), pure: claims, the cap, heartbeats, expiry, fencing, fresh events.
import assert from 'node:assert/strict';
import { HttpProblem } from '../../servers/common/contract/problem.js';
import {
  beat,
  canClaim,
  checkHolds,
  claimable,
  freshEvents,
  grant,
  inFlight,
  isExpired,
  isLeased,
  queueEntry,
  runnerLostReason,
  type QueueEntry,
} from '../../servers/runtime/leases.js';
import { newRun, type RunState, type StoredSession } from '../../servers/runtime/session-store.js';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const LEASE = 30_000;

function session(
  name: string,
  state: RunState = 'queued',
  queuedAt = T0,
  extra: Partial<StoredSession> = {},
): StoredSession {
  const run = { ...newRun(1, 'p', new Date(queuedAt).toISOString()), state };
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
const offer = (runner = 'r1', tags: string[] = []) => ({ runner, tags, host: 'host-1' });
/** The run queue as a store gives it: sessions whose last run has ended are not in it. */
const queue = (...sessions: StoredSession[]): QueueEntry[] =>
  sessions.map(queueEntry).filter((e): e is QueueEntry => e !== null);

describe('leases (pure)', () => {
  it('claims the oldest queued run first, by name on a tie, and none that another holds', () => {
    const a = session('a', 'queued', T0 + 2);
    const b = session('b', 'queued', T0 + 1);
    const c = session('c', 'queued', T0 + 1);
    const held = session('held', 'queued', T0);
    grant(held, offer('other'), T0, LEASE);
    assert.deepEqual(
      claimable(queue(a, b, c, held), offer(), T0 + 10).map((s) => s.name),
      ['b', 'c', 'a'],
    );
    // Once the other runner's lease has expired, its claimed-but-not-started run is claimable again.
    assert.deepEqual(
      claimable(queue(held), offer(), T0 + LEASE + 1).map((s) => s.name),
      ['held'],
    );
  });

  it('gives a run with runner_tags only to a runner with all of them; never a run being stopped or not queued', () => {
    const tagged = session('t', 'queued', T0, { runner_tags: ['gpu', 'linux'] });
    assert.equal(canClaim(tagged, offer('r', ['gpu']), T0), false);
    assert.equal(canClaim(tagged, offer('r', ['linux', 'gpu', 'x']), T0), true);
    const stopping = session('s');
    stopping.runs[0]!.stop_requested = true;
    assert.equal(canClaim(stopping, offer(), T0), false);
    assert.equal(canClaim(session('r', 'running'), offer(), T0), false);
    assert.equal(canClaim(session('f', 'finished'), offer(), T0), false);
  });

  it('counts running runs and live claims against the cap, not expired claims', () => {
    const claimed = session('claimed');
    grant(claimed, offer(), T0, LEASE);
    const all = queue(session('run', 'running'), claimed, session('queued'), session('done', 'finished'));
    assert.equal(all.length, 3, 'an ended run is not in the queue');
    assert.equal(inFlight(all, T0 + 1), 2);
    assert.equal(inFlight(all, T0 + LEASE + 1), 1);
  });

  it('keeps in a queue entry only what a claim needs, and claims the same runs from entries as from sessions', () => {
    const tagged = session('t', 'queued', T0, { runner_tags: ['gpu'] });
    const stopping = session('s', 'queued', T0 + 5);
    stopping.runs[0]!.stop_requested = true;
    const claimed = session('c', 'queued', T0 + 3);
    grant(claimed, offer('other'), T0, LEASE);
    assert.deepEqual(queueEntry(claimed), {
      name: 'c',
      state: 'queued',
      queued_at: new Date(T0 + 3).toISOString(),
      lease_expires_at: new Date(T0 + LEASE).toISOString(),
      stop_requested: false,
      runner_tags: [],
    });
    assert.equal(queueEntry(session('f', 'failed')), null);
    const all = [tagged, stopping, claimed, session('q', 'queued', T0 + 4), session('r', 'running')];
    for (const [who, now] of [
      [offer(), T0 + 1],
      [offer('r', ['gpu']), T0 + 1],
      [offer(), T0 + LEASE + 1],
    ] as const) {
      assert.deepEqual(
        claimable(queue(...all), who, now)
          .map((e) => e.name)
          .sort(),
        all
          .filter((s) => canClaim(s, who, now))
          .map((s) => s.name)
          .sort(),
      );
    }
    assert.deepEqual(
      claimable(queue(...all), offer('r', ['gpu']), T0 + LEASE + 1).map((e) => e.name),
      ['t', 'c', 'q'],
    );
    assert.equal(inFlight(queue(...all), T0 + 1), 2, 'the running run and the live claim');
  });

  it('raises the attempt with every claim, and names the runner and its host', () => {
    const s = session('s');
    assert.equal(grant(s, offer('r1'), T0, LEASE), 1);
    assert.equal(s.runs[0]!.runner, 'r1@host-1');
    assert.equal(isLeased(s.runs[0]!, T0 + LEASE - 1), true);
    assert.equal(grant(s, offer('r2'), T0 + LEASE + 1, LEASE), 2);
    assert.equal(s.runs[0]!.lease!.runner, 'r2');
    assert.equal(s.runs[0]!.lease!.reported, 0);
  });

  it('heartbeats extend a held lease, say stop when one was asked, and lost otherwise', () => {
    const s = session('s');
    grant(s, offer('r1'), T0, LEASE);
    assert.equal(beat(s, 1, 'r1', 1, T0 + 20_000, LEASE), 'held');
    assert.equal(s.runs[0]!.lease!.expires_at, new Date(T0 + 20_000 + LEASE).toISOString());
    assert.equal(beat(s, 1, 'r1', 2, T0, LEASE), 'lost', 'another attempt');
    assert.equal(beat(s, 1, 'r2', 1, T0, LEASE), 'lost', 'another runner');
    assert.equal(beat(s, 2, 'r1', 1, T0, LEASE), 'lost', 'another run');
    assert.equal(beat(null, 1, 'r1', 1, T0, LEASE), 'lost', 'a deleted session');
    s.runs[0]!.stop_requested = true;
    assert.equal(beat(s, 1, 'r1', 1, T0, LEASE), 'stop');
    s.runs[0]!.state = 'stopped';
    assert.equal(beat(s, 1, 'r1', 1, T0, LEASE), 'lost', 'an ended run');
  });

  it('expires a lease of a run in flight only, and says which runner was lost', () => {
    const s = session('s', 'running');
    grant(s, offer('r1'), T0, LEASE);
    assert.equal(isExpired(s.runs[0]!, T0 + LEASE - 1), false);
    assert.equal(isExpired(s.runs[0]!, T0 + LEASE), true);
    assert.match(
      runnerLostReason(s.runs[0]!.lease!),
      /^runner lost: runner 'r1' on host-1 stopped answering and its lease expired at 2026-11-25T12:00:30.000Z$/,
    );
    s.runs[0]!.state = 'failed';
    assert.equal(isExpired(s.runs[0]!, T0 + LEASE), false);
  });

  it('fences a runner that does not hold the run with 409 lease-lost', () => {
    const s = session('s', 'running');
    grant(s, offer('r1'), T0, LEASE);
    assert.doesNotThrow(() => checkHolds(s, s.runs[0]!, 'r1', 1));
    for (const [runner, attempt] of [
      ['r1', 2],
      ['r2', 1],
    ] as const) {
      assert.throws(
        () => checkHolds(s, s.runs[0]!, runner, attempt),
        (e: unknown) => e instanceof HttpProblem && e.status === 409 && e.code === 'lease-lost',
      );
    }
  });

  it('keeps only the events of a report the runtime does not have; refuses a gap', () => {
    assert.deepEqual(freshEvents(['a', 'b', 'c'], 0, 0), ['a', 'b', 'c']);
    assert.deepEqual(freshEvents(['a', 'b', 'c'], 0, 2), ['c'], 'a retried batch: the first two are stored');
    assert.deepEqual(freshEvents(['a', 'b'], 3, 5), [], 'all stored already');
    assert.deepEqual(freshEvents(['d'], 3, 3), ['d']);
    assert.throws(
      () => freshEvents(['x'], 4, 3),
      (e: unknown) => e instanceof HttpProblem && e.status === 409,
    );
  });
});
