// Approval requests in the runtime, at several numbers of pending requests: what asking, listing and
// answering cost, and how fast an answer reaches a waiting permission tool (its long-poll).
//
//   node --import tsx bench/approvals.ts [--sizes 10,100,1000] [--samples 40]
//
// The real runtime in process (executor `none`, so no agents: the requests are made through the
// API as the permission tool makes them), with `--sizes` requests pending. Each sample is one of:
//   health   GET /health with fetch: the bare cost of a request to this runtime (the yardstick;
//            the others go through the SDK, as the permission tool and the commands do)
//   ask      POST /sessions/{name}/approvals (a new request: stored, event recorded, session flag)
//   list     GET /approvals?state=pending (every pending request)
//   answer   POST /approvals/{id}/answer, the time until the long-poll GET /approvals/{id}?wait=30
//            of that request returns (what a waiting agent sees)
// Interleaved per sample; medians (p95) in ms, and each as a ratio of health in the same round.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orchestrator } from '../sdk/index.js';
import { silentLogger } from '../servers/common/logger.js';
import { startLoneRuntime } from '../test/support/runtime-on-dir.js';
import { option } from './lib/options.js';
import { p50p95 as fmt, quantile, timed } from './lib/stats.js';

const SIZES = option('sizes', '10,100,1000').split(',').map(Number);
const SAMPLES = Number(option('samples', '40'));

console.log(`pending  health ms        ask ms (x health)        list ms (x health)        answer→waiter ms (x health)`);
for (const size of SIZES) {
  const root = await mkdtemp(join(tmpdir(), 'aof-bench-approvals-'));
  const runtime = await startLoneRuntime(join(root, 'data'), { defaultProjectDir: root, logger: silentLogger });
  const ao = new Orchestrator({ runtimeUrl: runtime.url });
  // `size` pending requests over 10 sessions, as many agents would leave them.
  const sessions = Array.from({ length: 10 }, (_, i) => `s${i}`);
  for (const name of sessions) await ao.sessions.create({ name, prompt: 'go' });
  for (let i = 0; i < size; i++)
    await ao.approvals.ask(sessions[i % 10]!, {
      tool: 'Bash',
      input: { command: `echo ${i} > f${i}` },
      tool_use_id: `seed${i}`,
    });

  const rows = { health: [] as number[], ask: [] as number[], list: [] as number[], answer: [] as number[] };
  for (let i = 0; i < SAMPLES; i++) {
    rows.health.push(await timed(async () => (await fetch(`${runtime.url}/health`)).json()));
    let id = '';
    rows.ask.push(
      await timed(async () => {
        id = (
          await ao.approvals.ask(sessions[i % 10]!, {
            tool: 'Bash',
            input: { command: 'true' },
            tool_use_id: `bench${i}`,
          })
        ).id;
      }),
    );
    rows.list.push(await timed(() => ao.approvals.list({ state: 'pending' })));
    const waiting = ao.approvals.get(id, { waitSeconds: 30 });
    await new Promise((resolve) => setTimeout(resolve, 5)); // the long-poll is held by now
    rows.answer.push(
      await timed(async () => {
        await ao.approvals.approve(id);
        await waiting;
      }),
    );
  }
  const health = quantile(rows.health, 0.5);
  const ratio = (values: number[]) => `x${(quantile(values, 0.5) / health).toFixed(1)}`;
  console.log(
    `${String(size).padStart(7)}  ${fmt(rows.health).padEnd(15)}  ${`${fmt(rows.ask)} ${ratio(rows.ask)}`.padEnd(23)}  ${`${fmt(rows.list)} ${ratio(rows.list)}`.padEnd(24)}  ${fmt(rows.answer)} ${ratio(rows.answer)}`,
  );
  await runtime.close();
  await rm(root, { recursive: true, force: true });
}
