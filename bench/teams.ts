// What enforcing a tree budget costs while a run goes, next to what the run's output costs anyway.
//
//   node --import tsx bench/teams.ts [--sizes 100,1000,5000] [--samples 200]
//
// For each size N: a fresh embedded store in a temp dir and the real SessionService (no executor),
// with N sessions in trees of 10 (one root with nine children; one session of each tree has a queued
// run). Two operations are timed interleaved, `--samples` times each, on sessions picked at random:
//   record  SessionService.record of one `message` event: what each batch of a run's output costs anyway
//   check   the work LimitGuard does after such a batch when a session of the chain has a tree budget:
//           read the session and its parent, the parent's subtree (the store's parent filter, level by
//           level), index the children, sum the subtree
//   tree    SessionService.tree of a root (GET /sessions/{name}/tree)
// Medians in ms (p95 in brackets), and check/record: what the budget check adds to each batch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../servers/common/logger.js';
import { SessionService } from '../servers/runtime/session-service.js';
import { openEmbeddedStore } from '../servers/runtime/store/embedded-store.js';
import { childrenIndex, subtreeSpend } from '../servers/runtime/tree.js';
import { median } from './lib/stats.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const SIZES = option('sizes', '100,1000,5000').split(',').map(Number);
const SAMPLES = Number(option('samples', '200'));

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const fmt = (xs: number[]) => `${median(xs).toFixed(2)} (${p95(xs).toFixed(2)})`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

console.log('sessions | record ms | check ms | tree ms | check/record');
for (const size of SIZES) {
  const dir = await mkdtemp(join(tmpdir(), 'aof-bench-teams-'));
  const store = await openEmbeddedStore(dir, { logger: silentLogger });
  const sessions = new SessionService(store, { find: async () => null }, dir, join(dir, 'worktrees'));
  const roots: string[] = [];
  const active: string[] = [];
  for (let t = 0; t < size / 10; t++) {
    const root = `root-${t}`;
    roots.push(root);
    await sessions.create({ name: root, prompt: 'p', parent: null, limits: { max_cost_usd: 100 } });
    for (let c = 1; c < 10; c++) await sessions.create({ name: `child-${t}-${c}`, prompt: 'p', parent: root });
    active.push(`child-${t}-1`);
  }
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const record: number[] = [];
  const check: number[] = [];
  const tree: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const name = pick(active);
    record.push(
      await time(() =>
        sessions.record(name, [{ type: 'message', data: { role: 'assistant', text: 'x'.repeat(200) } }]),
      ),
    );
    check.push(
      await time(async () => {
        const self = (await sessions.getStored(name))!;
        const parent = (await sessions.getStored(self.parent!))!;
        subtreeSpend(parent, childrenIndex(await sessions.subtree(parent.name)), () => null);
      }),
    );
    tree.push(await time(() => sessions.tree(pick(roots))));
  }
  console.log(
    `${size} | ${fmt(record)} | ${fmt(check)} | ${fmt(tree)} | ${(median(check) / median(record)).toFixed(2)}`,
  );
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
