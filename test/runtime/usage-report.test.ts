// The usage report is pure: sums per session, agent and UTC day, from the runs it is handed.
import assert from 'node:assert/strict';
import { usageReport } from '../../servers/runtime/usage-report.js';
import type { StoredRun, StoredSession } from '../../servers/runtime/session-store.js';

const usage = (input: number, output: number, write = 0, read = 0) => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: write,
  cache_read_input_tokens: read,
});

function run(number: number, at: string | null, fields: Partial<StoredRun> = {}): StoredRun {
  return {
    number,
    prompt: 'p',
    state: 'finished',
    queued_at: '2026-01-01T00:00:00.000Z',
    started_at: at,
    ended_at: at,
    exit_code: 0,
    error: null,
    result: 'r',
    usage: null,
    cost_usd: null,
    num_turns: 1,
    duration_ms: null,
    ...fields,
  };
}

function session(name: string, agent: string | null, runs: StoredRun[]): StoredSession {
  return {
    _id: name,
    name,
    agent,
    blueprint: null,
    project_dir: '/p',
    claude_session_id: 'c',
    created_at: '2026-01-01T00:00:00.000Z',
    last_resumed_at: null,
    updated_at: '2026-01-01T00:00:00.000Z',
    runs,
  };
}

const SESSIONS = [
  session('a', 'reviewer', [
    run(1, '2026-03-01T23:59:00.000Z', { usage: usage(100, 10, 5, 1), cost_usd: 0.1, duration_ms: 1000 }),
    run(2, '2026-03-02T00:01:00.000Z', { usage: usage(200, 20), cost_usd: 0.2, duration_ms: 2000 }),
  ]),
  session('b', null, [run(1, '2026-03-02T10:00:00.000Z', { usage: usage(1, 1), cost_usd: 0.7, duration_ms: 10 })]),
  session('c', 'reviewer', [run(1, null, { state: 'queued' })]),
];

describe('runtime: usage report (pure)', () => {
  it('sums per session (most expensive first), per agent, per UTC day, and in total', async () => {
    const report = await usageReport(SESSIONS);
    assert.deepEqual(report.totals, {
      sessions: 3,
      runs: 4,
      usage: usage(301, 31, 5, 1),
      cost_usd: 1,
      duration_ms: 3010,
      wall_ms: 0,
      estimated: false,
    });
    assert.deepEqual(
      report.sessions.map((s) => [s.name, s.runs, s.cost_usd, s.state]),
      [
        ['b', 1, 0.7, 'finished'],
        ['a', 2, 0.3, 'finished'],
        ['c', 1, 0, 'queued'],
      ],
    );
    assert.deepEqual(report.sessions[1]!.usage, usage(300, 30, 5, 1));
    assert.deepEqual(
      [report.sessions[1]!.first_run_at, report.sessions[1]!.last_run_at],
      ['2026-03-01T23:59:00.000Z', '2026-03-02T00:01:00.000Z'],
    );
    assert.deepEqual(
      report.agents.map((a) => [a.agent, a.sessions, a.runs, a.cost_usd]),
      [
        [null, 1, 1, 0.7],
        ['reviewer', 2, 3, 0.3],
      ],
    );
    // A run counts on the day it started; one that never started, on the day it was queued.
    assert.deepEqual(
      report.days.map((d) => [d.day, d.sessions, d.runs, d.cost_usd]),
      [
        ['2026-01-01', 1, 1, 0],
        ['2026-03-01', 1, 1, 0.1],
        ['2026-03-02', 2, 2, 0.9],
      ],
    );
  });

  it('filters by agent and by session names, and reads sessions one at a time', async () => {
    async function* oneByOne() {
      yield* SESSIONS;
    }
    const reviewer = await usageReport(oneByOne(), { agent: 'reviewer' });
    assert.deepEqual(
      reviewer.sessions.map((s) => s.name),
      ['a', 'c'],
    );
    const named = await usageReport(SESSIONS, { sessions: new Set(['b', 'nope']) });
    assert.deepEqual([named.totals.sessions, named.totals.cost_usd], [1, 0.7]);
    const none = await usageReport([]);
    assert.deepEqual(none, {
      totals: { sessions: 0, runs: 0, usage: usage(0, 0), cost_usd: 0, duration_ms: 0, wall_ms: 0, estimated: false },
      sessions: [],
      agents: [],
      days: [],
    });
  });

  it('counts a run still going with what it was billed so far, as an estimate, and wall time to now', async () => {
    const going = session('g', null, [
      run(1, '2026-03-01T00:00:00.000Z', { state: 'running', ended_at: null, usage: null, cost_usd: null }),
    ]);
    const now = Date.parse('2026-03-01T00:00:42.000Z');
    const report = await usageReport(
      [going, ...SESSIONS],
      {},
      { now, live: (name) => (name === 'g' ? usage(1000, 100) : null) },
    );
    const row = report.sessions.find((s) => s.name === 'g')!;
    assert.deepEqual([row.usage, row.estimated, row.wall_ms], [usage(1000, 100), true, 42_000]);
    assert.ok(Math.abs(row.cost_usd - (1000 * 3 + 100 * 15) / 1e6) < 1e-12);
    assert.equal(report.totals.estimated, true);
    assert.equal(report.totals.wall_ms, 42_000);
    assert.equal(report.sessions.find((s) => s.name === 'a')!.estimated, false);
  });

  it('rounds float sums of costs to 1e-8 USD', async () => {
    const many = Array.from({ length: 10 }, (_, i) =>
      session(`s${i}`, null, [run(1, '2026-03-01T00:00:00.000Z', { cost_usd: 0.1 })]),
    );
    assert.equal((await usageReport(many)).totals.cost_usd, 1);
  });
});
