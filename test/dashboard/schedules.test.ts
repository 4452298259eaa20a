// The dashboard's Schedules tab: each schedule's next and last firing, a schedule's firings with their
// sessions and outcomes, and Pause / Run now. Real Chromium, the real servers, the fake agent.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Orchestrator } from '../../sdk/index.js';
import { signatureOf } from '../../servers/runtime/trigger-rules.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, sharedBrowser, newPage, screenshot, releaseBrowser } from './browser.js';

describe('dashboard: schedules', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    ensureDashboardBuilt();
    [stack, browser] = await Promise.all([TestStack.start({ agent: 'fake' }), sharedBrowser()]);
    ao = stack.client();
    ({ context, page } = await newPage(browser));
  });
  after(async () => {
    await context?.close();
    await releaseBrowser(browser);
    await stack?.close();
  });

  it('lists schedules with their next and last firing, shows firings, and pauses and fires on a click', async () => {
    await ao.schedules.create({ name: 'hourly', every: '1h', prompt: 'Look around at {time}' });
    await ao.schedules.runNow('hourly');
    const fired = await eventually('the first firing to finish', async () =>
      (await ao.schedules.get('hourly')).firings.find((f) => f.outcome === 'finished'),
    );
    const { next_fire_at } = (await ao.schedules.get('hourly')).schedule;
    assert.ok(next_fire_at);

    await page.goto(`${stack.runtimeUrl}/#/schedules`);
    const row = page.locator('table[aria-label="Schedules"] tr', { hasText: 'hourly' });
    await row.locator('a', { hasText: fired.session! }).waitFor({ timeout: 20_000 });
    const text = await row.innerText();
    assert.match(text, /every 1h/);
    // The next firing, in the browser's words for its time.
    const shown = await page.evaluate((iso) => new Date(iso).toLocaleString(), next_fire_at!);
    assert.ok(text.includes(shown), `${text} shows ${shown}`);

    await row.getByRole('link', { name: 'hourly', exact: true }).click();
    const firings = page.locator('table[aria-label="Firings of hourly"]');
    await firings.locator('tr', { hasText: 'finished' }).waitFor({ timeout: 20_000 });
    assert.match(await firings.innerText(), /run now/);
    await screenshot(page, 'schedules');

    await row.getByRole('button', { name: 'Pause' }).click();
    await eventually('the schedule to be paused', async () => (await ao.schedules.get('hourly')).schedule.paused);
    await row.getByRole('button', { name: 'Resume' }).waitFor({ timeout: 10_000 });
    await row.getByRole('button', { name: 'Run now' }).click();
    await eventually('a second firing', async () => (await ao.schedules.get('hourly')).firings.length === 2);
  });

  it("lists each trigger's recent deliveries and what they did", async () => {
    const secret = 'dashboard-trigger-secret-1234';
    await ao.triggers.create({
      name: 'issues',
      secret,
      prompt: 'Triage {payload.title}',
      filter: 'action == "opened"',
    });
    for (const [id, action] of [
      ['gh-1', 'opened'],
      ['gh-2', 'closed'],
    ] as const) {
      const body = JSON.stringify({ action, title: 'Broken build' });
      const response = await fetch(`${stack.runtimeUrl}/triggers/issues`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-delivery': id,
          'x-hub-signature-256': signatureOf(secret, body),
        },
        body,
      });
      assert.equal(response.status, 202);
    }
    await page.goto(`${stack.runtimeUrl}/#/schedules`);
    const table = page.locator('table[aria-label="Deliveries of issues"]');
    // Each row as it stands once its delivery was acted on: the page was on this view already (the test
    // above), and its refresh may have read a delivery between its receipt and its outcome; the next
    // refresh shows the outcome.
    await table.locator('tr', { hasText: 'gh-1' }).filter({ hasText: 'started' }).waitFor({ timeout: 20_000 });
    await table.locator('tr', { hasText: 'gh-2' }).filter({ hasText: 'filtered' }).waitFor({ timeout: 20_000 });
    const rows = await table.locator('tbody tr').allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(rows.find((r) => r.includes('gh-1'))!, /started\s+issues-\d{8}-\d{6}/);
    assert.match(rows.find((r) => r.includes('gh-2'))!, /filtered\s+—\s+the filter is false for this event/);
    assert.ok(!(await page.content()).includes(secret));
  });
});
