// A board of 1,000 sessions: it renders (a page per state, counts of all), pages on, and stays live.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Orchestrator } from '../../sdk/index.js';
import { fillSessions, finish } from './load.js';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, sharedBrowser, newPage, releaseBrowser } from './browser.js';

const SESSIONS = 1000;

describe('dashboard: a board of 1,000 sessions', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let browser: Browser;
  let ao: Orchestrator;

  before(async () => {
    ensureDashboardBuilt();
    [stack, browser] = await Promise.all([TestStack.start({ executor: 'none' }), sharedBrowser()]);
    ao = stack.client();
    await fillSessions(ao, SESSIONS, stack.projectDir);
  });
  after(async () => {
    await releaseBrowser(browser);
    await stack?.close();
  });

  it('renders the counts and a first page, pages on, filters, and stays live', async () => {
    const { context, page } = await newPage(browser);
    try {
      await page.goto(`${stack.runtimeUrl}/`);
      await page.locator('[data-state="queued"] .count-n', { hasText: String(SESSIONS) }).waitFor();
      const rows = page.locator('[data-section="queued"] .row');
      assert.equal(await rows.count(), 50); // one page, not a thousand rows
      await page.getByRole('button', { name: 'Show more queued' }).click();
      await page.waitForFunction(
        () => (globalThis as any).document.querySelectorAll('[data-section="queued"] .row').length === 100,
      );

      // Live: a run reported finished moves to the finished section, the counts follow.
      await finish(ao, 'load-00007');
      await page.locator('[data-section="finished"] [data-session="load-00007"]').waitFor({ timeout: 10_000 });
      await page.locator('[data-state="queued"] .count-n', { hasText: String(SESSIONS - 1) }).waitFor();
      // A new session appears without a reload.
      await ao.sessions.create({ name: 'brand-new', prompt: 'x', project_dir: stack.projectDir });
      await page.locator('[data-section="queued"] [data-session="brand-new"]').waitFor({ timeout: 10_000 });

      // Search by name prefix, served by the runtime's filter.
      await page.getByLabel('Name starts with').fill('load-0099');
      await page.waitForFunction(
        () => (globalThis as any).document.querySelectorAll('[data-section="queued"] .row').length === 10,
      );
      // In the runtime's order (last activity first; sessions made in the same millisecond by name).
      const expected = (await ao.sessions.list({ state: 'queued', prefix: 'load-0099' })).sessions.map((s) => s.name);
      assert.deepEqual(
        [...expected].sort(),
        Array.from({ length: 10 }, (_, i) => `load-0099${i}`),
      );
      assert.deepEqual(await page.locator('[data-section="queued"] .row-name').allInnerTexts(), expected);
    } finally {
      await context.close();
    }
  });
});
