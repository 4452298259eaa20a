// The dashboard in a real headless Chromium against the real servers and the real Claude Code CLI
// (talking to the fake model): start, watch, resume, stop and delete sessions; blueprints; usage;
// the runtime view. Each view is saved as a screenshot for docs/dashboard.md.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Orchestrator } from '../../sdk/index.js';
import { formatUsd, NotFoundError } from '../../sdk/index.js';
import type { FakeRequest } from '../support/fake-model.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, sharedBrowser, newPage, screenshot, releaseBrowser } from './browser.js';

describe('dashboard: sessions and blueprints in the browser', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    ensureDashboardBuilt();
    [stack, browser] = await Promise.all([TestStack.start({ executorOptions: { maxConcurrent: 2 } }), sharedBrowser()]);
    ao = stack.client();
    ({ context, page } = await newPage(browser));
  });
  after(async () => {
    await context?.close();
    await releaseBrowser(browser);
    await stack?.close();
  });

  it('starts a session from the form; its events appear live, it finishes, and the open board follows', async () => {
    await ao.agents.create({ name: 'writer', description: 'Writes short notes', system_prompt: 'Be brief.' });
    // The model first calls a tool (slowly enough to watch), then answers in Markdown, but only once the
    // open board has shown the session running: however slow the machine, the run lasts until then.
    let boardSawItRunning!: () => void;
    const runningSeen = new Promise<void>((resolve) => {
      boardSawItRunning = resolve;
    });
    stack.fake.respond(async (req: FakeRequest) => {
      if (!req.toolResults.length)
        return { toolUse: { name: 'Bash', input: { command: 'echo dashboard-tool-output' } }, delayMs: 600 };
      await runningSeen;
      return { text: 'Wrote **notes.txt** with:\n\n- one\n- two', delayMs: 600 };
    });

    const board = await context.newPage();
    await board.goto(`${stack.runtimeUrl}/`);
    await board.getByRole('heading', { name: 'Sessions' }).waitFor();
    await board.getByText('No sessions yet.').waitFor();

    await page.goto(`${stack.runtimeUrl}/#/new`);
    await page.getByLabel('Name').fill('notes');
    await page.getByLabel('Blueprint').selectOption('writer');
    await page.getByLabel('Project dir').fill(stack.projectDir);
    await page.getByLabel('Prompt').fill('Write notes.txt');
    await screenshot(page, 'new-session');
    await page.getByRole('button', { name: 'Start session' }).click();

    await page.waitForURL(/#\/sessions\/notes$/);
    // Live: the tool call shows while the model is still answering, then its output, then the answer.
    const tool = page.locator('.ev-tool', { hasText: 'Bash' });
    await tool.waitFor();
    try {
      await board.locator('[data-section="running"] [data-session="notes"]').waitFor({ timeout: 20_000 });
    } finally {
      boardSawItRunning();
    }
    await page.locator('.ev-message.assistant strong', { hasText: 'notes.txt' }).waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="session-state"]', { hasText: 'finished' }).waitFor({ timeout: 20_000 });
    await tool.locator('summary').click();
    assert.match(await tool.innerText(), /dashboard-tool-output/);
    assert.match(await tool.innerText(), /echo dashboard-tool-output/);
    assert.match(await page.locator('.facts').innerText(), /writer/);
    assert.match(await page.locator('.facts').innerText(), new RegExp(stack.projectDir.replace(/[/.]/g, '\\$&')));
    const conversation = (await ao.sessions.get('notes')).claude_session_id!;
    assert.match(await page.locator('.facts').innerText(), new RegExp(conversation));
    assert.match(await page.locator('.copy').first().innerText(), /ao-resume notes -p/);
    await screenshot(page, 'session', { fullPage: true });
    await page.getByLabel('Raw JSON').check();
    const raw = JSON.parse(await page.getByTestId('raw-events').innerText()) as Array<{ type: string }>;
    assert.deepEqual(
      raw.map((e) => e.type),
      (await ao.sessions.listEvents('notes', { limit: 500 })).events.map((e) => e.type),
    );
    await page.getByLabel('Raw JSON').uncheck();

    // The board, never reloaded, moved the session from running to finished.
    await board.locator('[data-section="finished"] [data-session="notes"]').waitFor({ timeout: 10_000 });
    assert.equal(await board.locator('[data-state="finished"] .count-n').innerText(), '1');
    await board.close();
  });

  it('resumes it with a prompt, stops a slow run, and deletes it after confirming', async () => {
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    await page.goto(`${stack.runtimeUrl}/#/sessions/notes`);
    // An empty prompt: it says so under the prompt, and nothing is queued.
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.locator('#resume-error', { hasText: 'Say what the agent should do next' }).waitFor();
    assert.equal((await ao.sessions.get('notes')).runs.length, 1);
    await page.getByLabel('Resume with a prompt').fill('Add a third item');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.locator('[data-run="2"].state-finished').waitFor({ timeout: 30_000 });
    await page.locator('.ev-message.assistant', { hasText: 'ECHO: Add a third item' }).waitFor();

    // A run that never answers: stop it from the page.
    stack.fake.respond(() => ({ text: 'too late', delayMs: 120_000 }));
    await page.getByLabel('Resume with a prompt').fill('Think for a long time');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.locator('[data-testid="session-state"]', { hasText: 'running' }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('[data-testid="session-state"]', { hasText: 'stopped' }).waitFor({ timeout: 20_000 });
    assert.equal((await ao.sessions.status('notes')).state, 'stopped');

    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await ao.sessions.get('notes')).name, 'notes'); // cancelled: still there
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await page.waitForURL(/#\/$/);
    await assert.rejects(ao.sessions.get('notes'), NotFoundError);
  });

  it("shows the server's message beside the field it names", async () => {
    await page.goto(`${stack.runtimeUrl}/#/new`);
    await page.getByLabel('Name').fill('bad name!');
    await page.getByLabel('Prompt').fill('x');
    await page.getByRole('button', { name: 'Start session' }).click();
    const error = page.locator('.field-error[data-field="name"]');
    await error.waitFor();
    assert.match(await error.innerText(), /letters, digits/);
    await page.getByLabel('Name').fill('relative-dir');
    await page.getByLabel('Project dir').fill('not/absolute');
    await page.getByRole('button', { name: 'Start session' }).click();
    const dirError = page.locator('.field-error[data-field="project_dir"]');
    await dirError.waitFor();
    // Beside the field it names, in the runtime's words, without the API's name for the field.
    assert.match(await dirError.innerText(), /^Must be an absolute path/);
    await screenshot(page, 'field-error');
    await assert.rejects(ao.sessions.get('relative-dir'), NotFoundError);
  });

  it("creates, edits, deactivates and deletes a blueprint; a bad field shows the server's message", async () => {
    await page.goto(`${stack.runtimeUrl}/#/blueprints/+new`);
    await page.getByLabel('Name').fill('reviewer');
    await page.getByLabel('Description').fill('Reviews code for error handling');
    await page.getByLabel('System prompt').fill('You are a strict reviewer.');
    // Not JSON: caught before sending.
    await page.getByLabel(/MCP servers/).fill('{ nope');
    await page.getByRole('button', { name: 'Create blueprint' }).click();
    await page.locator('.field-error[data-field="bp-mcp_servers"]', { hasText: 'not valid JSON' }).waitFor();
    // JSON, but not a valid server: the registry's message, beside the field.
    await page.getByLabel(/MCP servers/).fill('{ "files": { "command": 42 } }');
    await page.getByRole('button', { name: 'Create blueprint' }).click();
    const mcpError = page.locator('.field-error[data-field="bp-mcp_servers"]');
    await mcpError.filter({ hasText: 'files.command' }).waitFor();
    assert.doesNotMatch(await mcpError.innerText(), /body\./);
    await screenshot(page, 'blueprint-error');
    await page.getByLabel(/MCP servers/).fill('{ "files": { "command": "npx", "args": ["-y", "files-mcp"] } }');
    await page.getByLabel('Allowed tools', { exact: true }).fill('Read, Grep');
    await page.getByRole('button', { name: 'Create blueprint' }).click();
    await page.locator('[data-blueprint="reviewer"]').waitFor();
    const created = await ao.agents.get('reviewer');
    assert.deepEqual(created.mcp_servers, { files: { command: 'npx', args: ['-y', 'files-mcp'] } });
    assert.deepEqual(created.allowed_tools, ['Read', 'Grep']);

    await page.locator('[data-blueprint="reviewer"] .row-main').click();
    // The form shows the saved blueprint before it is edited (what it was created with).
    await page.locator('#bp-form-title', { hasText: 'Blueprint reviewer' }).waitFor();
    await eventually(
      'the form to show the saved blueprint',
      async () => (await page.getByLabel('Allowed tools', { exact: true }).inputValue()) === 'Read, Grep',
    );
    await page.getByLabel('Model').fill('claude-opus-4-1');
    await page.getByLabel('Permission mode').selectOption('plan');
    await page.getByLabel('Allowed tools', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-blueprint="reviewer"]').waitFor();
    // The registry has the edit once the form's request is answered; wait for that, not for the list.
    const edited = await eventually('the edited blueprint', async () => {
      const agent = await ao.agents.get('reviewer');
      return agent.permission_mode === 'plan' ? agent : undefined;
    });
    assert.equal(edited.model, 'claude-opus-4-1');
    assert.equal(edited.permission_mode, 'plan');
    assert.equal(edited.allowed_tools, undefined);
    await screenshot(page, 'blueprints');

    await page.locator('[data-blueprint="reviewer"]').getByRole('button', { name: 'Deactivate' }).click();
    await page.locator('[data-blueprint="reviewer"]').getByRole('button', { name: 'Activate' }).waitFor();
    assert.equal((await ao.agents.get('reviewer')).status, 'inactive');
    await page.locator('[data-blueprint="reviewer"]').getByRole('button', { name: 'Delete…' }).click();
    await page.locator('[data-blueprint="reviewer"]').getByRole('button', { name: 'Delete for good' }).click();
    await page.locator('[data-blueprint="reviewer"]').waitFor({ state: 'detached' });
    await assert.rejects(ao.agents.get('reviewer'), NotFoundError);
  });

  it('shows usage per day, blueprint and session with totals, and exports CSV', async () => {
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    await ao.sessions.create({ name: 'usage-a', prompt: 'one', agent: 'writer' });
    await ao.sessions.create({ name: 'usage-b', prompt: 'two' });
    await ao.sessions.waitForResult('usage-a', { timeoutMs: 30_000 });
    await ao.sessions.waitForResult('usage-b', { timeoutMs: 30_000 });
    const listed = (await ao.sessions.list()).sessions;
    const cost = listed.reduce((sum, s) => sum + s.totals.cost_usd, 0);
    assert.deepEqual(listed.map((s) => s.name).sort(), ['usage-a', 'usage-b']);
    await page.goto(`${stack.runtimeUrl}/#/usage`);
    await page.locator('.chart canvas').waitFor();
    assert.equal(await page.getByTestId('total-cost').innerText(), formatUsd(cost));
    await screenshot(page, 'usage');
    await page.getByRole('tab', { name: 'Per blueprint' }).click();
    await page.locator('table.usage tbody th', { hasText: 'writer' }).waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await download;
    const csv = await streamText(await file.createReadStream());
    assert.match(csv, /^blueprint,sessions,runs,/);
    assert.match(csv, /\r\nwriter,1,1,/);
    assert.match(csv, /\r\n\(none\),1,1,/);
    assert.match(csv, /\r\ntotal,2,2,/);

    // Which sessions use a blueprint: counted on its row, listed on the board filtered by it.
    await page.goto(`${stack.runtimeUrl}/#/blueprints`);
    const writer = page.locator('[data-blueprint="writer"]');
    await writer.getByRole('link', { name: '1 session' }).click();
    await page.locator('[data-session="usage-a"]').waitFor();
    assert.deepEqual(await page.locator('.row-name').allInnerTexts(), ['usage-a']);
  });

  it('shows the runtime: running against the cap, the queue, version, data dir, the registry', async () => {
    stack.fake.respond(() => ({ text: 'slow', delayMs: 120_000 }));
    for (const name of ['busy-1', 'busy-2', 'waiting-1', 'waiting-2'])
      await ao.sessions.create({ name, prompt: 'wait' });
    await page.goto(`${stack.runtimeUrl}/#/runtime`);
    await page.getByRole('heading', { name: 'Running 2 of 2' }).waitFor({ timeout: 20_000 });
    assert.deepEqual(await page.locator('.queue li a').allInnerTexts(), ['waiting-1', 'waiting-2']);
    assert.match(await page.locator('.facts').innerText(), new RegExp(stack.dataDir.replace(/[/.]/g, '\\$&')));
    assert.match(await page.getByTestId('registry-status').innerText(), /answers/);
    // The last hour, as GET /runtime tells it: the runs of the tests above ended, each with a duration.
    const { last_hour } = await ao.runtimeInfo();
    assert.ok(last_hour.runs_ended > 0 && last_hour.time_to_first_event_seconds.count > 0, JSON.stringify(last_hour));
    assert.match(
      await page.getByTestId('last-hour').innerText(),
      new RegExp(`Last hour\\s+${last_hour.runs_ended} runs ended`),
    );
    assert.match(await page.getByTestId('run-duration').innerText(), /^[\d.]+ m?s \(p90 [\d.]+ m?s\)$/);
    assert.match(await page.getByTestId('time-to-first-event').innerText(), /^[\d.]+ m?s \(p90 [\d.]+ m?s\)$/);
    await screenshot(page, 'runtime');

    // The board, with failed and running first; the tab title counts them.
    await page.goto(`${stack.runtimeUrl}/`);
    await page.locator('[data-section="running"] [data-session="busy-2"]').waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => /2 running/.test((globalThis as any).document.title));
    await screenshot(page, 'board');

    // Clean, confirmed: every session goes.
    await page.goto(`${stack.runtimeUrl}/#/runtime`);
    await page.getByRole('button', { name: 'Clean…' }).click();
    await page.getByRole('button', { name: 'Delete all sessions' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Deleted \d+ sessions/ })
      .waitFor({ timeout: 20_000 });
    assert.equal((await ao.sessions.list()).sessions.length, 0);
  });

  it('works from the keyboard: Tab reaches the menu, Enter follows it, the form sends with Enter', async () => {
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    await page.goto(`${stack.runtimeUrl}/`);
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    let focused = '';
    for (let i = 0; i < 6 && focused !== 'New session'; i++) {
      await page.keyboard.press('Tab');
      focused = String(await page.evaluate('document.activeElement.textContent'));
    }
    assert.equal(focused, 'New session');
    await page.keyboard.press('Enter');
    await page.getByLabel('Name').waitFor();
    await page.getByLabel('Name').focus();
    await page.keyboard.type('by-keyboard');
    await page.keyboard.press('Tab'); // blueprint
    await page.keyboard.press('Tab'); // project dir
    await page.keyboard.type(stack.projectDir);
    await page.keyboard.press('Tab'); // prompt
    await page.keyboard.type('typed, not clicked');
    await page.getByLabel('Name').press('Enter');
    await page.waitForURL(/#\/sessions\/by-keyboard$/);
    assert.equal(
      (await ao.sessions.waitForResult('by-keyboard', { timeoutMs: 30_000 })).result,
      'ECHO: typed, not clicked',
    );
  });

  it('is readable at phone width and in dark mode', async () => {
    await ao.sessions.create({ name: 'phone', prompt: 'x' });
    const phone = await newPage(browser, { width: 390, height: 760, colorScheme: 'dark' });
    try {
      await phone.page.goto(`${stack.runtimeUrl}/`);
      await phone.page.locator('[data-session="phone"]').waitFor();
      const overflow = await phone.page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 390px`);
      const background = await phone.page.evaluate('getComputedStyle(document.body).backgroundColor');
      assert.equal(background, 'rgb(16, 18, 21)');
      await screenshot(phone.page, 'board-phone-dark');
    } finally {
      await phone.context.close();
    }
  });
});

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
