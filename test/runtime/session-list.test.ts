// GET /sessions as pages of summaries: order by last activity, cursors, filters, counts, bad input;
// and the SDK's page iterator. The real runtime with no executor: events posted through the API
// move the runs, as a remote executor would.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Orchestrator } from '../../sdk/index.js';
import type { EventInput, SessionSummary } from '../../sdk/types.js';
import { rawRequest } from '../support/servers.js';
import { TestStack } from '../support/stack.js';

const finish: EventInput[] = [
  {
    type: 'result',
    data: {
      is_error: false,
      text: 'done',
      num_turns: 1,
      duration_ms: 7,
      total_cost_usd: 0.25,
      usage: { input_tokens: 3, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  },
  { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'completed' } },
];
const fail = (reason: string): EventInput[] => [{ type: 'session_stop', data: { exit_code: 1, signal: null, reason } }];

/** List order: last activity first, then name. */
const order = (a: { updated_at: string; name: string }, b: { updated_at: string; name: string }) =>
  a.updated_at !== b.updated_at ? (a.updated_at > b.updated_at ? -1 : 1) : a.name < b.name ? -1 : 1;

describe('runtime: paged session list', () => {
  let stack: TestStack;
  let ao: Orchestrator;
  let otherDir: string;
  const get = (query: string) => rawRequest(stack.runtimeUrl, { path: `/sessions${query}` });

  before(async () => {
    stack = await TestStack.start({ executor: 'none' });
    ao = stack.client();
    otherDir = join(stack.root, 'elsewhere');
    await mkdir(otherDir, { recursive: true });
    await ao.agents.create({ name: 'reviewer', description: 'reviews' });
    // 23 sessions: 10 finished "batch-", 5 failed "batch-", 4 queued "solo-" in another dir, 4 by the reviewer.
    for (let i = 0; i < 10; i++) {
      await ao.sessions.create({ name: `batch-ok-${i}`, prompt: `secret prompt ${i}` });
      await ao.sessions.appendEvents(`batch-ok-${i}`, finish);
    }
    for (let i = 0; i < 5; i++) {
      await ao.sessions.create({ name: `batch-bad-${i}`, prompt: 'x' });
      await ao.sessions.appendEvents(`batch-bad-${i}`, fail(i === 0 ? 'E'.repeat(2000) : 'boom'));
    }
    for (let i = 0; i < 4; i++) await ao.sessions.create({ name: `solo-${i}`, prompt: 'x', project_dir: otherDir });
    for (let i = 0; i < 4; i++) await ao.sessions.create({ name: `rev-${i}`, prompt: 'x', agent: 'reviewer' });
  });
  after(async () => stack?.close());

  async function expectedOrder(): Promise<string[]> {
    const all = await Promise.all(
      (await ao.sessions.list({ limit: 500 })).sessions.map((s) => ao.sessions.get(s.name)),
    );
    return all.sort(order).map((s) => s.name);
  }

  it('answers a first page of summaries with counts of every state', async () => {
    const page = await ao.sessions.list();
    assert.equal(page.sessions.length, 23);
    assert.equal(page.next_cursor, null);
    assert.deepEqual(page.counts, { queued: 8, running: 0, finished: 10, failed: 5, stopped: 0 });
    const ok = page.sessions.find((s) => s.name === 'batch-ok-3')!;
    assert.deepEqual(Object.keys(ok).sort(), [
      'agent',
      'created_at',
      'created_by',
      'last_resumed_at',
      'last_run',
      'name',
      'parent',
      'pending_approvals',
      'project_dir',
      'runs',
      'state',
      'totals',
      'updated_at',
    ]);
    assert.equal(ok.runs, 1);
    assert.equal(ok.state, 'finished');
    assert.equal(ok.last_run.state, 'finished');
    assert.equal(ok.totals.cost_usd, 0.25);
    assert.equal(ok.totals.usage.input_tokens, 3);
    assert.ok(!JSON.stringify(page).includes('secret prompt'), 'no prompts in a list');
    const long = page.sessions.find((s) => s.name === 'batch-bad-0')!;
    assert.equal(long.last_run.error!.length, 500, 'errors are cut to 500 characters');
    assert.equal(
      (await ao.sessions.get('batch-bad-0')).runs[0]!.error!.length,
      2000,
      'the whole session keeps the whole error',
    );
  });

  it('orders by last activity, then name, and walks pages with the cursor without gaps or repeats', async () => {
    const expected = await expectedOrder();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await ao.sessions.list({ limit: 4, cursor });
      assert.ok(page.sessions.length <= 4);
      seen.push(...page.sessions.map((s) => s.name));
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, expected);
    assert.equal(pages, 6);
  });

  it('moves a session to the front when it is active again', async () => {
    await ao.sessions.appendEvents('solo-0', [{ type: 'message', data: { role: 'assistant', text: 'working' } }]);
    const [first] = (await ao.sessions.list({ limit: 1 })).sessions;
    assert.equal(first!.name, 'solo-0');
    assert.equal(first!.state, 'running');
  });

  it('filters by state (one or several), agent, name prefix and project dir, combined', async () => {
    const names = async (query: string) => {
      const r = await get(query);
      assert.equal(r.status, 200, r.text);
      return (r.json.sessions as SessionSummary[]).map((s) => s.name).sort();
    };
    assert.deepEqual(await names('?state=failed'), [
      'batch-bad-0',
      'batch-bad-1',
      'batch-bad-2',
      'batch-bad-3',
      'batch-bad-4',
    ]);
    assert.equal((await names('?state=failed&state=finished')).length, 15);
    assert.deepEqual(await names('?agent=reviewer'), ['rev-0', 'rev-1', 'rev-2', 'rev-3']);
    assert.deepEqual(await names('?prefix=solo-'), ['solo-0', 'solo-1', 'solo-2', 'solo-3']);
    assert.deepEqual(await names(`?project_dir=${encodeURIComponent(otherDir)}&state=queued`), [
      'solo-1',
      'solo-2',
      'solo-3',
    ]);
    assert.deepEqual(await names('?prefix=batch-&state=failed&limit=2&agent=reviewer'), []);
    const page = await ao.sessions.list({ state: ['failed', 'stopped'], limit: 3 });
    assert.equal(page.sessions.length, 3);
    assert.ok(page.next_cursor);
    assert.equal(page.counts.finished, 10, 'counts ignore the filters');
    const next = await ao.sessions.list({ state: ['failed', 'stopped'], limit: 3, cursor: page.next_cursor });
    assert.deepEqual(
      next.sessions.map((s) => s.state),
      ['failed', 'failed'],
    );
    assert.equal(next.next_cursor, null);
  });

  it('refuses a bad cursor, limit or state with a 400 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['?cursor=not-a-cursor', 'query.cursor'],
      [`?cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`, 'query.cursor'],
      [`?cursor=${Buffer.from('{"a":1}').toString('base64url')}`, 'query.cursor'],
      ['?cursor=%25%25', 'query.cursor'],
      ['?limit=0', 'query.limit'],
      ['?limit=501', 'query.limit'],
      ['?limit=ten', 'query.limit'],
      ['?state=done', 'query.state.0'],
      ['?state=failed&state=nope', 'query.state.1'],
      ['?agent=bad%20name', 'query.agent'],
      ['?order=name', 'query.order'],
    ];
    for (const [query, field] of cases) {
      const r = await get(query);
      assert.equal(r.status, 400, `${query}: ${r.text}`);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      assert.ok(
        r.json.errors.some((e: { field: string }) => e.field === field),
        `${query}: ${r.text}`,
      );
    }
  });

  it('keeps a page walk consistent when sessions are deleted between pages', async () => {
    await ao.sessions.create({ name: 'doomed-a', prompt: 'x' });
    await ao.sessions.create({ name: 'doomed-b', prompt: 'x' });
    const before = await expectedOrder();
    const first = await ao.sessions.list({ limit: 5 });
    await ao.sessions.delete(first.sessions[1]!.name); // already seen
    const notYetSeen = before[7]!;
    await ao.sessions.delete(notYetSeen);
    const rest: string[] = [];
    for (let cursor = first.next_cursor; cursor; ) {
      const page = await ao.sessions.list({ limit: 5, cursor });
      rest.push(...page.sessions.map((s) => s.name));
      cursor = page.next_cursor;
    }
    assert.deepEqual(
      rest,
      before.slice(5).filter((n) => n !== notYetSeen),
    );
  });

  it('the SDK iterates every page lazily, and stops requesting on break', async () => {
    let requests = 0;
    const counting = new Orchestrator({
      runtimeUrl: stack.runtimeUrl,
      registryUrl: stack.registry.url,
      token: null,
      fetch: (request) => {
        requests++;
        return fetch(request);
      },
    });
    const all: string[] = [];
    for await (const s of counting.sessions.iterate({ limit: 2 })) all.push(s.name);
    assert.deepEqual(all, await expectedOrder());
    assert.equal(requests, Math.ceil(all.length / 2));

    requests = 0;
    const firstThree: string[] = [];
    for await (const s of counting.sessions.listAll({ limit: 2, state: 'finished' })) {
      firstThree.push(s.name);
      if (firstThree.length === 3) break;
    }
    assert.equal(firstThree.length, 3);
    assert.equal(requests, 2, 'two pages of two for three sessions, then no more requests');
  });
});
