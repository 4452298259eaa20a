// Signing in to the dashboard with a one-time login link (`aof dashboard`), in the real Chromium
// against the real runtime process: the code works once, the browser keeps an HttpOnly,
// SameSite=Strict cookie and never the token, the page shows who did what, sign-out ends the
// session, and a viewer's dashboard offers no action.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { Browser, Request } from 'playwright-core';
import { runBin, uniqueName } from '../bin/run-bin.js';
import { ScriptedAgents } from '../support/scripted-agents.js';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, sharedBrowser, newPage, screenshot, releaseBrowser } from './browser.js';

describe('dashboard: login links', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let browser: Browser;
  let agents: ScriptedAgents;
  const stoppedName = uniqueName('stopped');
  let operatorName = '';
  let viewerToken = '';

  const aof = (args: string[], env: Record<string, string> = {}) =>
    runBin('aof', args, { env: { ...stack.clientEnv, ...env }, cwd: stack.projectDir });
  const linkFor = async (env: Record<string, string> = {}) => {
    const made = await aof(['dashboard', '--json'], env);
    assert.equal(made.code, 0, made.stderr);
    return made.json() as { url: string; expires_at: string };
  };

  before(async () => {
    ensureDashboardBuilt();
    [stack, browser] = await Promise.all([TestStack.start({ runtimeProcess: true, agent: 'fake' }), sharedBrowser()]);
    agents = new ScriptedAgents(stack.fake, stack.projectDir);
    const tokens = stack.client().tokens;
    operatorName = uniqueName('otto');
    const operator = (await tokens.create(operatorName, 'operator')).token;
    viewerToken = (await tokens.create(uniqueName('vera'), 'viewer')).token;
    const key = uniqueName('hold');
    await stack.client().sessions.create({ name: stoppedName, prompt: agents.holder(key) });
    await agents.environmentOf(key);
    const stopped = await fetch(`${stack.runtimeUrl}/sessions/${stoppedName}/stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}` },
    });
    assert.equal(stopped.status, 200);
    await writeFile(agents.releaseFile(key), '');
  });
  after(async () => {
    await releaseBrowser(browser);
    await stack?.close();
  });

  it('signs in once with the link; the cookie is HttpOnly and SameSite=Strict; the token is never in a URL; sign-out ends it', async () => {
    const link = await linkFor();
    assert.match(link.url, new RegExp(`^${stack.runtimeUrl}/login\\?code=[A-Za-z0-9_-]+$`));
    assert.ok(Date.parse(link.expires_at) - Date.now() <= 120_000);
    const { context, page } = await newPage(browser);
    const requested: string[] = [];
    page.on('request', (request: Request) => requested.push(request.url()));
    try {
      await page.goto(link.url);
      await page.locator(`[data-session="${stoppedName}"]`).waitFor();
      assert.equal(page.url(), `${stack.runtimeUrl}/`, 'the code is gone from the address');
      const [cookie, ...others] = await context.cookies();
      assert.equal(others.length, 0);
      assert.equal(cookie!.name, 'aof_session');
      assert.equal(cookie!.httpOnly, true);
      assert.equal(cookie!.sameSite, 'Strict');
      assert.equal(cookie!.secure, false, 'Secure only over https');
      assert.equal(await page.evaluate('document.cookie'), '', 'scripts cannot read it');
      assert.equal(await page.evaluate("sessionStorage.getItem('aof.token')"), null);
      assert.equal(await page.getByTestId('signed-in-as').innerText(), 'admin');

      // Who did it: the board and the session page name them.
      const row = page.locator(`[data-session="${stoppedName}"]`);
      assert.match(await row.innerText(), /by admin/);
      assert.match(await row.innerText(), new RegExp(`by ${operatorName} \\(operator\\)`));
      await row.locator('a.row-main').click();
      await page.getByTestId('created-by').waitFor();
      assert.equal(await page.getByTestId('created-by').innerText(), 'admin');
      assert.match(
        await page.getByTestId('run-1-stopped-by').innerText(),
        new RegExp(`stopped by ${operatorName} \\(operator\\)`),
      );
      await screenshot(page, 'session-who');
      // The registry too, through the runtime, with the cookie alone.
      await page.getByRole('link', { name: 'Blueprints' }).click();
      await page.getByRole('heading', { name: 'Blueprints' }).waitFor();
      await page.getByRole('link', { name: 'New blueprint' }).waitFor();

      for (const url of [...requested, page.url()]) assert.ok(!url.includes(stack.token!), `the token is in ${url}`);

      // The code works once.
      const again = await fetch(link.url, { redirect: 'manual' });
      assert.equal(again.status, 403);
      assert.equal(((await again.json()) as { type: string }).type, 'urn:aof:problem:login-link-invalid');

      // A write with the cookie but no Origin (not a page of this dashboard) is refused.
      const session = `aof_session=${cookie!.value}`;
      const blind = await fetch(`${stack.runtimeUrl}/sessions/${stoppedName}/stop`, {
        method: 'POST',
        headers: { cookie: session },
      });
      assert.equal(blind.status, 403);
      assert.equal(((await blind.json()) as { type: string }).type, 'urn:aof:problem:forbidden-origin');
      assert.equal((await fetch(`${stack.runtimeUrl}/sessions`, { headers: { cookie: session } })).status, 200);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'aof needs its token' }).waitFor();
      assert.deepEqual(await context.cookies(), []);
      assert.equal((await fetch(`${stack.runtimeUrl}/sessions`, { headers: { cookie: session } })).status, 401);
    } finally {
      await context.close();
    }
  });

  it("a viewer's link opens a dashboard that reads and offers no action", async () => {
    const link = await linkFor({ AGENT_ORCHESTRATOR_API_TOKEN: viewerToken });
    const { context, page } = await newPage(browser);
    try {
      await page.goto(link.url);
      await page.locator(`[data-session="${stoppedName}"]`).waitFor();
      assert.match(await page.getByTestId('signed-in-as').innerText(), /\(viewer\) · read only$/);
      assert.equal(await page.getByRole('link', { name: 'New session' }).count(), 0);
      await page.locator(`[data-session="${stoppedName}"] a.row-main`).click();
      await page.getByTestId('created-by').waitFor();
      await screenshot(page, 'session-viewer');
      for (const name of ['Resume', 'Stop', 'Delete…'])
        assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button`);
      await page.getByRole('link', { name: 'Runtime' }).click();
      await page.getByTestId('registry-status').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Clean…' }).count(), 0);
      await page.getByRole('link', { name: 'Blueprints' }).click();
      await page.getByRole('heading', { name: 'Blueprints' }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'New blueprint' }).count(), 0);
      // The server refuses anyway: the viewer's cookie cannot stop a session.
      const [cookie] = await context.cookies();
      const refused = await fetch(`${stack.runtimeUrl}/sessions/${stoppedName}/stop`, {
        method: 'POST',
        headers: { cookie: `aof_session=${cookie!.value}`, origin: stack.runtimeUrl },
      });
      assert.equal(refused.status, 403);
      assert.match(((await refused.json()) as { detail: string }).detail, /may not stop sessions: a viewer only reads/);
    } finally {
      await context.close();
    }
  });
});
