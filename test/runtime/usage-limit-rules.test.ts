// The usage-limit and stall rules, with the time as an argument (servers/runtime/usage-limits.ts, stall-rules.ts).
import assert from 'node:assert/strict';
import { newRun, type StoredRun, type StoredSession } from '../../servers/runtime/session-store.js';
import { nudgePrompt, stallOf } from '../../servers/runtime/stall-rules.js';
import {
  DEFAULT_LIMIT_POLICY,
  dueResumes,
  heldAccounts,
  limitedRun,
  limitOutcome,
  limitReason,
  nextDue,
  resumePrompt,
} from '../../servers/runtime/usage-limits.js';

const NOW = Date.parse('2026-12-07T14:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const policy = { marginMs: 60_000, backoffMs: 30_000, maxAttempts: 2 };

function session(runs: StoredRun[], extra: Partial<StoredSession> = {}): StoredSession {
  return {
    _id: 's',
    name: 's',
    agent: null,
    blueprint: null,
    project_dir: '/p',
    claude_session_id: 'c',
    created_at: iso(NOW),
    last_resumed_at: null,
    updated_at: iso(NOW),
    parent: null,
    runs,
    ...extra,
  };
}

describe('usage limits: rules (unit)', () => {
  it('resumes at the reset plus the margin, says so in words, and holds the account until then', () => {
    const run = newRun(1, 'Do it', iso(NOW));
    const s = session([run]);
    const limit = limitOutcome(s, run, { resets_at: '2026-12-07T15:02:00.000Z', kind: 'five_hour' }, NOW, policy);
    assert.deepEqual(limit, {
      resets_at: '2026-12-07T15:02:00.000Z',
      resume_at: '2026-12-07T15:03:00.000Z',
      attempt: 1,
      kind: 'five_hour',
    });
    assert.equal(limitReason(limit, NOW, policy), 'hit the usage limit (five hour); resumes at 15:03 UTC');
    run.state = 'stopped';
    run.usage_limit = limit;
    const entry = limitedRun(s, policy)!;
    assert.equal(entry.account, 'claude');
    assert.deepEqual([...heldAccounts([entry], NOW)], [['claude', '2026-12-07T15:03:00.000Z']]);
    assert.deepEqual(heldAccounts([entry], Date.parse('2026-12-07T15:03:00Z')).size, 0);
    assert.deepEqual(dueResumes([entry], NOW), []);
    assert.equal(dueResumes([entry], Date.parse('2026-12-07T15:03:00Z')).length, 1);
    assert.equal(nextDue([entry], NOW), Date.parse('2026-12-07T15:03:00Z'));
    // Due and not yet resumed (it came due after the waiter looked at what was due): due now.
    const later = Date.parse('2026-12-07T15:03:00.004Z');
    assert.equal(nextDue([entry], later), later);
    // A hold that ended, with no resume (an opted-out session's): nothing to wait for.
    assert.equal(nextDue([{ ...entry, resumeAt: null }], later), null);
  });

  it('a reset already past resumes after the margin from now; a session or blueprint may opt out', () => {
    const run = newRun(1, 'x', iso(NOW));
    const past = limitOutcome(session([run]), run, { resets_at: iso(NOW - 5000) }, NOW, policy);
    assert.equal(past.resume_at, iso(NOW + 60_000));
    const optedOut = limitOutcome(
      session([run], { resume_after_limit: false }),
      run,
      { resets_at: iso(NOW + 1000) },
      NOW,
      policy,
    );
    assert.equal(optedOut.resume_at, null);
    assert.match(
      limitReason(optedOut, NOW, policy),
      /it resets at 14:00:01 UTC; not resumed \(resume_after_limit is off\)/,
    );
    const byBlueprint = session([run], { blueprint: { name: 'b', resume_after_limit: false } });
    assert.equal(limitOutcome(byBlueprint, run, { resets_at: null }, NOW, policy).resume_at, null);
    // The session's own say wins over its blueprint's.
    const both = session([run], { blueprint: { name: 'b', resume_after_limit: false }, resume_after_limit: true });
    assert.notEqual(limitOutcome(both, run, { resets_at: null }, NOW, policy).resume_at, null);
  });

  it('without a reset time, backs off doubling per limited run in a row, then gives up', () => {
    const runs = [1, 2, 3].map((n) => newRun(n, 'x', iso(NOW)));
    const s = session(runs);
    const first = limitOutcome(s, runs[0]!, { resets_at: null }, NOW, policy);
    assert.deepEqual([first.attempt, first.resume_at], [1, iso(NOW + 30_000)]);
    runs[0]!.usage_limit = first;
    const second = limitOutcome(s, runs[1]!, { resets_at: null }, NOW, policy);
    assert.deepEqual([second.attempt, second.resume_at], [2, iso(NOW + 60_000)]);
    assert.equal(
      limitReason(second, NOW, policy),
      `hit a usage or rate limit without a reset time; retry 2 of 2 at 14:01 UTC`,
    );
    runs[1]!.usage_limit = second;
    const third = limitOutcome(s, runs[2]!, { resets_at: null }, NOW, policy);
    assert.deepEqual([third.attempt, third.resume_at], [3, null]);
    assert.match(limitReason(third, NOW, policy), /gave up after 2 retries/);
    assert.equal(DEFAULT_LIMIT_POLICY.maxAttempts, 5);
  });

  it('resumes with the instruction of the first limited turn, not a resume of a resume', () => {
    const once = resumePrompt('Fix the tests');
    assert.match(once, /^The account's usage limit interrupted your last turn[\s\S]*\n\nFix the tests$/);
    assert.equal(resumePrompt(once), once);
  });
});

describe('stall watchdog: rules (unit)', () => {
  const running = (updatedAgo: number, extra: Partial<StoredSession> = {}, runExtra: Partial<StoredRun> = {}) => {
    const run = {
      ...newRun(1, 'x', iso(NOW - 600_000)),
      state: 'running' as const,
      started_at: iso(NOW - 600_000),
      ...runExtra,
    };
    return session([run], {
      blueprint: { name: 'b', stall_after_seconds: 60, stall_action: 'nudge' },
      updated_at: iso(NOW - updatedAgo * 1000),
      ...extra,
    });
  };

  it('finds a running run silent past stall_after_seconds, once, with its action', () => {
    assert.deepEqual(stallOf(running(61), NOW), { session: 's', run: 1, silentSeconds: 61, action: 'nudge' });
    assert.equal(stallOf(running(59), NOW), null);
    assert.equal(stallOf(running(61, {}, { stalled_at: iso(NOW) }), NOW), null, 'judged once');
    assert.equal(stallOf(running(61, {}, { stop_requested: true }), NOW), null);
    assert.equal(stallOf(running(61, { pending_approvals: 1 }), NOW), null, 'it waits for a person');
    assert.equal(stallOf(running(61, { blueprint: { name: 'b' } }), NOW), null, 'no watchdog');
    assert.equal(stallOf(running(61, { blueprint: { name: 'b', stall_after_seconds: 60 } }), NOW)?.action, 'notify');
    assert.equal(stallOf(running(61, {}, { state: 'queued' }), NOW), null);
    assert.match(
      nudgePrompt(stallOf(running(61), NOW)!),
      /went 61 seconds without any output[\s\S]*where do you stand/,
    );
  });
});
