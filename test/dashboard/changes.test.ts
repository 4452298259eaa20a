// The session view's Changes tab: what an agent wrote in its worktree (the real Claude Code CLI on
// the fake model), listed by file and drawn as a unified diff with line numbers and syntax colours;
// a file the size cap cut is loaded whole on request. Real Chromium, the real servers, real git.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Orchestrator } from '../../sdk/index.js';
import { fakeGitHub, GITHUB_TOKEN } from '../support/fake-github.js';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { git, initRepo } from '../support/git.js';
import { TestStack } from '../support/stack.js';
import { ensureDashboardBuilt, sharedBrowser, newPage, screenshotDir, releaseBrowser } from './browser.js';

const prompts: string[] = [];

/** The model writes src/feature.ts with a function in it, then says so. */
function responder(req: FakeRequest): Reply {
  if (req.toolResults.length) return { text: 'Added the feature.' };
  prompts.push(req.lastUserText);
  const cwd = /Primary working directory: (\S+)/.exec(req.system)?.[1] ?? '/nowhere';
  return {
    toolUse: {
      name: 'Write',
      input: {
        file_path: join(cwd, 'src', 'feature.ts'),
        content: 'export function feature(name: string): string {\n  return `hello ${name}`;\n}\n',
      },
    },
  };
}

describe('dashboard: the Changes tab', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let repo: string;
  let github: Awaited<ReturnType<typeof fakeGitHub>>;

  before(async () => {
    ensureDashboardBuilt();
    github = await fakeGitHub('acme', 'widgets');
    [stack, browser] = await Promise.all([
      TestStack.start({ github: { apiUrl: github.url, token: GITHUB_TOKEN } }),
      sharedBrowser(),
    ]);
    stack.fake.respond(responder);
    ao = stack.client();
    ({ context, page } = await newPage(browser));
    repo = initRepo(join(stack.root, 'repo'), { 'src/app.ts': 'export const app = 1;\n', 'README.md': '# Project\n' });
    const remote = join(stack.root, 'remotes', 'acme', 'widgets.git');
    mkdirSync(remote, { recursive: true });
    git(remote, 'init', '--quiet', '--bare', '--initial-branch=main');
    git(repo, 'remote', 'add', 'origin', remote);
    git(repo, 'push', '--quiet', 'origin', 'main');
  });
  after(async () => {
    await context?.close();
    await releaseBrowser(browser);
    await stack?.close();
    await github?.close();
  });

  it('lists the files the agent changed and draws each diff, coloured, unified or side by side; the checkpoints; a cut file loads whole', async () => {
    await ao.sessions.create({
      name: 'feature',
      prompt: 'Add the feature',
      project_dir: repo,
      worktree: true,
      checkpoint: true,
    });
    assert.equal((await ao.sessions.waitForResult('feature', { timeoutMs: 40_000 })).state, 'finished');
    const { path } = (await ao.sessions.get('feature')).worktree!;
    // More work on top, by hand: an edit (a file long enough for the cap to cut comes later).
    writeFileSync(join(path, 'src', 'app.ts'), 'export const app = 2;\n');

    await page.goto(`${stack.runtimeUrl}/#/sessions/feature`);
    await page.locator('[data-testid="session-state"]', { hasText: 'finished' }).waitFor({ timeout: 30_000 });
    await page.getByRole('tab', { name: /Changes/ }).click();
    const summary = page.getByTestId('changes-summary');
    await summary.waitFor();
    assert.match(
      await summary.innerText(),
      /^2 files changed \+4 −1 on aof\/feature against [0-9a-f]{12}, uncommitted work included$/,
    );
    await page.locator('.hljs-keyword').first().waitFor();
    await page.locator('.changes').screenshot({ path: join(screenshotDir, 'session-changes.png') });

    // Run 1's checkpoint: the agent's file, committed when the run ended (the edit by hand came after).
    assert.match(
      (await page.getByTestId('checkpoints').innerText()).replace(/\s+/g, ' '),
      /^Run 1 [0-9a-f]{12} \+3 −0 src\/feature\.ts · /,
    );
    // Side by side: the old file beside the new one, in the same colours; the choice is kept.
    await page.getByRole('button', { name: 'Side by side' }).click();
    const appSplit = page.locator('[data-file="src/app.ts"] table.split tr.pair');
    await appSplit.first().waitFor();
    assert.deepEqual(
      (await appSplit.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()),
      ['1 export const app = 1; 1 export const app = 2;'],
    );
    assert.equal(await appSplit.locator('td.del').count(), 2, 'the old line on the left');
    assert.equal(await appSplit.locator('td.add').count(), 2, 'the new line on the right');
    const featureSplit = page.locator('[data-file="src/feature.ts"] table.split');
    assert.equal(await featureSplit.locator('tr.pair').count(), 3);
    assert.equal(
      await featureSplit.locator('tr.pair').first().locator('td.empty').count(),
      2,
      'nothing left of an added line',
    );
    assert.equal(await featureSplit.locator('.hljs-keyword', { hasText: 'function' }).count(), 1);
    await page.getByRole('button', { name: 'Comment on line 2 of src/feature.ts' }).waitFor();
    await page.locator('.changes').screenshot({ path: join(screenshotDir, 'session-changes-side-by-side.png') });
    await page.reload();
    await page.getByRole('tab', { name: /Changes/ }).click();
    await featureSplit.waitFor();
    assert.equal(await page.getByRole('button', { name: 'Side by side' }).getAttribute('aria-pressed'), 'true');
    await page.getByRole('button', { name: 'Unified' }).click();
    await page.locator('[data-file="src/feature.ts"] table.diff:not(.split)').waitFor();
    assert.equal(await page.locator('table.split').count(), 0);

    writeFileSync(
      join(path, 'data.json'),
      `${JSON.stringify(
        Array.from({ length: 3000 }, (_, i) => String(i).padStart(100, 'x')),
        null,
        1,
      )}\n`,
    );
    await page.getByRole('button', { name: 'Refresh' }).click();
    await summary.getByText('3 files changed').waitFor();
    assert.match(
      await summary.innerText(),
      /^3 files changed \+3006 −1 on aof\/feature against [0-9a-f]{12}, uncommitted work included$/,
    );

    const tree = page.getByRole('navigation', { name: 'Changed files' });
    assert.deepEqual(
      (await tree.locator('li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()),
      ['A data.json +3002 −0', 'M app.ts +1 −1', 'A feature.ts +3 −0'],
    );
    assert.match(await tree.innerText(), /src\//);

    const feature = page.locator('[data-file="src/feature.ts"]');
    assert.match(await feature.locator('header').innerText(), /added src\/feature\.ts \+3 −0/);
    const added = feature.locator('tr.add');
    assert.equal(await added.count(), 3);
    assert.equal(
      (await added.first().innerText()).replace(/\s+/g, ' ').trim(),
      '1 +export function feature(name: string): string {',
    );
    // highlight.js coloured the TypeScript: the keyword and the template string have their classes.
    assert.equal(await feature.locator('.hljs-keyword', { hasText: 'function' }).count(), 1);
    assert.equal(await feature.locator('.hljs-string').count(), 1);
    const app = page.locator('[data-file="src/app.ts"]');
    assert.equal(
      await app
        .locator('tr.del')
        .innerText()
        .then((t) => t.replace(/\s+/g, ' ').trim()),
      '1 -export const app = 1;',
    );
    assert.equal(
      await app
        .locator('tr.add')
        .innerText()
        .then((t) => t.replace(/\s+/g, ' ').trim()),
      '1 +export const app = 2;',
    );

    // data.json is over a quarter of the cap: cut, with a way to see it whole.
    const data = page.locator('[data-file="data.json"]');
    await data.getByText('Cut short: its diff is over the size cap.').waitFor();
    assert.ok((await data.locator('tr.add').count()) < 3002);
    await tree.getByRole('link', { name: /feature\.ts/ }).click();
    await data.getByRole('button', { name: 'Show it whole' }).click();
    await data.locator('tr.add').nth(3001).waitFor({ timeout: 30_000 });
    assert.equal(await data.getByText('Cut short').count(), 0);

    // Back to the activity: the runs and events are still there.
    await page.getByRole('tab', { name: 'Activity' }).click();
    await page.locator('.ev-message.assistant', { hasText: 'Added the feature.' }).waitFor();
  });

  it('comments on lines go back to the session as one review; its next run gets them quoted', async () => {
    await page.goto(`${stack.runtimeUrl}/#/sessions/feature`);
    await page.getByRole('tab', { name: /Changes/ }).click();
    await page.getByRole('button', { name: 'Comment on line 2 of src/feature.ts' }).click();
    await page.getByLabel('Your comment on line 2 of src/feature.ts').fill('Greet with "hi" instead');
    await page.getByRole('button', { name: 'Add comment' }).click();
    await page.getByRole('button', { name: 'Comment on line 1 of src/app.ts' }).click();
    await page.getByLabel('Your comment on line 1 of src/app.ts').fill('Why 2?');
    await page.getByRole('button', { name: 'Add comment' }).click();
    const review = page.getByRole('region', { name: 'Review' });
    await review.getByText('2 comments').waitFor();
    await review.getByLabel('A word on the whole review (optional)').fill('Then run the tests.');
    await page.locator('[data-file="src/feature.ts"]').screenshot({ path: join(screenshotDir, 'session-review.png') });
    await review.getByRole('button', { name: 'Send review' }).click();
    // Sent: the box goes, and the review's run (the second) is queued; the page still read 'finished'
    // from the first run until then, so the wait is for the second run's end itself.
    await review.waitFor({ state: 'detached' });
    assert.equal((await ao.sessions.get('feature')).runs.length, 2);
    await ao.sessions.waitForResult('feature', { timeoutMs: 30_000 });
    await page.locator('[data-testid="session-state"]', { hasText: 'finished' }).waitFor({ timeout: 30_000 });
    const session = await ao.sessions.get('feature');
    assert.equal(session.runs.length, 2);
    assert.equal(session.runs[1]!.state, 'finished');
    const expected = [
      'A review of your changes (branch aof/feature) asks for these:',
      '',
      '1. src/feature.ts, line 2:',
      '   >   return `hello ${name}`;',
      '   Greet with "hi" instead',
      '',
      '2. src/app.ts, line 1:',
      '   > export const app = 2;',
      '   Why 2?',
      '',
      'Then run the tests.',
      '',
      'Make these changes in your working directory, then say what you changed.',
    ].join('\n');
    assert.equal(session.runs[1]!.prompt, expected);
    assert.equal(prompts.at(-1), expected, 'the model read the review');
  });

  it("Open pull request pushes the branch and opens one on GitHub, described from the session's result", async () => {
    await page.goto(`${stack.runtimeUrl}/#/sessions/feature`);
    await page.getByRole('tab', { name: /Changes/ }).click();
    await page.getByRole('button', { name: 'Open pull request' }).click();
    const opened = page.getByTestId('pull-request');
    await opened.waitFor();
    assert.equal(await opened.innerText(), 'Opened pull request #1 in acme/widgets, aof/feature into main');
    assert.equal(await opened.getByRole('link').getAttribute('href'), 'https://github.example/acme/widgets/pull/1');
    const [post] = github.received;
    assert.equal(post?.body?.head, 'aof/feature');
    assert.match(String(post?.body?.body), /^Added the feature\./);
  });

  it('a session without a worktree has no Changes tab', async () => {
    stack.fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    await ao.sessions.create({ name: 'plain', prompt: 'hello', project_dir: repo });
    await page.goto(`${stack.runtimeUrl}/#/sessions/plain`);
    await page.locator('[data-testid="session-state"]', { hasText: 'finished' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByRole('tab').count(), 0);
  });
});
