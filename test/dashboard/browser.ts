/**
 * A real headless Chromium for the dashboard's tests and benchmark, driven by playwright-core
 * (which downloads no browser): $AOF_CHROMIUM, else the usual install paths. No browser is an
 * error with the install hint, never a skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '../support/claude-env.js';

const USUAL_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
];

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.AOF_CHROMIUM;
  if (chosen) {
    if (!existsSync(chosen)) throw new Error(`AOF_CHROMIUM=${chosen} does not exist`);
    return chosen;
  }
  const found = USUAL_PATHS.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      'The dashboard tests need Chromium: `apt-get install -y chromium` (Debian/Ubuntu), or set AOF_CHROMIUM to a Chrome/Chromium binary',
    );
  }
  return found;
}

/** A fresh browser: playwright gives each launch its own temporary profile (user data dir). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), args: CHROMIUM_FLAGS, headless: true });
}

let shared: Promise<Browser> | undefined;

/**
 * The browser of this test process, launched on first use and shared by the files it runs in turn (a
 * launch costs most of a second of CPU): each test works in browser contexts of its own (`newPage`: no
 * cookie, storage or cache is shared), which `releaseBrowser` closes when it is done. A browser that
 * crashed or was closed is launched again. It ends with the process (playwright kills the browsers it
 * launched when their process exits).
 */
export function sharedBrowser(): Promise<Browser> {
  if (!shared) {
    const launching = launchBrowser();
    shared = launching;
    launching.then(
      (browser) =>
        browser.on('disconnected', () => {
          if (shared === launching) shared = undefined;
        }),
      () => {
        if (shared === launching) shared = undefined;
      },
    );
  }
  return shared;
}

/** Closes the contexts a test left open in the shared browser; the browser stays for the next file. */
export async function releaseBrowser(browser: Browser | undefined): Promise<void> {
  if (!browser?.isConnected()) return;
  await Promise.all(browser.contexts().map((context) => context.close().catch(() => undefined)));
}

export async function newPage(
  browser: Browser,
  options: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1100, height: options.height ?? 760 },
    colorScheme: options.colorScheme ?? 'light',
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  return { context, page };
}

export const dashboardDist = join(repoRoot, 'dist', 'dashboard');
const sources = join(repoRoot, 'dashboard');

/** Builds the dashboard when dist/dashboard is missing or older than a source file. */
export function ensureDashboardBuilt(): void {
  const index = join(dashboardDist, 'index.html');
  const builtAt = existsSync(index) ? statSync(index).mtimeMs : 0;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (max, e) => Math.max(max, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs),
      0,
    );
  if (builtAt > newest(sources) && builtAt > statSync(join(repoRoot, 'sdk')).mtimeMs) return;
  execFileSync(process.execPath, [join(sources, 'build.mjs')], { stdio: 'inherit', cwd: repoRoot });
}

/**
 * Where the tests save a screenshot of each view: dist/screenshots/dashboard (not tracked), or
 * $AOF_SCREENSHOT_DIR. `AOF_SCREENSHOT_DIR=docs/dashboard npm test -- test/dashboard` refreshes the
 * pictures of docs/dashboard.md.
 */
export const screenshotDir = resolve(
  repoRoot,
  process.env.AOF_SCREENSHOT_DIR || join('dist', 'screenshots', 'dashboard'),
);

/** Saves a screenshot of what a person sees now. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.evaluate('scrollTo(0, 0)'); // the sticky header stays at the top of a full-page shot
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: options.fullPage ?? false });
}
