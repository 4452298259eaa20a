// The dashboard in headless Chromium against the real runtime (in this process, `executor: 'none'`):
//
//   node --import tsx bench/dashboard.ts [--sizes 100,1000,10000] [--rounds 5] [--events 30]
//
// 1. First load: bytes on the wire (gzip, as the runtime sends them) for everything the page loads
//    at `/` before its first API call: the page, its scripts, styles and icon.
// 2. Board interactive: from navigation start (performance.now() = 0) to the first row of the board
//    in the DOM with the count of all sessions shown, for a runtime holding each of `--sizes`
//    sessions; next to it in the same round, the time the page's own list requests take from Node
//    (five pages of 50 with counts), so the browser's share shows.
// 3. Event to screen: an event sent to the runtime (from before POST .../events) until its text is
//    in the open session view (a MutationObserver notes the time), next to the time the same event
//    takes to reach an SDK stream in Node. Both sides read Date.now() on this one machine.
// 4. A long session: from navigation to the session view until its last event is drawn, for
//    sessions of each of `--event-sizes` events (a third of them tool calls with output).
// Medians over rounds; the machine is shared, so compare numbers measured in the same run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orchestrator } from '../sdk/index.js';
import { silentLogger } from '../servers/common/logger.js';
import { startLoneRuntime } from '../test/support/runtime-on-dir.js';
import { ensureDashboardBuilt, launchBrowser, newPage } from '../test/dashboard/browser.js';
import { fillSessions } from '../test/dashboard/load.js';
import { median } from './lib/stats.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const SIZES = option('sizes', '100,1000,10000').split(',').map(Number);
const ROUNDS = Number(option('rounds', '5'));
const EVENTS = Number(option('events', '30'));
const EVENT_SIZES = option('event-sizes', '100,1000,5000').split(',').map(Number);
const STATES = ['failed', 'stopped', 'running', 'queued', 'finished'] as const;

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;

ensureDashboardBuilt();
const root = await mkdtemp(join(tmpdir(), 'aof-bench-dash-'));
const runtime = await startLoneRuntime(join(root, 'data'), { logger: silentLogger }); // the board needs no registry
const ao = new Orchestrator({ runtimeUrl: runtime.url, token: null });
const browser = await launchBrowser();

try {
  /* ---------- 1. first load ---------- */
  {
    const { context, page } = await newPage(browser);
    const sizes: Array<{ url: string; wire: number }> = [];
    page.on('response', async (response) => {
      const url = new URL(response.url());
      if (!/^\/($|assets\/|favicon)/.test(url.pathname)) return;
      const headers = await response.allHeaders();
      sizes.push({ url: url.pathname, wire: Number(headers['content-length'] ?? (await response.body()).length) });
    });
    // The board keeps a stream open, so the network never idles: wait for the board, then a moment.
    await page.goto(`${runtime.url}/`, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await page.waitForTimeout(500);
    await context.close();
    const total = sizes.reduce((n, s) => n + s.wire, 0);
    console.log('\nfirst load (gzip on the wire)');
    for (const s of sizes) console.log(`  ${s.url.padEnd(40)} ${(s.wire / 1024).toFixed(1)} KB`);
    console.log(`  ${'total'.padEnd(40)} ${(total / 1024).toFixed(1)} KB   (target < 150 KB)`);
  }

  /* ---------- 2. board interactive ---------- */
  console.log('\nboard interactive after navigation (median of rounds)');
  console.log('  sessions   browser: first row   node: the 5 list requests   ratio');
  let created = 0;
  for (const size of SIZES) {
    await fillSessions(ao, size - created, root, 16, created);
    created = (await ao.sessions.list({ limit: 1 })).counts.queued;
    const board: number[] = [];
    const api: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      await Promise.all(STATES.map((state) => ao.sessions.list({ state, limit: 50 })));
      api.push(performance.now() - started);
      const { context, page } = await newPage(browser);
      await page.goto(`${runtime.url}/`, { waitUntil: 'commit' });
      // In the page (no DOM types here): the count of all sessions and a first row, clickable.
      const at = await page.waitForFunction(
        (count) => {
          const doc = (globalThis as any).document;
          const shown = doc.querySelector('[data-state="queued"] .count-n')?.textContent === String(count);
          return shown && doc.querySelector('[data-section="queued"] .row a') ? performance.now() : 0;
        },
        created,
        { polling: 'raf', timeout: 30_000 },
      );
      board.push(Number(await at.jsonValue()));
      await context.close();
    }
    console.log(
      `  ${String(created).padStart(8)}   ${ms(median(board)).padStart(17)}   ${ms(median(api)).padStart(26)}   ${(median(board) / median(api)).toFixed(1)}x`,
    );
  }

  /* ---------- 3. event to screen ---------- */
  {
    await ao.sessions.create({ name: 'watched', prompt: 'x', project_dir: root });
    const { context, page } = await newPage(browser);
    await page.goto(`${runtime.url}/#/sessions/watched`);
    await page.locator('[data-testid="session-state"]').waitFor();
    await page.evaluate(`(() => {
      const seen = (window.seen = {});
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('.ev-message .markdown')) {
          const text = el.textContent.trim();
          if (text.startsWith('mark-') && !seen[text]) seen[text] = Date.now();
        }
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    })()`);
    const stream = ao.sessions.events('watched');
    const nodeSeen = new Map<string, number>();
    const reading = (async () => {
      for await (const event of stream) {
        if (event.type === 'message') nodeSeen.set(event.data.text, Date.now());
      }
    })();
    const browserLatency: number[] = [];
    const nodeLatency: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const text = `mark-${i}`;
      // From before the request: the time to record it counts too.
      const recorded = Date.now();
      await ao.sessions.appendEvents('watched', [{ type: 'message', data: { role: 'assistant', text } }]);
      const shownAt = Number(
        await (await page.waitForFunction((t) => (globalThis as any).seen[t] ?? 0, text, { polling: 10 })).jsonValue(),
      );
      while (!nodeSeen.has(text)) await new Promise((resolve) => setTimeout(resolve, 5));
      browserLatency.push(Math.max(0, shownAt - recorded));
      nodeLatency.push(Math.max(0, nodeSeen.get(text)! - recorded));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stream.abort();
    await reading.catch(() => undefined);
    await context.close();
    console.log(`\nevent recorded -> on screen (${EVENTS} events)`);
    console.log(
      `  browser session view   median ${ms(median(browserLatency))}   p95 ${ms(p95(browserLatency))}   (target < 200 ms)`,
    );
    console.log(`  node SDK stream        median ${ms(median(nodeLatency))}   p95 ${ms(p95(nodeLatency))}`);
  }

  /* ---------- 4. a long session ---------- */
  console.log('\nsession view until its last event is drawn (median of rounds)');
  console.log('  events   browser   node: reading them all through the SDK');
  for (const size of EVENT_SIZES) {
    const name = `long-${size}`;
    await ao.sessions.create({ name, prompt: 'x', project_dir: root });
    for (let sent = 0; sent < size; sent += 300) {
      const batch = Array.from({ length: Math.min(300, size - sent) }, (_, j) => {
        const i = sent + j;
        if (i % 3 === 0)
          return {
            type: 'pre_tool' as const,
            data: { tool_use_id: `t${i}`, tool: 'Read', input: { file_path: `/src/file-${i}.ts` } },
          };
        if (i % 3 === 1)
          return {
            type: 'post_tool' as const,
            data: {
              tool_use_id: `t${i - 1}`,
              tool: 'Read',
              output: 'export const x = 1;\n'.repeat(10),
              is_error: false,
            },
          };
        return {
          type: 'message' as const,
          data: { role: 'assistant' as const, text: `Step ${i}: **read** the file and \`changed\` nothing.` },
        };
      });
      await ao.sessions.appendEvents(name, batch);
    }
    // The last event is a message, drawn as its own row (a tool's output joins its call's row).
    const [last] = await ao.sessions.appendEvents(name, [
      { type: 'message', data: { role: 'assistant', text: 'All done.' } },
    ]);
    const lastSeq = last!.seq;
    const drawn: number[] = [];
    const read: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      let after = 0;
      for (;;) {
        const page = await ao.sessions.listEvents(name, { after, limit: 500 });
        after = page.events.at(-1)?.seq ?? after;
        if (!page.has_more) break;
      }
      read.push(performance.now() - started);
      const { context, page } = await newPage(browser);
      await page.goto(`${runtime.url}/#/sessions/${name}`, { waitUntil: 'commit' });
      const at = await page.waitForFunction(
        (seq) => ((globalThis as any).document.querySelector(`[data-seq="${seq}"]`) ? performance.now() : 0),
        lastSeq,
        { polling: 'raf', timeout: 60_000 },
      );
      drawn.push(Number(await at.jsonValue()));
      await context.close();
    }
    console.log(`  ${String(size).padStart(6)}   ${ms(median(drawn)).padStart(7)}   ${ms(median(read)).padStart(8)}`);
  }
} finally {
  await browser.close();
  await ao.sessions.clean().catch(() => undefined);
  await runtime.close();
  await rm(root, { recursive: true, force: true });
}
