// A person answers an agent's question from the dashboard: the board marks the session that asks,
// the session view shows the question, Approve lets the tool run, Deny sends the message to the model.
// Real Chromium, the real servers, the real Claude Code CLI in approval mode against the fake model.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Orchestrator } from '../../sdk/index.js';
import { TEST_MODEL } from '../support/claude-env.js';
import type { FakeRequest } from '../support/fake-model.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, sharedBrowser, newPage, screenshot, releaseBrowser } from './browser.js';

describe('dashboard: answering approval requests', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    ensureDashboardBuilt();
    [stack, browser] = await Promise.all([TestStack.start(), sharedBrowser()]);
    ao = stack.client();
    ({ context, page } = await newPage(browser));
    await ao.agents.create({ name: 'careful', description: 'asks before it acts', model: TEST_MODEL, approval: {} });
  });
  after(async () => {
    await context?.close();
    await releaseBrowser(browser);
    await stack?.close();
  });

  /** The model asks once to run `command` with Bash, then reports what the tool said. */
  function bashOnce(command: string): FakeRequest[] {
    const seen: FakeRequest[] = [];
    stack.fake.respond((req) => {
      seen.push(req);
      if (!req.toolResults.length)
        return { toolUse: { name: 'Bash', input: { command, description: 'write a file' } } };
      return { text: `tool said (error=${req.toolResults[0]!.is_error}): ${req.toolResults[0]!.text}` };
    });
    return seen;
  }

  it('the board marks the asking session; Approve in the session view lets the command run', async () => {
    const file = join(stack.projectDir, 'approved.txt');
    bashOnce(`echo yes > ${file}`);
    await ao.sessions.create({ name: 'asks-ok', prompt: 'write the file', agent: 'careful' });

    await page.goto(`${stack.runtimeUrl}/`);
    await page.locator('[data-session="asks-ok"] .badge.asks', { hasText: 'asks you' }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'board-asks');

    await page.goto(`${stack.runtimeUrl}/#/sessions/asks-ok`);
    const row = page.locator('.approval', { hasText: 'Bash' });
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.innerText(), /approved\.txt/);
    await screenshot(page, 'session-approval');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.locator('[data-testid="session-state"]', { hasText: 'finished' }).waitFor({ timeout: 30_000 });
    assert.equal(readFileSync(file, 'utf8'), 'yes\n');
    assert.equal(await page.locator('.approval').count(), 0, 'no question is left');
    // The question and its answer stay on the timeline, in the open.
    const asked = page.locator('.ev-approval', { hasText: 'Bash' });
    assert.match(await asked.locator('pre').innerText(), /approved\.txt/);
    await asked.locator('.answer', { hasText: 'approved by admin' }).waitFor();
    const [answered] = await ao.approvals.list({ session: 'asks-ok' });
    assert.equal(answered?.state, 'approved');
    assert.equal(answered?.answered_by, 'person');
  });

  it('Deny with a message: the command does not run and the model reads the message', async () => {
    const file = join(stack.projectDir, 'denied.txt');
    const seen = bashOnce(`echo no > ${file}`);
    await ao.sessions.create({ name: 'asks-no', prompt: 'write the file', agent: 'careful' });

    await page.goto(`${stack.runtimeUrl}/#/sessions/asks-no`);
    const row = page.locator('.approval', { hasText: 'Bash' });
    await row.waitFor({ timeout: 30_000 });
    await row.getByLabel('Message for the agent').fill('Write it into notes.md instead');
    await row.getByRole('button', { name: 'Deny' }).click();
    await page.locator('[data-testid="session-state"]', { hasText: 'finished' }).waitFor({ timeout: 30_000 });
    assert.equal(existsSync(file), false);
    await page
      .locator('.ev-approval .answer', { hasText: 'denied by admin' })
      .filter({ hasText: 'Write it into notes.md instead' })
      .waitFor();
    await eventually('the model to hear the denial', () =>
      seen.some((req) => req.toolResults.some((r) => r.is_error && r.text.includes('Write it into notes.md instead'))),
    );
    const [answered] = await ao.approvals.list({ session: 'asks-no' });
    assert.equal(answered?.state, 'denied');
  });
});
