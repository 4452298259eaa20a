// The rules of schedules (servers/runtime/schedule-rules.ts), pure: intervals, cron in a time zone,
// start and end, catch-up after an outage, jitter, overlap, templates.
import assert from 'node:assert/strict';
import {
  checkCron,
  dueFirings,
  fillTemplate,
  jitterOf,
  nextFiring,
  overlapDecision,
  parseEvery,
  timeParts,
} from '../../servers/runtime/schedule-rules.js';
import { afterEnd, afterSettlement, type StoredSchedule } from '../../servers/runtime/store/schedule-store.js';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('schedule rules', () => {
  it('reads intervals in seconds, minutes, hours and days, and refuses what is not one', () => {
    assert.equal(parseEvery('30m'), 30 * M);
    assert.equal(parseEvery('every 1h30m'), 90 * M);
    assert.equal(parseEvery('2s'), 2 * S);
    assert.equal(parseEvery('1d'), 24 * H);
    for (const bad of ['', '30', 'm', '1x', '0s', '10 minutes', '1h and 2m']) assert.throws(() => parseEvery(bad));
  });

  it('fires an interval from its creation (or its start), strictly after the given time, and never after its end', () => {
    const every = { every: '10s' };
    assert.equal(nextFiring(every, { anchor: T0 }, T0), T0 + 10 * S);
    assert.equal(nextFiring(every, { anchor: T0 }, T0 + 10 * S), T0 + 20 * S);
    assert.equal(nextFiring(every, { anchor: T0 }, T0 + 15 * S), T0 + 20 * S);
    // A start later than now: the start itself is the first firing.
    assert.equal(nextFiring(every, { anchor: T0, start: T0 + H }, T0), T0 + H);
    assert.equal(nextFiring(every, { anchor: T0, end: T0 + 25 * S }, T0 + 20 * S), null);
  });

  it('fires a cron expression in its time zone, across a change of summer time', () => {
    const nightly = { cron: '0 3 * * *', tz: 'Europe/Berlin' };
    assert.equal(new Date(nextFiring(nightly, { anchor: T0 }, T0)!).toISOString(), '2026-12-08T02:00:00.000Z');
    const march = Date.parse('2026-03-28T12:00:00.000Z');
    const first = nextFiring(nightly, { anchor: march }, march)!;
    assert.equal(new Date(first).toISOString(), '2026-03-29T01:00:00.000Z'); // 03:00 CEST
    assert.equal(
      new Date(nextFiring({ cron: '0 3 * * *' }, { anchor: T0 }, T0)!).toISOString(),
      '2026-12-08T03:00:00.000Z',
    );
    assert.throws(() => checkCron('not cron', undefined), /not a cron expression/);
    assert.throws(() => checkCron('0 3 * * *', 'Mars/Olympus'), /not an IANA time zone/);
    checkCron('*/5 * * * * *', 'UTC');
  });

  it('makes due firings, and of firings missed in an outage catches up the latest within the window once', () => {
    const every = { every: '1m' };
    const window = { anchor: T0 };
    // On time: the firing due now, nothing missed, the next one a minute on.
    assert.deepEqual(dueFirings(every, window, T0 + M, T0 + M + 200, H), {
      fire: [T0 + M],
      missed: 0,
      next: T0 + 2 * M,
    });
    // A loop that looked late (within ON_TIME_MS): every firing due since is made, none missed.
    const second = { every: '1s' };
    assert.deepEqual(dueFirings(second, window, T0 + S, T0 + 3 * S + 100, H), {
      fire: [T0 + S, T0 + 2 * S, T0 + 3 * S],
      missed: 0,
      next: T0 + 4 * S,
    });
    // Down for 10 minutes: the latest due firing is made once, the 9 before it counted as missed.
    assert.deepEqual(dueFirings(every, window, T0 + M, T0 + 10 * M + 15 * S, H), {
      fire: [T0 + 10 * M],
      missed: 9,
      next: T0 + 11 * M,
    });
    // Down, and firings on time again: those are made, and of the outage's the latest.
    const back = dueFirings(second, window, T0 + S, T0 + 60 * S, H);
    assert.deepEqual(
      back.fire,
      [49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60].map((n) => T0 + n * S),
    );
    assert.equal(back.missed, 48);
    // Down longer than the window: nothing is made, all are counted.
    assert.deepEqual(dueFirings(every, window, T0 + M, T0 + 10 * M + 15 * S, 2 * S), {
      fire: [],
      missed: 10,
      next: T0 + 11 * M,
    });
    // A very long outage of a very frequent schedule is counted without stepping through each firing.
    const long = dueFirings(second, window, T0 + S, T0 + 30 * 24 * H + 500, H);
    assert.deepEqual(long.fire, [T0 + 30 * 24 * H]);
    assert.ok(long.missed > 2_000_000);
    assert.equal(long.next, T0 + 30 * 24 * H + S);
  });

  it('delays a firing by the same jitter in every process, below the bound', () => {
    assert.equal(jitterOf('nightly', T0, 0), 0);
    const delays = Array.from({ length: 50 }, (_, i) => jitterOf('nightly', T0 + i * H, 60 * S));
    assert.ok(delays.every((d) => d >= 0 && d < 60 * S));
    assert.ok(new Set(delays).size > 40);
    assert.equal(jitterOf('nightly', T0, 60 * S), jitterOf('nightly', T0, 60 * S));
  });

  it('skips, waits or starts beside a firing that still runs, by policy', () => {
    const idle = { active: false, waiting: false, resumes: false };
    const busy = { active: true, waiting: false, resumes: false };
    for (const policy of ['skip', 'queue_one', 'allow'] as const) assert.equal(overlapDecision(policy, idle), 'start');
    assert.equal(overlapDecision('skip', busy), 'skip');
    assert.equal(overlapDecision('queue_one', busy), 'wait');
    assert.equal(overlapDecision('queue_one', { ...busy, waiting: true }), 'skip');
    assert.equal(overlapDecision('allow', busy), 'start');
    // One session cannot run two firings at once: allow waits there.
    assert.equal(overlapDecision('allow', { ...busy, resumes: true }), 'wait');
  });

  it('fills templates from known values only, never evaluating them', () => {
    assert.equal(
      fillTemplate('{schedule}-{date} {unknown} {last_result}', {
        schedule: 'nightly',
        date: '2026-12-07',
        last_result: '{date}',
      }),
      'nightly-2026-12-07 {unknown} {date}',
    );
    assert.deepEqual(timeParts(Date.parse('2026-12-07T23:30:05Z'), 'Europe/Berlin'), {
      date: '2026-12-08',
      time: '003005',
      stamp: '20261208-003005',
    });
  });

  it('counts failed firings in a row, pauses after the limit, and a finished run clears the count', () => {
    const schedule: StoredSchedule = {
      name: 's',
      spec: { prompt: 'p', every: '1m', pause_after_failures: 2 },
      paused: false,
      paused_reason: null,
      created_at: T0,
      next_fire_at: T0 + M,
      last_fire_at: null,
      last_session: null,
      last_outcome: null,
      last_result: null,
      failures_in_row: 0,
      missed: 0,
      fired: 0,
    };
    const started = afterSettlement(schedule, { outcome: 'running', session: 's-1', run: 1 }, T0);
    assert.equal(started.fired, 1);
    assert.equal(started.last_fire_at, T0);
    const once = afterEnd(started, { outcome: 'failed', result: 'boom' });
    assert.equal(once.failures_in_row, 1);
    assert.equal(once.paused, false);
    assert.equal(afterEnd(once, { outcome: 'stopped', result: null }).failures_in_row, 1);
    const twice = afterSettlement(once, { outcome: 'error', reason: 'no such agent' }, T0);
    assert.equal(twice.paused, true);
    assert.match(twice.paused_reason!, /2 failed firings in a row/);
    const fine = afterEnd(once, { outcome: 'finished', result: 'all good' });
    assert.equal(fine.failures_in_row, 0);
    assert.equal(fine.last_result, 'all good');
  });
});
