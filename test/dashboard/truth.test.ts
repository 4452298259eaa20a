// What the dashboard says must be true and readable: the question that waits for a person heads the
// board, costs read as `ao-usage` reads them, the New session form asks where the agent works and
// states the name rule, the blueprint editor shows every setting, long texts neither widen the page
// nor render a million characters, questions and answers stand on the timeline, runs show wall time.
// Real Chromium against the real runtime; the runs are reported through the API as a remote runner
// reports them (no executor), so each state can be set up exactly.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { formatDuration } from '../../dashboard/src/attention.js';
import type { Orchestrator } from '../../sdk/index.js';
import { formatUsd, NAME_RULE, NotFoundError } from '../../sdk/index.js';
import type { EventInput } from '../../sdk/types.js';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, sharedBrowser, newPage, screenshot, releaseBrowser } from './browser.js';

const USAGE = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

describe('dashboard: true numbers and plain words', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    ensureDashboardBuilt();
    [stack, browser] = await Promise.all([TestStack.start({ executor: 'none' }), sharedBrowser()]);
    ao = stack.client();
    ({ context, page } = await newPage(browser));
    await ao.agents.create({
      name: 'careful',
      description: 'asks before it acts',
      approval: { timeout_seconds: 3600 },
    });
  });
  after(async () => {
    await context?.close();
    await releaseBrowser(browser);
    await stack?.close();
  });

  /** A session whose run started, reported `events`, and (unless `running`) ended with `cost`. */
  async function session(
    name: string,
    options: { cost?: number; events?: EventInput[]; running?: boolean; agent?: string; prompt?: string } = {},
  ): Promise<void> {
    await ao.sessions.create({
      name,
      prompt: options.prompt ?? `task ${name}`,
      project_dir: stack.projectDir,
      ...(options.agent ? { agent: options.agent } : {}),
    });
    await ao.sessions.appendEvents(name, [
      { type: 'session_start', data: { claude_session_id: `c-${name}`, model: 'claude-sonnet-4-5' } },
      ...(options.events ?? []),
    ]);
    if (!options.running) await end(name, options.cost ?? 0);
  }

  async function end(name: string, cost: number): Promise<void> {
    await ao.sessions.appendEvents(name, [
      {
        type: 'result',
        data: { is_error: false, text: `done ${name}`, total_cost_usd: cost, duration_ms: 1234, usage: USAGE },
      },
      { type: 'session_stop', data: { reason: 'exited', exit_code: 0 } },
    ]);
  }

  it('New session: an empty project dir is refused beside the field, and recent ones are offered', async () => {
    await session('earlier');
    await page.goto(`${stack.runtimeUrl}/#/new`);
    await page.getByLabel('Name').fill('nowhere');
    await page.getByLabel('Prompt').fill('x');
    // The project dirs of recent sessions are the choices offered.
    await page.locator(`#recent-project-dirs option[value="${stack.projectDir}"]`).waitFor({ state: 'attached' });
    await page.getByRole('button', { name: 'Start session' }).click();
    const error = page.locator('.field-error[data-field="project_dir"]');
    await error.waitFor();
    assert.match(await error.innerText(), /where the agent works/);
    await screenshot(page, 'new-session-no-dir');
    await assert.rejects(ao.sessions.get('nowhere'), NotFoundError);
  });

  it('New session: the name rule comes from the contract, stated once in words, and is checked before sending', async () => {
    await page.goto(`${stack.runtimeUrl}/#/new`);
    const hint = page.locator('.field', { has: page.getByLabel('Name') }).locator('small');
    assert.equal(await hint.innerText(), NAME_RULE.words);
    assert.doesNotMatch(NAME_RULE.words, /dot/);
    await page.getByLabel('Name').fill('my.name');
    await page.getByLabel('Project dir').fill(stack.projectDir);
    await page.getByLabel('Prompt').fill('x');
    await page.getByRole('button', { name: 'Start session' }).click();
    const error = page.locator('.field-error[data-field="name"]');
    await error.waitFor();
    const text = await error.innerText();
    assert.match(text, /letters, digits, _ and -, starting with a letter or digit; 1 to 60 characters/);
    assert.doesNotMatch(text, /[\^$[\]]|body\./, 'no regular expression, no API field');
    assert.equal((await ao.sessions.list({ prefix: 'my' })).sessions.length, 0, 'nothing was sent');
  });

  it('the board lists a session that waits for an answer first, as waiting and not stalled', async () => {
    await session('broke', { events: [], running: true });
    await ao.sessions.appendEvents('broke', [{ type: 'session_stop', data: { reason: 'crashed', exit_code: 1 } }]);
    await session('asking', {
      agent: 'careful',
      running: true,
      events: [{ type: 'pre_tool', data: { tool_use_id: 'tu-1', tool: 'Bash', input: { command: 'make clean' } } }],
    });
    await ao.approvals.ask('asking', { tool: 'Bash', input: { command: 'make clean' }, tool_use_id: 'tu-1' });

    await page.goto(`${stack.runtimeUrl}/`);
    await page.locator('[data-section="waiting"] [data-session="asking"]').waitFor();
    await page.locator('[data-section="failed"] [data-session="broke"]').waitFor();
    const order = await page
      .locator('.board-section')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-section')));
    assert.equal(order[0], 'waiting', `sections in order: ${order.join(', ')}`);
    assert.equal(await page.locator('[data-section="running"] [data-session="asking"]').count(), 0, 'listed once');
    assert.match(await page.locator('[data-section="waiting"] h2').innerText(), /waiting for you/i);
    assert.equal(await page.locator('[data-session="asking"].stalled').count(), 0);
    assert.match(await page.locator('[data-session="asking"] .row-cost').innerText(), /\$0\.0000 so far/);
    await page.waitForFunction(() => /1 asks you/.test((globalThis as any).document.title));
    await screenshot(page, 'board-waiting');
  });

  it('shows the question and its answer on the timeline, and previews each tool call in its collapsed row', async () => {
    await page.goto(`${stack.runtimeUrl}/#/sessions/asking`);
    const question = page.locator('.ev-approval', { hasText: 'Bash' });
    await question.waitFor();
    assert.ok(await question.locator('pre', { hasText: 'make clean' }).isVisible(), 'the question is open, not folded');
    assert.match(await question.innerText(), /waits for your answer/);
    const tool = page.locator('.ev-tool', { hasText: 'Bash' });
    assert.equal(await tool.locator('details').getAttribute('open'), null, 'the tool row is collapsed');
    assert.match(await tool.locator('summary').innerText(), /make clean/);

    const row = page.locator('.approval', { hasText: 'Bash' });
    await row.getByLabel('Message for the agent').fill('Not on a Friday');
    await row.getByRole('button', { name: 'Deny' }).click();
    await question.locator('.answer', { hasText: 'denied by admin' }).waitFor();
    assert.match(await question.innerText(), /Not on a Friday/);
    await screenshot(page, 'session-question-answered', { fullPage: true });
  });

  it('usage and the board read costs as ao-usage does; the chart axis tells its ticks apart', async () => {
    await session('cheap', { cost: 0.0042 });
    await session('pricier', { cost: 0.0121, agent: 'careful' });
    await page.goto(`${stack.runtimeUrl}/`);
    const pricier = page.locator('[data-session="pricier"] .row-cost');
    await pricier.waitFor();
    assert.match(await pricier.innerText(), /\$0\.0121/);

    const total = (await ao.sessions.list()).sessions.reduce((sum, s) => sum + s.totals.cost_usd, 0);
    assert.ok(Math.abs(total - 0.0163) < 1e-9);
    // 'asking' still runs (it waits for an answer): the runtime counts it at an estimate, so the sum
    // holds one, and ao-usage (the same report) marks it ~.
    const report = (await ao.sessions.usage()).totals;
    assert.ok(Math.abs(report.cost_usd - total) < 1e-9);
    assert.equal(report.estimated, true, 'a run still going makes the total an estimate');
    await page.goto(`${stack.runtimeUrl}/#/usage`);
    await page.locator('.chart canvas').waitFor();
    assert.equal(await page.getByTestId('total-cost').innerText(), formatUsd(report.cost_usd, report.estimated));
    assert.equal(formatUsd(total, true), '~$0.0163');
    // Per day (the first tab) are the report's days, as ao-usage prints them: a run on the day it started.
    const days = (await ao.sessions.usage()).days;
    const dayRows = page.locator('table.usage tbody tr');
    await dayRows.first().waitFor();
    assert.deepEqual(
      await dayRows.evaluateAll((rows) =>
        rows.map((r) => [r.querySelector('th')?.textContent, r.children[2]?.textContent]),
      ),
      days.map((d) => [d.day, String(d.runs)]),
    );
    assert.match(await page.locator('p.muted.small').innerText(), /a run counts on the day \(UTC\) it started/);
    // Per blueprint, bars of $0.0042 and $0.0121: ticks a fraction of a cent apart.
    await page.getByRole('tab', { name: 'Per blueprint' }).click();
    await page.locator('table.usage tbody th', { hasText: 'careful' }).waitFor();
    const axis = (await page.locator('.chart').getAttribute('data-cost-axis'))?.split(' ') ?? [];
    assert.ok(axis.length >= 3, `axis labels: ${axis.join(', ')}`);
    assert.equal(new Set(axis).size, axis.length, `every label differs: ${axis.join(', ')}`);
    await screenshot(page, 'usage-small-costs');
  });

  it('a running run shows its wall time so far and its cost as an estimate until it ends; an ended one, both times exact', async () => {
    await session('timed', { running: true });
    await page.goto(`${stack.runtimeUrl}/#/sessions/timed`);
    const figures = page.getByTestId('run-1-figures');
    await figures.filter({ hasText: 'so far' }).waitFor();
    assert.match(await figures.innerText(), /cost when it ends/);
    // The runtime counts the running run at an estimate (nothing billed so far reported: ~$0.0000).
    const live = (await ao.sessions.get('timed')).totals;
    assert.equal(live.estimated, true);
    const cost = page.getByTestId('cost');
    assert.equal(await cost.innerText(), `${formatUsd(live.cost_usd, true)} · so far: an estimate until the run ends`);
    assert.match(await page.getByTestId('wall-time').innerText(), /so far/);

    await end('timed', 0.5);
    await page.locator('[data-testid="session-state"]', { hasText: 'finished' }).waitFor();
    const run = (await ao.sessions.get('timed')).runs[0]!;
    const wall = Date.parse(run.ended_at!) - Date.parse(run.started_at!);
    await figures.filter({ hasText: 'Claude Code: 1.2 s' }).waitFor();
    const text = await figures.innerText();
    assert.ok(text.startsWith(formatDuration(wall)), `wall time ${formatDuration(wall)} first: ${text}`);
    assert.match(text, /\$0\.5000/);
    assert.equal(await page.getByTestId('wall-time').innerText(), formatDuration(wall));
    // Ended: the exact figure, no longer marked as an estimate.
    assert.equal((await ao.sessions.get('timed')).totals.estimated, false);
    await cost.filter({ hasText: '$0.5000' }).waitFor();
    assert.equal(await cost.innerText(), '$0.5000');
  });

  it('wraps long unbroken text and folds a huge prompt behind "Show all"', async () => {
    const token = 'x'.repeat(3000);
    await session('wide', {
      prompt: 'word '.repeat(190_000),
      events: [
        { type: 'message', data: { role: 'assistant', text: `A long token: ${token}` } },
        { type: 'pre_tool', data: { tool_use_id: 'tu-w', tool: 'Read', input: { file_path: `/tmp/${token}` } } },
        { type: 'post_tool', data: { tool_use_id: 'tu-w', tool: 'Read', output: token, is_error: false } },
      ],
    });
    await page.goto(`${stack.runtimeUrl}/#/sessions/wide`);
    await page.locator('.ev-message.assistant').waitFor();
    await page.locator('.ev-tool summary').click();
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);

    const prompt = page.locator('[data-run="1"] details');
    await prompt.locator('summary').click();
    const shown = prompt.locator('pre');
    const folded = (await shown.innerText()).length;
    assert.ok(folded < 5000, `${folded} characters shown before "Show all"`);
    await prompt.getByRole('button', { name: 'Show all' }).click();
    await prompt.getByRole('button', { name: 'Show less' }).waitFor();
    assert.equal((await shown.innerText()).length, 'word '.repeat(190_000).length);
  });

  it('the blueprint editor shows approval mode, limits, worktree, checkpoints and output schema; the list marks approval mode', async () => {
    const schema = { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } };
    await ao.agents.create({
      name: 'guarded',
      description: 'all the settings',
      approval: { timeout_seconds: 900, on_timeout: 'allow' },
      worktree: true,
      checkpoint: true,
      limits: { max_cost_usd: 0.5, max_turns: 7 },
      output_schema: schema,
    });
    await page.goto(`${stack.runtimeUrl}/#/blueprints`);
    const listed = page.locator('[data-blueprint="guarded"]');
    await listed.locator('.badge.asks', { hasText: 'asks first' }).waitFor();
    assert.equal(await page.locator('[data-blueprint="careful"] .badge.asks').count(), 1);

    await listed.locator('.row-main').click();
    await page.getByLabel(/approval mode/).waitFor();
    assert.equal(await page.getByLabel(/approval mode/).isChecked(), true);
    assert.equal(await page.getByLabel('Wait for an answer (seconds)').inputValue(), '900');
    assert.equal(await page.getByLabel('Unanswered at the timeout').inputValue(), 'allow');
    assert.equal(await page.getByLabel('Max cost (USD)').inputValue(), '0.5');
    assert.equal(await page.getByLabel('Max turns per run').inputValue(), '7');
    assert.equal(await page.getByLabel(/own git worktree/).isChecked(), true);
    assert.equal(await page.getByLabel(/checkpoint commit/).isChecked(), true);
    assert.deepEqual(JSON.parse(await page.getByLabel(/Output schema/).inputValue()), schema);
    await screenshot(page, 'blueprint-all-settings', { fullPage: true });

    // Changed here, kept there; an unchecked approval mode is removed.
    await page.getByLabel('Max cost (USD)').fill('1.25');
    await page.getByLabel(/approval mode/).uncheck();
    await page.getByLabel(/checkpoint commit/).uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-blueprint="guarded"]').waitFor();
    const saved = await ao.agents.get('guarded');
    assert.deepEqual(saved.limits, { max_cost_usd: 1.25, max_turns: 7 });
    assert.equal(saved.approval, undefined);
    assert.equal(saved.worktree, true);
    assert.equal(saved.checkpoint, undefined, 'an unchecked checkpoint is removed');
    assert.deepEqual(saved.output_schema, schema);
    assert.equal(await page.locator('[data-blueprint="guarded"] .badge.asks').count(), 0);
  });
});
