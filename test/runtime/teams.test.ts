// Teams of agents, on the fake agent against the fake model (parents, children, callbacks and limits
// are the runtime's, not the CLI's): a parent fans out to children through its Bash tool and is resumed
// once with their outcomes; limits stop runs while they go; callbacks survive a SIGKILL of the runtime;
// bad input gets a 4xx with a problem type. The fake agent takes the CLI's time between turns
// (FAKE_AGENT_TURN_MS), so that "stopped within one model turn" is checked at a real agent's pace.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApiError, type Orchestrator } from '../../sdk/index.js';
import type { Logger } from '../../servers/common/logger.js';
import { repoRoot } from '../support/claude-env.js';
import type { FakeRequest } from '../support/fake-model.js';
import { agentPid, eventually, groupMembers } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

const TOKEN = 'team-secret-token-0123456789';
const aoNew = join(repoRoot, 'bin', 'ao-new');

/** The prompt of the conversation a request belongs to (its first user text). */
function firstPrompt(req: FakeRequest): string {
  const first = req.body.messages.find((m) => m.role === 'user');
  const blocks = typeof first?.content === 'string' ? [{ type: 'text', text: first.content }] : (first?.content ?? []);
  const prompt = blocks.findLast(
    (b) => b.type === 'text' && !(b.text ?? '').trimStart().startsWith('<system-reminder>'),
  );
  return (prompt?.text ?? '').trim();
}

async function problem(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
  return error;
}

describe('teams: parents, children, callbacks and limits', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;
  /** The runtime's log lines (its info lines: stops and run ends). */
  const logged: string[] = [];
  const logger: Logger = {
    info: (message) => logged.push(message),
    warn: (message) => logged.push(message),
    error: (message) => logged.push(message),
  };

  before(async () => {
    stack = await TestStack.start({ token: TOKEN, logger, agent: 'fake', agentEnv: { FAKE_AGENT_TURN_MS: '200' } });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('a parent starts three children with callbacks from its Bash tool and is resumed once with all three outcomes', async () => {
    stack.fake.respond((req) => {
      const prompt = firstPrompt(req);
      if (prompt === 'fan out') {
        if (req.lastUserText.includes('callback from the Agent Orchestrator')) {
          const outcomes = req.lastUserText
            .split('\n')
            .filter((line) => line.startsWith('## '))
            .map((line) => line.slice(3));
          return { text: `FINAL: ${outcomes.join('; ')}` };
        }
        if (req.toolResults.length) return { text: 'Started three workers; I will continue when they report back.' };
        const command = ['w1', 'w2', 'w3'].map((w) => `${aoNew} ${w} -p "work ${w}" --async --callback`).join(' && ');
        return { toolUse: { name: 'Bash', input: { command, description: 'start three workers' } } };
      }
      if (prompt === 'work w2') return { error: { status: 400, message: 'w2 cannot do this' } };
      if (prompt.startsWith('work '))
        return { text: `${prompt.slice(5)} result`, delayMs: prompt === 'work w3' ? 1500 : 0 };
      return { text: 'unexpected' };
    });
    await ao.sessions.create({ name: 'lead', prompt: 'fan out' });
    await eventually(
      'the lead to be resumed and finish',
      async () => {
        const lead = await ao.sessions.get('lead');
        return lead.runs.length === 2 && lead.state === 'finished';
      },
      90_000,
    );

    // The children know their parent without being told: the agent's environment said it.
    const page = await ao.sessions.list({ parent: 'lead' });
    assert.deepEqual(page.sessions.map((c) => c.name).sort(), ['w1', 'w2', 'w3']);
    const children = await Promise.all(page.sessions.map((c) => ao.sessions.get(c.name)));
    for (const child of children) assert.equal(child.callback, true);
    assert.deepEqual(children.map((c) => [c.name, c.state]).sort(), [
      ['w1', 'finished'],
      ['w2', 'failed'],
      ['w3', 'finished'],
    ]);

    const lead = await ao.sessions.get('lead');
    const resume = lead.runs[1]!.prompt;
    assert.match(resume, /## w1 \(run 1\): finished\nw1 result/);
    assert.match(resume, /## w2 \(run 1\): failed\nError: .*w2 cannot do this/);
    assert.match(resume, /## w3 \(run 1\): finished\nw3 result/);
    assert.match(lead.runs[1]!.result ?? '', /^FINAL: (w\d \(run 1\): \w+(; )?){3}$/);

    const callbacks = await ao.sessions.callbacks('lead');
    assert.deepEqual(callbacks.map((c) => [c.child, c.status, c.parent_run]).sort(), [
      ['w1', 'delivered', 2],
      ['w2', 'delivered', 2],
      ['w3', 'delivered', 2],
    ]);
    // Nothing more comes: the lead's second run ending does not resume it again.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal((await ao.sessions.get('lead')).runs.length, 2);

    const tree = await ao.sessions.tree('lead');
    assert.equal(tree.tree.sessions, 4);
    assert.deepEqual(tree.children.map((c) => c.name).sort(), ['w1', 'w2', 'w3']);
    const own = [tree, ...tree.children].reduce((sum, node) => sum + node.cost_usd, 0);
    assert.ok(tree.cost_usd > 0 && tree.children.some((c) => c.cost_usd > 0));
    assert.ok(Math.abs(tree.tree.cost_usd - own) < 1e-6, `${tree.tree.cost_usd} = ${own}`);
    assert.equal(
      tree.tree.usage.input_tokens,
      [tree, ...tree.children].reduce((sum, node) => sum + node.usage.input_tokens, 0),
    );

    // The token reached the agents (the nested ao-new was let in) but no event shows it.
    for (const name of ['lead', 'w1', 'w2', 'w3']) {
      const events = (await ao.sessions.listEvents(name, { limit: 1000 })).events;
      assert.ok(!JSON.stringify(events).includes(TOKEN), `${name}'s events hold the token`);
    }
  });

  it('stops a child that crosses max_cost_usd within one model turn, naming the limit and the amount', async () => {
    stack.fake.respond((req) =>
      firstPrompt(req) === 'spend'
        ? { toolUse: { name: 'Bash', input: { command: 'echo more', description: 'spend' } } }
        : { text: 'ok' },
    );
    const limit = 0.01;
    const before = stack.fake.requests.length;
    await ao.sessions.create({ name: 'spender', prompt: 'spend', parent: null, limits: { max_cost_usd: limit } });
    const result = await ao.sessions.waitForResult('spender', { timeoutMs: 90_000 });
    assert.equal(result.state, 'stopped');
    assert.match(
      result.error ?? '',
      /^budget max_cost_usd of session 'spender' crossed: about \$0\.0\d+ spent \(estimate\), limit \$0\.0100$/,
    );
    // The response whose input alone crossed the limit (at sonnet's $3 per million input tokens);
    // the runtime's estimate counts output too, so it crosses there or earlier. At most one more.
    const requests = stack.fake.requests
      .slice(before)
      .filter((body) => JSON.stringify(body.messages).includes('spend'));
    let spent = 0;
    let crossing = -1;
    for (const [i, body] of requests.entries()) {
      spent += (Math.max(1, Math.ceil(JSON.stringify(body.messages).length / 4)) * 3) / 1e6;
      if (spent > limit) {
        crossing = i;
        break;
      }
    }
    assert.ok(crossing >= 1, `the limit was crossed by the requests made, after the first (at ${crossing + 1})`);
    const all = stack.fake.requests
      .slice(before)
      .filter((body) => JSON.stringify(body.messages).includes('spend')).length;
    assert.ok(all <= crossing + 2, `${all} model requests; the limit was crossed at request ${crossing + 1}`);
  });

  it('stops a run at the first model turn past max_turns', async () => {
    stack.fake.respond((req) =>
      firstPrompt(req) === 'loop'
        ? { toolUse: { name: 'Bash', input: { command: 'echo again', description: 'loop' } } }
        : { text: 'ok' },
    );
    const before = stack.fake.requests.length;
    await ao.sessions.create({ name: 'looper', prompt: 'loop', parent: null, limits: { max_turns: 3 } });
    const result = await ao.sessions.waitForResult('looper', { timeoutMs: 60_000 });
    assert.equal(result.state, 'stopped');
    assert.equal(result.error, 'limit max_turns crossed: 4 model turns in this run, limit 3');
    const made = stack.fake.requests
      .slice(before)
      .filter((body) => JSON.stringify(body.messages).includes('loop')).length;
    assert.ok(made >= 4 && made <= 5, `${made} model requests`);
    // The log says why once (on the run's end line), and that a limit stopped it.
    const lines = logged.filter((line) => line.includes("'looper'"));
    assert.equal(lines.filter((line) => line.includes('limit max_turns crossed')).length, 1, lines.join('\n'));
    assert.ok(
      lines.some((line) => line === "a limit was crossed: stopping session 'looper'"),
      lines.join('\n'),
    );
  });

  it("a descendant crossing its ancestor's tree budget stops the whole subtree, naming the ancestor", async () => {
    stack.fake.respond((req) => {
      const prompt = firstPrompt(req);
      if (prompt === 'idle lead') return { text: 'waiting', delayMs: 60_000 };
      if (prompt === 'burn') return { toolUse: { name: 'Bash', input: { command: 'echo burn', description: 'burn' } } };
      return { text: 'ok', delayMs: 60_000 };
    });
    await ao.sessions.create({
      name: 'budget-lead',
      prompt: 'idle lead',
      parent: null,
      limits: { max_tokens: 20_000 },
    });
    await ao.sessions.create({ name: 'bystander', prompt: 'stand by', parent: 'budget-lead' });
    await ao.sessions.create({ name: 'burner', prompt: 'burn', parent: 'budget-lead' });
    for (const name of ['burner', 'bystander', 'budget-lead']) {
      const result = await ao.sessions.waitForResult(name, { timeoutMs: 90_000 });
      assert.equal(result.state, 'stopped', name);
      assert.match(
        result.error ?? '',
        /^budget max_tokens of session 'budget-lead' crossed: \d+ tokens spent, limit 20000$/,
        name,
      );
    }
    const tree = await ao.sessions.tree('budget-lead');
    assert.ok(tree.tree.usage.input_tokens > 20_000 - tree.tree.usage.output_tokens, JSON.stringify(tree.tree.usage));
  });

  it('limits come from the session, else its blueprint, else a parent that passes them on', async () => {
    stack.fake.respond(() => ({ text: 'ok' }));
    await ao.agents.create({
      name: 'frugal',
      description: 'Works within a budget',
      limits: { max_cost_usd: 0.5, max_turns: 20 },
    });
    const fromBlueprint = await ao.sessions.create({ name: 'thrifty', prompt: 'hi', agent: 'frugal', parent: null });
    assert.deepEqual(fromBlueprint.limits, { max_cost_usd: 0.5, max_turns: 20 });
    assert.deepEqual(fromBlueprint.blueprint?.limits, { max_cost_usd: 0.5, max_turns: 20 });
    const own = await ao.sessions.create({
      name: 'thrifty-own',
      prompt: 'hi',
      agent: 'frugal',
      parent: null,
      limits: { max_turns: 2 },
    });
    assert.deepEqual(own.limits, { max_turns: 2 });
    await ao.sessions.create({
      name: 'passes-on',
      prompt: 'hi',
      parent: null,
      limits: { max_tokens: 1_000_000, inherit: true },
    });
    assert.deepEqual((await ao.sessions.create({ name: 'heir', prompt: 'hi', parent: 'passes-on' })).limits, {
      max_tokens: 1_000_000,
      inherit: true,
    });
    assert.equal((await ao.sessions.create({ name: 'no-heir', prompt: 'hi', parent: 'thrifty' })).limits, undefined);
    const bad = await problem(ao.agents.create({ name: 'spendthrift', description: 'x', limits: { max_turns: 0 } }));
    assert.equal(bad.status, 400);
    assert.ok(
      bad.errors.some((e) => e.field === 'body.limits.max_turns'),
      JSON.stringify(bad.errors),
    );
  });

  it('stops a run past its timeout', async () => {
    stack.fake.respond((req) => (firstPrompt(req) === 'slow' ? { text: 'late', delayMs: 30_000 } : { text: 'ok' }));
    const started = Date.now();
    await ao.sessions.create({ name: 'slowpoke', prompt: 'slow', parent: null, limits: { timeout_seconds: 2 } });
    const result = await ao.sessions.waitForResult('slowpoke', { timeoutMs: 30_000 });
    assert.equal(result.state, 'stopped');
    assert.equal(result.error, 'limit timeout_seconds crossed: the run went on for more than 2 s');
    assert.ok(Date.now() - started < 15_000);
  });

  it('drops the callbacks of a parent stopped by a person', async () => {
    stack.fake.respond((req) =>
      firstPrompt(req) === 'busy' ? { text: 'done', delayMs: 60_000 } : { text: 'child done' },
    );
    await ao.sessions.create({ name: 'busy-parent', prompt: 'busy', parent: null });
    await ao.sessions.create({ name: 'quick-child', prompt: 'quick', parent: 'busy-parent', callback: true });
    await ao.sessions.waitForResult('quick-child', { timeoutMs: 30_000 });
    await ao.sessions.stop('busy-parent');
    await eventually(
      'the callback to be dropped',
      async () => (await ao.sessions.callbacks('busy-parent'))[0]?.status === 'dropped',
    );
    const [callback] = await ao.sessions.callbacks('busy-parent');
    assert.equal(callback!.reason, 'the parent session was stopped by a person');
    assert.equal((await ao.sessions.get('busy-parent')).runs.length, 1);
  });

  it('stops and deletes a whole tree', async () => {
    stack.fake.respond(() => ({ text: 'slow', delayMs: 60_000 }));
    await ao.sessions.create({ name: 'root', prompt: 'r', parent: null });
    await ao.sessions.create({ name: 'mid', prompt: 'm', parent: 'root' });
    await ao.sessions.create({ name: 'leaf', prompt: 'l', parent: 'mid' });
    const stopped = await ao.sessions.stop('root', { tree: true });
    assert.equal(stopped.state, 'stopped');
    for (const name of ['mid', 'leaf']) assert.equal((await ao.sessions.status(name)).state, 'stopped');
    const tree = await ao.sessions.tree('root');
    assert.deepEqual([tree.name, tree.children[0]?.name, tree.children[0]?.children[0]?.name], ['root', 'mid', 'leaf']);
    await ao.sessions.delete('root', { tree: true });
    for (const name of ['root', 'mid', 'leaf']) assert.equal((await problem(ao.sessions.get(name))).status, 404);
  });

  it('refuses a missing parent, a cycle, a negative budget and a callback without a parent', async () => {
    const missing = await problem(ao.sessions.create({ name: 'orphan', prompt: 'x', parent: 'nobody' }));
    assert.equal(missing.status, 422);
    assert.equal(missing.problem?.type, 'urn:aof:problem:parent-not-found');
    assert.deepEqual(
      missing.errors.map((e) => e.field),
      ['body.parent'],
    );
    const cycle = await problem(ao.sessions.create({ name: 'selfish', prompt: 'x', parent: 'selfish' }));
    assert.equal(cycle.problem?.type, 'urn:aof:problem:parent-cycle');
    const negative = await problem(
      ao.sessions.create({ name: 'cheap', prompt: 'x', parent: null, limits: { max_cost_usd: -1 } }),
    );
    assert.equal(negative.status, 400);
    assert.ok(
      negative.errors.some((e) => e.field === 'body.limits.max_cost_usd'),
      JSON.stringify(negative.errors),
    );
    const lonely = await problem(ao.sessions.create({ name: 'lonely', prompt: 'x', parent: null, callback: true }));
    assert.equal(lonely.status, 422);
    assert.deepEqual(
      lonely.errors.map((e) => e.field),
      ['body.callback'],
    );
    for (const name of ['orphan', 'selfish', 'cheap', 'lonely'])
      assert.equal((await problem(ao.sessions.get(name))).status, 404);
  });
});

describe('teams: callbacks survive a crash of the runtime', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ runtimeProcess: true, agent: 'fake' });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('delivers pending callbacks exactly once after a SIGKILL and two restarts', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.fake.respond(async (req) => {
      const prompt = firstPrompt(req);
      if (prompt === 'coordinate' && !req.lastUserText.includes('callback from the Agent Orchestrator')) {
        await released;
        return { text: 'coordinated' };
      }
      if (prompt === 'coordinate')
        return { text: `got ${req.lastUserText.split('\n').filter((l) => l.startsWith('## ')).length} results` };
      return { text: `${prompt} done` };
    });
    await ao.sessions.create({ name: 'boss', prompt: 'coordinate' });
    for (const name of ['job1', 'job2'])
      await ao.sessions.create({ name, prompt: name, parent: 'boss', callback: true });
    for (const name of ['job1', 'job2'])
      assert.equal((await ao.sessions.waitForResult(name, { timeoutMs: 30_000 })).state, 'finished');
    await eventually(
      'both callbacks pending',
      async () => (await ao.sessions.callbacks('boss')).filter((c) => c.status === 'pending').length === 2,
    );

    const bossAgent = agentPid(stack.dataDir, 'boss');
    await stack.killRuntime();
    release(); // the boss's agent ends while no runtime watches
    await eventually("the boss's agent ended", () => groupMembers(bossAgent).length === 0);
    await stack.startRuntime();
    ao = stack.client();
    await eventually(
      'the boss resumed and finished',
      async () => {
        const boss = await ao.sessions.get('boss');
        return boss.runs.length === 2 && boss.state === 'finished';
      },
      60_000,
    );
    assert.equal((await ao.sessions.get('boss')).runs[1]!.result, 'got 2 results');

    await stack.killRuntime();
    await stack.startRuntime();
    ao = stack.client();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await ao.sessions.get('boss')).runs.length, 2, 'no callback delivered twice');
    const callbacks = await ao.sessions.callbacks('boss');
    assert.deepEqual(callbacks.map((c) => [c.child, c.status, c.parent_run]).sort(), [
      ['job1', 'delivered', 2],
      ['job2', 'delivered', 2],
    ]);
  });
});
