// A board of 1,000 sessions: it renders (a page per state, counts of all), pages on, and stays live.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Orchestrator } from '../../sdk/index.js';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, launchBrowser, newPage } from './browser.js';

const SESSIONS = 1000;

/** Creates `count` queued sessions (no executor runs them), `parallel` requests at a time. */
export async function fillSessions(ao: Orchestrator, count: number, projectDir: string, parallel = 16): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++;
      await ao.sessions.create({ name: `load-${String(i).padStart(5, '0')}`, prompt: `task ${i}`, project_dir: projectDir });
    }
  }));
}

/** Moves a queued session's run to finished, as a remote executor would report it. */
export async function finish(ao: Orchestrator, name: string): Promise<void> {
  await ao.sessions.appendEvents(name, [
    { type: 'session_start', data: { claude_session_id: `c-${name}` } },
    { type: 'message', data: { role: 'assistant', text: `done ${name}` } },
    { type: 'result', data: { is_error: false, text: `done ${name}`, total_cost_usd: 0.01, usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } } },
    { type: 'session_stop', data: { reason: 'exited', exit_code: 0 } },
  ]);
}

describe('dashboard: a board of 1,000 sessions', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let browser: Browser;
  let ao: Orchestrator;

  before(async () => {
    ensureDashboardBuilt();
    [stack, browser] = await Promise.all([TestStack.start({ executor: 'none' }), launchBrowser()]);
    ao = stack.client();
    await fillSessions(ao, SESSIONS, stack.projectDir);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('renders the counts and a first page, pages on, filters, and stays live', async () => {
    const { context, page } = await newPage(browser);
    try {
      await page.goto(stack.runtimeUrl + '/');
      await page.locator('[data-state="queued"] .count-n', { hasText: String(SESSIONS) }).waitFor();
      const rows = page.locator('[data-section="queued"] .row');
      assert.equal(await rows.count(), 50); // one page, not a thousand rows
      await page.getByRole('button', { name: 'Show more queued' }).click();
      await page.waitForFunction(() => document.querySelectorAll('[data-section="queued"] .row').length === 100);

      // Live: a run reported finished moves to the finished section, the counts follow.
      await finish(ao, 'load-00007');
      await page.locator('[data-section="finished"] [data-session="load-00007"]').waitFor({ timeout: 10_000 });
      await page.locator('[data-state="queued"] .count-n', { hasText: String(SESSIONS - 1) }).waitFor();
      // A new session appears without a reload.
      await ao.sessions.create({ name: 'brand-new', prompt: 'x', project_dir: stack.projectDir });
      await page.locator('[data-section="queued"] [data-session="brand-new"]').waitFor({ timeout: 10_000 });

      // Search by name prefix, served by the runtime's filter.
      await page.getByLabel('Name starts with').fill('load-0099');
      await page.waitForFunction(() => document.querySelectorAll('[data-section="queued"] .row').length === 10);
      assert.deepEqual(await page.locator('[data-section="queued"] .row-name').allInnerTexts(), Array.from({ length: 10 }, (_, i) => `load-0099${9 - i}`));
    } finally {
      await context.close();
    }
  });
});
