// The dashboard behind a token, and a page from another origin that tries to use both APIs.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, sharedBrowser, newPage, screenshot, releaseBrowser } from './browser.js';

const TOKEN = 'dashboard-browser-token-7f3a';

describe('dashboard: token and origins', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    ensureDashboardBuilt();
    [stack, browser] = await Promise.all([TestStack.start({ executor: 'none', token: TOKEN }), sharedBrowser()]);
    await stack.client().sessions.create({ name: 'guarded', prompt: 'x' });
  });
  after(async () => {
    await releaseBrowser(browser);
    await stack?.close();
  });

  it('asks for the token, says when it is wrong, then works, and keeps it out of URLs and the console', async () => {
    const { context, page } = await newPage(browser);
    const consoleLines: string[] = [];
    page.on('console', (message) => consoleLines.push(message.text()));
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    try {
      await page.goto(`${stack.runtimeUrl}/`);
      await page.getByRole('heading', { name: 'aof needs its token' }).waitFor();
      await page.getByLabel('API token').fill('not-the-token');
      await page.getByRole('button', { name: 'Open the dashboard' }).click();
      await page.getByText('That token is wrong').waitFor();
      await screenshot(page, 'token');
      await page.getByLabel('API token').fill(TOKEN);
      await page.getByRole('button', { name: 'Open the dashboard' }).click();
      await page.locator('[data-session="guarded"]').waitFor();
      // Kept for this tab: a reload does not ask again.
      await page.reload();
      await page.locator('[data-session="guarded"]').waitFor();
      assert.equal(await page.evaluate("sessionStorage.getItem('aof.token')"), TOKEN);
      assert.equal(await page.evaluate("localStorage.getItem('aof.token')"), null);
      assert.ok(requested.length > 3);
      for (const url of [...requested, page.url()]) assert.ok(!url.includes(TOKEN), `the token is in ${url}`);
      for (const line of consoleLines) assert.ok(!line.includes(TOKEN), `the token is in the console: ${line}`);
      // Forgetting it brings the prompt back.
      await page.getByRole('button', { name: 'Forget token' }).click();
      await page.getByRole('heading', { name: 'aof needs its token' }).waitFor();
      assert.equal(await page.evaluate("sessionStorage.getItem('aof.token')"), null);
    } finally {
      await context.close();
    }
  });
});

describe('dashboard: a page from another origin', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    // No token: the Origin check alone stands between a hostile page and the APIs.
    [stack, browser] = await Promise.all([TestStack.start({ executor: 'none' }), sharedBrowser()]);
    await stack.client().sessions.create({ name: 'victim', prompt: 'x' });
  });
  after(async () => {
    await releaseBrowser(browser);
    await stack?.close();
  });

  it('can call neither API: reads are blocked, and writes that need no preflight are refused', async () => {
    const evil = await serveEvilPage(attackScript(stack.runtimeUrl, stack.registry.url, TOKEN));
    const { context, page } = await newPage(browser);
    try {
      await page.goto(`${evil.url}/`);
      await page.waitForFunction('window.results !== undefined');
      const results = await page.evaluate('window.results');
      assert.deepEqual(results, {
        runtimeList: 'blocked',
        registryList: 'blocked',
        proxiedList: 'blocked',
        runtimeCreate: 'blocked',
        registryCreate: 'blocked',
        stop: 'sent',
      });
      // The no-cors POST to stop reached the runtime (no preflight), which refused it: still queued.
      const ao = stack.client();
      assert.equal((await ao.sessions.status('victim')).state, 'queued');
      assert.deepEqual(
        (await ao.sessions.list()).sessions.map((s) => s.name),
        ['victim'],
      );
      assert.deepEqual(await ao.agents.list(), []);
    } finally {
      await context.close();
      await evil.close();
    }
  });
});

/** What a hostile page would try: read and write both APIs, with the token (in case it leaked). */
function attackScript(runtime: string, registry: string, token: string): string {
  return `
    const attempt = async (url, init = {}) => {
      try { const response = await fetch(url, init); return 'read ' + response.status; } catch { return 'blocked'; }
    };
    const bearer = { Authorization: 'Bearer ${token}' };
    (async () => {
      window.results = {
        runtimeList: await attempt('${runtime}/sessions', { headers: bearer }),
        registryList: await attempt('${registry}/agents', { headers: bearer }),
        proxiedList: await attempt('${runtime}/registry/agents', { headers: bearer }),
        runtimeCreate: await attempt('${runtime}/sessions', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ name: 'evil', prompt: 'x' }) }),
        registryCreate: await attempt('${registry}/agents', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ name: 'evil', description: 'x' }) }),
        // A cross-site form post: the page cannot read the answer, but the request is sent.
        stop: await fetch('${runtime}/sessions/victim/stop', { method: 'POST', mode: 'no-cors' }).then(() => 'sent', () => 'blocked'),
      };
    })();`;
}

/** A page on another loopback port: what a hostile site would serve. */
async function serveEvilPage(script: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>evil</title><p>nothing to see</p><script>${script}</script>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
