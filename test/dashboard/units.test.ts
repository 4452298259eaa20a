// The dashboard's pure modules: what needs attention, usage sums and CSV, the event timeline.
import assert from 'node:assert/strict';
import {
  ago,
  ATTENTION_ORDER,
  BOARD_ORDER,
  faviconSvg,
  formatCost,
  isStalled,
  limitWait,
  liveNote,
  STALL_SECONDS,
  tabTitle,
  wallTimeMs,
} from '../../dashboard/src/attention.js';
import { parsePatch, splitRows } from '../../dashboard/src/diff.js';
import { nameProblem } from '../../dashboard/src/names.js';
import { addEvent, addEvents, copyCommands, emptyTimeline, toolPreview } from '../../dashboard/src/timeline.js';
import { formatUsd, formatUsdTicks } from '../../sdk/money.js';
import { toCsv, usageBy, usageTotal } from '../../dashboard/src/usage.js';
import type { SessionEvent, UsageReport } from '../../sdk/types.js';

const NOW = Date.parse('2026-05-02T12:00:00Z');
const counts = { queued: 3, running: 2, finished: 10, failed: 1, stopped: 0 };

describe('dashboard: attention', () => {
  it('orders the board failed, stopped, running, queued, finished', () => {
    assert.deepEqual(ATTENTION_ORDER, ['failed', 'stopped', 'running', 'queued', 'finished']);
  });

  it('says how long ago, and flags a running session with no event for STALL_SECONDS', () => {
    assert.equal(ago('2026-05-02T11:59:55Z', NOW), '5 s ago');
    assert.equal(ago('2026-05-02T11:57:00Z', NOW), '3 min ago');
    assert.equal(ago('2026-05-01T12:00:00Z', NOW), '1 d ago');
    const at = (s: number) => new Date(NOW - s * 1000).toISOString();
    assert.equal(isStalled({ state: 'running', updated_at: at(STALL_SECONDS + 1) }, NOW), true);
    assert.equal(isStalled({ state: 'running', updated_at: at(STALL_SECONDS - 5) }, NOW), false);
    assert.equal(isStalled({ state: 'queued', updated_at: at(STALL_SECONDS * 10) }, NOW), false);
  });

  it('says when a session stopped on the usage limit resumes, and nothing for one that will not', () => {
    const limited = (resume_at: string | null) => ({
      state: 'stopped' as const,
      last_run: { usage_limit: { resume_at } },
    });
    assert.equal(limitWait(limited('2026-05-02T15:02:30Z'), NOW), 'resumes at 15:02 UTC');
    assert.equal(limitWait(limited('2026-05-02T11:00:00Z'), NOW), 'resumes now');
    assert.equal(limitWait(limited(null), NOW), null);
    assert.equal(limitWait({ state: 'stopped', last_run: {} }, NOW), null);
  });

  it('puts running and failed counts in the tab title and the icon', () => {
    assert.equal(tabTitle(counts), '2 running · 1 failed · aof');
    assert.equal(tabTitle({ ...counts, running: 0, failed: 0 }), 'aof');
    assert.match(faviconSvg(counts), /#e03131/); // red: something failed
    assert.match(faviconSvg(counts), />2<\/text>/);
    assert.match(faviconSvg({ ...counts, failed: 0 }), /#2f9e44/);
  });
});

describe('dashboard: usage', () => {
  const usage = (output: number) => ({
    input_tokens: 10,
    output_tokens: output,
    cache_read_input_tokens: 5,
    cache_creation_input_tokens: 1,
  });
  const sums = (cost: number, output: number, runs = 1) => ({
    runs,
    usage: usage(output),
    cost_usd: cost,
    duration_ms: 1000 * runs,
    wall_ms: 1200 * runs,
    estimated: false,
  });
  // Session 'a' ran on 1 May and again on 2 May: the report counts each run on the day it started.
  const report: UsageReport = {
    totals: { sessions: 3, ...sums(1.75, 160, 4) },
    sessions: [
      { name: 'c', agent: null, state: 'finished', ...sums(1, 10), first_run_at: 'x', last_run_at: 'x' },
      { name: 'a', agent: 'reviewer', state: 'finished', ...sums(0.5, 100, 2), first_run_at: 'x', last_run_at: 'x' },
      { name: 'b', agent: 'reviewer', state: 'finished', ...sums(0.25, 50), first_run_at: 'x', last_run_at: 'x' },
    ],
    agents: [
      { agent: null, sessions: 1, ...sums(1, 10) },
      { agent: 'reviewer', sessions: 2, ...sums(0.75, 150, 3) },
    ],
    days: [
      { day: '2026-05-01', sessions: 2, ...sums(1.25, 60, 2) },
      { day: '2026-05-02', sessions: 2, ...sums(0.5, 100, 2), estimated: true },
    ],
  };

  it("shows the runtime's report (what ao-usage prints): per blueprint, per day (a run on the day it started), in all", () => {
    assert.deepEqual(
      usageBy(report, 'blueprint').map((r) => [r.key, r.sessions, r.cost_usd, r.output_tokens]),
      [
        ['(none)', 1, 1, 10],
        ['reviewer', 2, 0.75, 150],
      ],
    );
    assert.deepEqual(
      usageBy(report, 'day').map((r) => [r.key, r.sessions, r.runs, r.cost_usd, r.estimated]),
      [
        ['2026-05-01', 2, 2, 1.25, false],
        ['2026-05-02', 2, 2, 0.5, true],
      ],
    );
    assert.deepEqual(
      usageBy(report, 'session').map((r) => [r.key, r.sessions, r.runs, r.wall_ms]),
      [
        ['c', 1, 1, 1200],
        ['a', 1, 2, 2400],
        ['b', 1, 1, 1200],
      ],
    );
    const total = usageTotal(report);
    assert.deepEqual([total.cost_usd, total.output_tokens, total.runs, total.sessions], [1.75, 160, 4, 3]);
  });

  it('writes CSV with a header, quoting, and names a spreadsheet would run kept as text', () => {
    const odd: UsageReport = {
      ...report,
      sessions: [{ ...report.sessions[0]!, name: '=cmd()', cost_usd: 0.1, usage: usage(1) }],
      agents: [{ ...report.agents[0]!, agent: 'x,y', cost_usd: 0, usage: usage(0) }],
    };
    const csv = toCsv(usageBy(odd, 'session'), 'session');
    const lines = csv.trimEnd().split('\r\n');
    assert.equal(
      lines[0],
      'session,sessions,runs,input_tokens,output_tokens,cache_read_input_tokens,cache_creation_input_tokens,cost_usd,duration_ms',
    );
    assert.equal(lines[1], `"'=cmd()",1,1,10,1,5,1,0.1,1000`);
    assert.equal(toCsv(usageBy(odd, 'blueprint'), 'blueprint').split('\r\n')[1], '"x,y",1,1,10,0,5,1,0,1000');
  });
});

describe('dashboard: timeline', () => {
  const event = (seq: number, type: SessionEvent['type'], data: object, at = `2026-05-02T12:00:0${seq}Z`) =>
    ({ seq, session: 's', run: 1, type, at, data }) as SessionEvent;

  it('marks an answer the output schema rejected as rejected, and the retry after it as a retry', () => {
    const t = addEvents(emptyTimeline(), [
      event(1, 'session_start', { model: 'm' }),
      event(2, 'result', { is_error: false, text: '{"title": 3}' }),
      event(3, 'output_retry', { attempt: 2, errors: ['/title must be string'] }),
      event(4, 'session_start', { model: 'm' }),
      event(5, 'result', { is_error: false, text: '{"title": "x"}' }),
    ]);
    assert.deepEqual(
      t.items.map((i) => (i.kind === 'result' ? `result${i.rejected ? ' rejected' : ''}` : i.kind)),
      ['start', 'result rejected', 'retry', 'start', 'result'],
    );
    const retry = t.items[2]!;
    assert.ok(retry.kind === 'retry' && retry.attempt === 2 && retry.errors[0] === '/title must be string');
  });

  it('joins a tool call with its output, with the time between them, and ignores replays', () => {
    let t = emptyTimeline();
    t = addEvent(t, event(1, 'session_start', { model: 'm' }));
    t = addEvent(t, event(2, 'pre_tool', { tool_use_id: 'tu1', tool: 'Bash', input: { command: 'ls' } }));
    assert.equal(t.items[1]!.kind === 'tool' && t.items[1]!.output, undefined);
    t = addEvent(t, event(4, 'post_tool', { tool_use_id: 'tu1', tool: 'Bash', output: 'a.txt', is_error: false }));
    t = addEvent(t, event(5, 'message', { role: 'assistant', text: 'done' }));
    const replayed = addEvent(t, event(3, 'message', { role: 'assistant', text: 'old' }));
    assert.equal(replayed, t);
    assert.deepEqual(
      t.items.map((i) => i.kind),
      ['start', 'tool', 'message'],
    );
    const tool = t.items[1]!;
    assert.ok(tool.kind === 'tool');
    assert.equal(tool.output, 'a.txt');
    assert.equal(tool.durationMs, 2000);
    assert.deepEqual(tool.input, { command: 'ls' });
  });

  it('folds a batch as it folds the events one by one, skipping what it has seen', () => {
    const events = [
      event(1, 'pre_tool', { tool_use_id: 'a', tool: 'Read', input: {} }),
      event(2, 'message', { role: 'assistant', text: 'x' }),
      event(3, 'post_tool', { tool_use_id: 'a', tool: 'Read', output: 'ok', is_error: false }),
    ];
    const oneByOne = events.reduce(addEvent, emptyTimeline());
    const batched = addEvents(addEvents(emptyTimeline(), events.slice(0, 2)), [...events.slice(0, 2), events[2]!]);
    assert.deepEqual(batched.items, oneByOne.items);
    assert.equal(batched.lastSeq, 3);
  });

  it('keeps an output whose call it never saw, and a failed result with its errors', () => {
    let t = emptyTimeline();
    t = addEvent(t, event(1, 'post_tool', { tool_use_id: 'x', tool: 'Read', output: 'no such file', is_error: true }));
    t = addEvent(t, event(2, 'result', { is_error: true, text: null, errors: ['boom'] }));
    assert.deepEqual(
      t.items.map((i) => [i.kind, 'isError' in i ? i.isError : undefined]),
      [
        ['tool', true],
        ['result', true],
      ],
    );
  });

  it('quotes names in the copied commands only when the shell needs it', () => {
    assert.equal(copyCommands('fix-tests').result, 'ao-get-result fix-tests');
    assert.equal(copyCommands("it's").resume, `ao-resume 'it'\\''s' -p "..."`);
  });
});

describe('dashboard: what needs a person, in numbers and words', () => {
  const at = (s: number) => new Date(NOW - s * 1000).toISOString();

  it('does not call a session that waits for an answer stalled, and counts it first in the tab title', () => {
    const quiet = { state: 'running' as const, updated_at: at(STALL_SECONDS * 3) };
    assert.equal(isStalled(quiet, NOW), true);
    assert.equal(isStalled({ ...quiet, pending_approvals: 1 }, NOW), false);
    assert.equal(BOARD_ORDER[0], 'waiting');
    assert.equal(tabTitle(counts, 1), '1 asks you · 2 running · 1 failed · aof');
  });

  it('writes dollars with four decimals, and axis ticks with the decimals that tell them apart', () => {
    assert.equal(formatUsd(0.0163), '$0.0163');
    assert.equal(formatCost(0.0163), '$0.0163');
    assert.equal(formatCost(null), '–');
    assert.equal(formatCost(0.0083, true), '~$0.0083');
    assert.deepEqual(formatUsdTicks([0, 0.005, 0.01, 0.015]), ['$0.000', '$0.005', '$0.010', '$0.015']);
    assert.deepEqual(formatUsdTicks([0, 1, 2]), ['$0.00', '$1.00', '$2.00']);
    assert.deepEqual(formatUsdTicks([0.0001, 0.0002]), ['$0.0001', '$0.0002']);
  });

  it('says what a total covers while a run goes: the ended runs, or an estimate when the runtime gives one', () => {
    assert.equal(liveNote({ cost_usd: 0 }, undefined), '');
    assert.equal(liveNote({ cost_usd: 0 }, 2), 'ended runs only; run 2 counts when it ends');
    assert.equal(liveNote({ cost_usd: 0, estimated: true }, 2), 'so far: an estimate until the run ends');
  });

  it('measures wall time from start to end, or to now while running', () => {
    assert.equal(wallTimeMs({ started_at: at(90), ended_at: at(30) }, NOW), 60_000);
    assert.equal(wallTimeMs({ started_at: at(5), ended_at: null }, NOW), 5000);
    assert.equal(wallTimeMs({ started_at: null, ended_at: null }, NOW), null);
  });

  it('states the name rule from the contract in words', () => {
    assert.equal(nameProblem('fix-tests_2'), undefined);
    assert.equal(
      nameProblem('a.b'),
      'Use letters, digits, _ and -, starting with a letter or digit; 1 to 60 characters.',
    );
    assert.equal(nameProblem('x'.repeat(61)), nameProblem('a.b'));
    assert.equal(nameProblem(''), 'Give it a name.');
  });
});

describe('dashboard: questions and tool previews on the timeline', () => {
  const event = (seq: number, type: SessionEvent['type'], data: object, run = 1) =>
    ({ seq, session: 's', run, type, at: `2026-05-02T12:00:0${seq}Z`, data }) as SessionEvent;

  it('joins a question with its answer by id, and marks one the run ended before anyone answered', () => {
    let t = emptyTimeline();
    t = addEvent(t, event(1, 'approval_request', { id: 'apr_a', tool: 'Bash', input: { command: 'ls' } }));
    t = addEvent(
      t,
      event(2, 'approval_answer', { id: 'apr_a', tool: 'Bash', state: 'denied', answered_by: 'person', message: 'no' }),
    );
    t = addEvent(t, event(3, 'approval_request', { id: 'apr_b', tool: 'Write', input: { file_path: '/x' } }));
    t = addEvent(t, event(4, 'session_stop', { reason: 'stopped' }));
    assert.deepEqual(
      t.items.map((i) => (i.kind === 'approval' ? [i.id, i.state, i.answeredBy, i.message] : [i.kind])),
      [['apr_a', 'denied', 'person', 'no'], ['apr_b', 'cancelled', 'run_ended', null], ['stop']],
    );
  });

  it('previews a tool call by what it names: the command, the file, else its first text', () => {
    assert.equal(toolPreview({ command: 'npm   test\n--grep x', description: 'run' }), 'npm test --grep x');
    assert.equal(toolPreview({ file_path: '/a/b.ts', content: 'x' }), '/a/b.ts');
    assert.equal(toolPreview({ n: 1, text: 'hello' }), 'hello');
    assert.equal(toolPreview({ command: 'y'.repeat(300) }, 10), `${'y'.repeat(9)}…`);
    assert.equal(toolPreview(undefined), '');
  });
});

describe('dashboard: a diff side by side', () => {
  it("pairs each change's deleted lines with its added ones, context on both sides, the longer side's rest beside nothing", () => {
    const [file] = parsePatch(
      [
        'diff --git a/x.ts b/x.ts',
        '--- a/x.ts',
        '+++ b/x.ts',
        '@@ -1,5 +1,5 @@',
        ' keep',
        '-old one',
        '-old two',
        '+new one',
        ' middle',
        '+added',
        ' end',
        '-gone',
        '',
      ].join('\n'),
    );
    const rows = splitRows(file!.lines).map((row) =>
      row.kind === 'pair'
        ? `${row.left ? `${row.left.old}:${row.left.text}` : '-'} | ${row.right ? `${row.right.new}:${row.right.text}` : '-'}`
        : row.text,
    );
    assert.deepEqual(rows, [
      '@@ -1,5 +1,5 @@',
      '1:keep | 1:keep',
      '2:old one | 2:new one',
      '3:old two | -',
      '4:middle | 3:middle',
      '- | 4:added',
      '5:end | 5:end',
      '6:gone | -',
    ]);
  });
});
