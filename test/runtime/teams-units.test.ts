// The pure parts of teams: the price table and limit checks, the tree and its roll-ups, and the
// message a callback resumes a parent with.
import assert from 'node:assert/strict';
import {
  countedTokens,
  estimateCostUsd,
  priceOf,
  treeBudgetBreach,
  turnLimitBreach,
} from '../../servers/runtime/budgets.js';
import { CALLBACK_RESULT_CHARS, callbackMessage, type Callback } from '../../servers/runtime/callbacks.js';
import { newRun, type StoredSession, type Usage } from '../../servers/runtime/session-store.js';
import { buildTree, childrenIndex, descendantsOf, subtreeSpend } from '../../servers/runtime/tree.js';

const usage = (input: number, output: number, cacheWrite = 0, cacheRead = 0): Usage => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: cacheWrite,
  cache_read_input_tokens: cacheRead,
});

function session(
  name: string,
  parent: string | null,
  runs: Array<{ usage: Usage | null; cost: number | null }>,
): StoredSession {
  return {
    _id: name,
    name,
    parent,
    agent: null,
    blueprint: null,
    project_dir: '/tmp',
    claude_session_id: null,
    created_at: '2026-01-01T00:00:00.000Z',
    last_resumed_at: null,
    updated_at: '2026-01-01T00:00:00.000Z',
    model: 'claude-sonnet-4-5',
    runs: runs.map((r, i) => ({
      ...newRun(i + 1, 'p', '2026-01-01T00:00:00.000Z'),
      state: 'finished',
      usage: r.usage,
      cost_usd: r.cost,
    })),
  };
}

describe('teams: budgets (pure)', () => {
  it('prices by model family, first match wins, unknown models as sonnet', () => {
    assert.equal(priceOf('claude-opus-4-5-20251101').family, 'opus-4.5+');
    assert.equal(priceOf('claude-opus-4-1').family, 'opus');
    assert.equal(priceOf('claude-haiku-4-5').family, 'haiku-4');
    assert.equal(priceOf('claude-3-5-haiku').family, 'haiku');
    // Codex and Gemini CLI report no cost: their runs are priced by the same table.
    assert.equal(priceOf('gpt-5-codex').family, 'gpt-5');
    assert.equal(priceOf('gpt-5.1-codex-mini').family, 'gpt-5-mini');
    assert.equal(priceOf('gemini-2.5-pro').family, 'gemini-pro');
    assert.equal(priceOf('gemini-2.5-flash').family, 'gemini-flash');
    assert.equal(priceOf('gemini-2.5-flash-lite').family, 'gemini-flash-lite');
    assert.equal(priceOf('claude-sonnet-4-5').family, 'sonnet');
    assert.equal(priceOf('something-new').family, 'sonnet');
    assert.equal(priceOf(undefined).family, 'sonnet');
  });

  it('estimates input, output and cache tokens at their prices', () => {
    // sonnet: $3 in, $15 out per million; cache writes 1.25x, reads 0.1x the input price.
    assert.equal(estimateCostUsd(usage(1_000_000, 0), 'claude-sonnet-4-5'), 3);
    assert.equal(estimateCostUsd(usage(0, 1_000_000), 'claude-sonnet-4-5'), 15);
    assert.equal(estimateCostUsd(usage(0, 0, 1_000_000, 1_000_000), 'claude-sonnet-4-5'), 3.75 + 0.3);
    assert.equal(countedTokens(usage(10, 20, 30, 1000)), 60, 'cache reads are not counted');
  });

  it('names the limit and the amount it was crossed by, and nothing within budget', () => {
    assert.equal(treeBudgetBreach('a', { max_cost_usd: 1 }, { tokens: 0, cost_usd: 1, estimated: false }), null);
    assert.equal(
      treeBudgetBreach('a', { max_cost_usd: 1 }, { tokens: 0, cost_usd: 1.5, estimated: false }),
      "budget max_cost_usd of session 'a' crossed: $1.50 spent, limit $1.00",
    );
    assert.equal(
      treeBudgetBreach('a', { max_cost_usd: 0.5 }, { tokens: 0, cost_usd: 0.61234, estimated: true }),
      "budget max_cost_usd of session 'a' crossed: about $0.6123 spent (estimate), limit $0.5000",
    );
    assert.equal(
      treeBudgetBreach('a', { max_tokens: 100 }, { tokens: 101, cost_usd: 0, estimated: false }),
      "budget max_tokens of session 'a' crossed: 101 tokens spent, limit 100",
    );
    assert.equal(treeBudgetBreach('a', undefined, { tokens: 1e9, cost_usd: 1e9, estimated: false }), null);
    assert.equal(turnLimitBreach({ max_turns: 3 }, 3), null);
    assert.equal(turnLimitBreach({ max_turns: 3 }, 4), 'limit max_turns crossed: 4 model turns in this run, limit 3');
  });
});

describe('teams: trees (pure)', () => {
  const all = [
    session('root', null, [{ usage: usage(100, 10), cost: 0.5 }]),
    session('a', 'root', [
      { usage: usage(200, 20), cost: 0.25 },
      { usage: usage(50, 5), cost: 0.25 },
    ]),
    session('b', 'root', [{ usage: usage(1_000_000, 0), cost: null }]), // stopped without a cost: estimated
    session('a1', 'a', [{ usage: null, cost: null }]),
    session('other', null, [{ usage: usage(1, 1), cost: 9 }]),
  ];

  it('rolls up usage and cost over every descendant, estimating runs without a cost', () => {
    const tree = buildTree(all[0]!, childrenIndex(all));
    assert.deepEqual(
      tree.children.map((c) => c.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      tree.children[0]!.children.map((c) => c.name),
      ['a1'],
    );
    assert.equal(tree.tree.sessions, 4);
    assert.equal(tree.cost_usd, 0.5);
    assert.equal(tree.children[0]!.cost_usd, 0.5);
    assert.equal(tree.children[1]!.cost_usd, 3);
    assert.equal(tree.tree.cost_usd, 4);
    assert.deepEqual(tree.tree.usage, usage(1_000_350, 35));
  });

  it('survives a cycle in stored data, counting each session once', () => {
    const loop = [session('x', 'y', [{ usage: null, cost: null }]), session('y', 'x', [{ usage: null, cost: null }])];
    assert.deepEqual(
      descendantsOf('x', childrenIndex(loop)).map((s) => s.name),
      ['y'],
    );
    assert.equal(buildTree(loop[0]!, childrenIndex(loop)).tree.sessions, 2);
  });

  it("adds what active runs were billed so far to a subtree's spend", () => {
    const running = session('r', null, [{ usage: null, cost: null }]);
    running.runs[0]!.state = 'running';
    const spend = subtreeSpend(running, childrenIndex([running]), () => usage(1000, 100));
    assert.equal(spend.tokens, 1100);
    assert.ok(spend.estimated);
    assert.ok(Math.abs(spend.cost_usd - (1000 * 3 + 100 * 15) / 1e6) < 1e-12);
  });
});

describe('teams: the callback message (pure)', () => {
  const base: Callback = {
    id: 'c#1#0',
    parent: 'p',
    child: 'c',
    run: 1,
    state: 'finished',
    result: 'done',
    error: null,
    status: 'pending',
    created_at: '2026-01-01T00:00:00.000Z',
    settled_at: null,
    parent_run: null,
  };

  it('names each child, its state and result; a failure its error', () => {
    const text = callbackMessage([base, { ...base, child: 'd', state: 'failed', result: null, error: 'boom' }]);
    assert.match(text, /^2 sessions you started have ended/);
    assert.ok(text.includes('## c (run 1): finished\ndone'));
    assert.ok(text.includes('## d (run 1): failed\nError: boom\n(no result)'));
  });

  it('cuts a long result and says which command prints all of it', () => {
    const text = callbackMessage([{ ...base, result: 'x'.repeat(CALLBACK_RESULT_CHARS + 10) }]);
    assert.ok(text.includes(`${'x'.repeat(CALLBACK_RESULT_CHARS)}… [10 more characters: ao-get-result c]`));
    assert.ok(!text.includes('x'.repeat(CALLBACK_RESULT_CHARS + 1)));
  });
});
