// What storing a run's webhook notices with its end costs the embedded store: the time to record a
// run's end (POST of its result and session_stop), and of an event that ends nothing, on a runtime
// with a webhook URL (its notices go to the outbox, webhooks.db, and a local receiver answers 204)
// next to one without.
//
//   node --import tsx bench/webhooks.ts [--samples 300]
//
// Both runtimes in this process (executor `none`), samples interleaved; medians (p95) in ms and the
// ratio hooked / plain.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orchestrator } from '../sdk/index.js';
import { silentLogger } from '../servers/common/logger.js';
import { startLoneRuntime } from '../test/support/runtime-on-dir.js';
import { option } from './lib/options.js';
import { p50p95 as fmt, quantile, timed } from './lib/stats.js';

const SAMPLES = Number(option('samples', '300'));

let received = 0;
const receiver = createServer((req, res) =>
  req.resume().on('end', () => {
    received++;
    res.writeHead(204).end();
  }),
);
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const root = await mkdtemp(join(tmpdir(), 'aof-bench-webhooks-'));
const sides = {
  plain: await startLoneRuntime(join(root, 'plain'), { defaultProjectDir: root, logger: silentLogger }),
  hooked: await startLoneRuntime(join(root, 'hooked'), {
    defaultProjectDir: root,
    logger: silentLogger,
    webhooks: { url: hookUrl },
  }),
};
const rows = {
  plain: { event: [] as number[], end: [] as number[] },
  hooked: { event: [] as number[], end: [] as number[] },
};
for (let n = 0; n < SAMPLES; n++) {
  for (const side of (n % 2 ? ['plain', 'hooked'] : ['hooked', 'plain']) as Array<keyof typeof sides>) {
    const ao = new Orchestrator({ runtimeUrl: sides[side].url, parent: null });
    const name = `s${n}`;
    await ao.sessions.create({ name, prompt: 'go' });
    rows[side].event.push(
      await timed(() =>
        ao.sessions.appendEvents(name, [{ type: 'message', data: { role: 'assistant', text: 'working' } }]),
      ),
    );
    rows[side].end.push(
      await timed(() =>
        ao.sessions.appendEvents(name, [
          { type: 'result', data: { text: 'done', is_error: false } },
          { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'exited' } },
        ]),
      ),
    );
  }
}
// Every notice arrives (the sender works after the end is acknowledged): wait a little for the last ones.
for (const deadline = Date.now() + 10_000; received < SAMPLES && Date.now() < deadline; )
  await new Promise((resolve) => setTimeout(resolve, 20));
const ratio = (kind: 'event' | 'end') =>
  (quantile(rows.hooked[kind], 0.5) / quantile(rows.plain[kind], 0.5)).toFixed(2);
console.log(`samples ${SAMPLES}; notices received ${received}`);
console.log(`             plain ms       hooked ms      hooked / plain`);
console.log(`event        ${fmt(rows.plain.event).padEnd(15)}${fmt(rows.hooked.event).padEnd(15)}${ratio('event')}`);
console.log(`run end      ${fmt(rows.plain.end).padEnd(15)}${fmt(rows.hooked.end).padEnd(15)}${ratio('end')}`);
await sides.plain.close();
await sides.hooked.close();
receiver.close();
await rm(root, { recursive: true, force: true });
