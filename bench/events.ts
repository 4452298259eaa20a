// Events appended to and read back from the Agent Runtime per second, next to a bare Koa handler.
//
//   node --import tsx bench/events.ts [--rounds 3] [--seconds 2] [--concurrency 8] [--batches 1,50] [--sizes 100,1000,10000,50000]
//   node --import tsx bench/events.ts --against metrics-off [--sizes '']
//
// `--against metrics-off`: the other side is not the bare app but a second runtime started without
// metrics (`metrics: false`; same store, same requests), so the ratios say what counting costs: the
// HTTP request counter and latency histogram, the store's latency histogram, the run observer.
// The runtime runs in this process with `executor: 'none'` (no agents) and a stub blueprint
// source; a bare Koa app (`ctx.body = { ok: true }`, nothing else) listens on another loopback
// port. The load comes from a worker thread (plain fetch, keep-alive, `--concurrency` request loops),
// so the servers' event loop runs nothing but the servers. For each batch size B, one fresh session,
// then `--rounds` rounds, each interleaving four phases (the order alternates between rounds, so
// drift on this shared machine hits both sides alike):
//   append     POST /sessions/{name}/events with B `message` events per request
//   bare-post  the same number of POSTs, same body, to the bare Koa app
//   read       GET /sessions/{name}/events?after=..&limit=B, reading back what `append` wrote
//   bare-get   the same number of GETs to the bare Koa app
// Each phase stops after its request count or `--seconds`, whichever comes first. The count is
// calibrated once per B from a short warm-up of the runtime, so a phase lasts about `--seconds`.
// Then, on its own session, the cost of reading a page of 100 events as the session grows to each of
// `--sizes` events (pages spread over the whole session), next to as many bare GETs.
// Only ratios measured in the same run mean anything: absolute numbers vary with the machine's load.
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Koa from 'koa';
import { silentLogger } from '../servers/common/logger.js';
import { startLoneRuntime } from '../test/support/runtime-on-dir.js';

/* ---------- options ---------- */

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const ROUNDS = Number(option('rounds', '3'));
const PHASE_SECONDS = Number(option('seconds', '2'));
const CONCURRENCY = Number(option('concurrency', '8'));
const BATCHES = option('batches', '1,50').split(',').map(Number);
/** Session sizes at which the cost of a read (a page of 100) is measured on its own. */
const SIZES = option('sizes', '100,1000,10000,50000').split(',').filter(Boolean).map(Number);
const SCALE_REQUESTS = 200;
/** What the runtime (metrics on) is compared with: the bare Koa app, or a runtime without metrics. */
const AGAINST = option('against', 'bare');
if (AGAINST !== 'bare' && AGAINST !== 'metrics-off') throw new Error(`--against: bare or metrics-off, not ${AGAINST}`);
/** Characters of text in each event: about the size of a short assistant message. */
const TEXT_CHARS = 200;

/* ---------- the load generator (a worker thread, plain JS) ---------- */

interface Job {
  method: 'GET' | 'POST';
  /** For reads: the URL without query; the worker adds `?after=<afterStart + i*limit>&limit=<limit>`. */
  url: string;
  body?: string;
  read?: {
    afterStart: number;
    limit: number /** Wrap `after` below this (pages of a session of this size). */;
    wrap?: number;
  };
  expect: number;
  count: number;
  maxMs: number;
  concurrency: number;
}

interface JobResult {
  done: number;
  elapsedMs: number;
  /** Events in the answers (`events` arrays), to check that everything was written and read back. */
  events: number;
  errors: number;
  firstError?: string;
  latencies: number[];
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', async (job) => {
  const latencies = [];
  let next = 0, events = 0, errors = 0, firstError;
  const started = performance.now();
  const deadline = started + job.maxMs;
  const init = job.method === 'POST'
    ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: job.body }
    : undefined;
  async function loop() {
    for (;;) {
      if (performance.now() >= deadline) return;
      const i = next++;
      if (i >= job.count) return;
      let after = job.read ? job.read.afterStart + i * job.read.limit : 0;
      if (job.read && job.read.wrap) after %= job.read.wrap;
      const url = job.read ? job.url + '?after=' + after + '&limit=' + job.read.limit : job.url;
      const t = performance.now();
      try {
        const res = await fetch(url, init);
        const body = await res.json();
        if (res.status !== job.expect) {
          errors++;
          firstError ??= res.status + ' ' + JSON.stringify(body).slice(0, 300);
        } else if (Array.isArray(body.events)) {
          events += body.events.length;
        }
      } catch (error) {
        errors++;
        firstError ??= String(error);
      }
      latencies.push(performance.now() - t);
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  parentPort.postMessage({ done: latencies.length, elapsedMs: performance.now() - started, events, errors, firstError, latencies });
});
`;

const worker = new Worker(WORKER_SOURCE, { eval: true });
worker.unref();

function runJob(job: Job): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    worker.once('message', (result: JobResult) => {
      worker.off('error', reject);
      resolve(result);
    });
    worker.once('error', reject);
    worker.postMessage(job);
  });
}

/* ---------- the servers ---------- */

const root = await mkdtemp(join(tmpdir(), 'aof-bench-events-'));
const runtime = await startLoneRuntime(join(root, 'data'), { defaultProjectDir: root, logger: silentLogger });

const bare = new Koa();
bare.use((ctx) => {
  ctx.body = { ok: true };
});
const bareServer = bare.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => bareServer.once('listening', () => resolve()));
const unmetered =
  AGAINST === 'metrics-off'
    ? await startLoneRuntime(join(root, 'data-off'), { defaultProjectDir: root, logger: silentLogger, metrics: false })
    : undefined;
// The other side: the bare app, or the runtime without metrics (its sessions mirror the measured one's).
const bareUrl = unmetered?.url ?? `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;

/* ---------- the measurement ---------- */

type Phase = 'append' | 'bare-post' | 'read' | 'bare-get';
const PHASES: Phase[] = ['append', 'bare-post', 'read', 'bare-get'];

interface Sample extends JobResult {
  phase: Phase;
  round: number;
  /** Events in the session when the phase ended. */
  stored: number;
}

function eventsBody(batch: number): string {
  const events = Array.from({ length: batch }, (_, i) => ({
    type: 'message',
    data: { role: 'assistant', text: `event ${i} `.padEnd(TEXT_CHARS, 'x') },
  }));
  return JSON.stringify({ events });
}

async function createSession(name: string): Promise<void> {
  for (const url of unmetered ? [runtime.url, unmetered.url] : [runtime.url]) {
    const res = await fetch(`${url}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, prompt: 'benchmark' }),
    });
    if (res.status !== 201) throw new Error(`creating session ${name}: ${res.status} ${await res.text()}`);
  }
}

function check(result: JobResult, what: string, expectedEvents?: number): void {
  if (result.errors) throw new Error(`${what}: ${result.errors} failed requests, first: ${result.firstError}`);
  if (expectedEvents !== undefined && result.events !== expectedEvents) {
    throw new Error(`${what}: expected ${expectedEvents} events in the answers, got ${result.events}`);
  }
}

async function benchBatch(batch: number): Promise<Sample[]> {
  const name = `bench-b${batch}`;
  await createSession(name);
  const body = eventsBody(batch);
  const eventsUrl = `${runtime.url}/sessions/${name}/events`;
  // Without metrics, the other side appends to its own copy of the session.
  const barePostUrl = unmetered ? `${unmetered.url}/sessions/${name}/events` : bareUrl;
  const barePostStatus = unmetered ? 201 : 200;
  const maxMs = PHASE_SECONDS * 1000;
  const base = { concurrency: CONCURRENCY, maxMs };
  let stored = 0; // events in the session so far (seq of the last one)

  // Warm-up (JIT, connections, nedb), which also calibrates the request count of a phase.
  const warm = await runJob({ ...base, method: 'POST', url: eventsUrl, body, expect: 201, count: 1e9, maxMs: 1000 });
  check(warm, 'warm-up append', warm.done * batch);
  stored += warm.events;
  check(
    await runJob({
      ...base,
      method: 'GET',
      url: eventsUrl,
      read: { afterStart: 0, limit: batch },
      expect: 200,
      count: warm.done,
      maxMs: 1000,
    }),
    'warm-up read',
  );
  check(
    await runJob({
      ...base,
      method: 'POST',
      url: barePostUrl,
      body,
      expect: barePostStatus,
      count: warm.done,
      maxMs: 1000,
    }),
    'warm-up bare',
  );
  const count = Math.max(CONCURRENCY, Math.round((warm.done / (warm.elapsedMs / 1000)) * PHASE_SECONDS));

  const samples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Even rounds run the runtime first, odd rounds the bare app first.
    const order: Phase[] =
      round % 2 === 0 ? ['append', 'bare-post', 'read', 'bare-get'] : ['bare-post', 'append', 'bare-get', 'read'];
    let appended = 0;
    let appendStart = stored;
    for (const phase of order) {
      let result: JobResult;
      if (phase === 'append') {
        appendStart = stored;
        result = await runJob({ ...base, method: 'POST', url: eventsUrl, body, expect: 201, count });
        check(result, `append B=${batch}`, result.done * batch);
        appended = result.done;
        stored += result.events;
      } else if (phase === 'bare-post') {
        result = await runJob({ ...base, method: 'POST', url: barePostUrl, body, expect: barePostStatus, count });
        check(result, 'bare-post');
      } else if (phase === 'read') {
        // Reads back exactly what this round's append wrote, B events per request.
        result = await runJob({
          ...base,
          method: 'GET',
          url: eventsUrl,
          read: { afterStart: appendStart, limit: batch },
          expect: 200,
          count: appended,
        });
        check(result, `read B=${batch}`, result.done * batch);
      } else {
        result = await runJob({
          ...base,
          method: 'GET',
          url: `${bareUrl}/sessions/${name}/events`,
          read: { afterStart: 0, limit: batch },
          expect: 200,
          count: appended || count,
        });
        check(result, 'bare-get');
      }
      samples.push({ ...result, phase, round, stored });
    }
  }
  return samples;
}

/**
 * A read of a page of 100 as the session grows: one session filled with batches of 500 events up to
 * each size, then 8 loops reading pages at offsets spread over the whole session, next to the same
 * number of bare GETs (order alternating). Shows how a read's cost depends on the session's size.
 */
async function benchSizes(): Promise<Array<{ size: number; runtime: JobResult; bare: JobResult }>> {
  const name = 'bench-sizes';
  await createSession(name);
  const eventsUrl = `${runtime.url}/sessions/${name}/events`;
  const base = { concurrency: CONCURRENCY, maxMs: PHASE_SECONDS * 1000, count: SCALE_REQUESTS };
  const rows: Array<{ size: number; runtime: JobResult; bare: JobResult }> = [];
  let stored = 0;
  for (const [i, size] of SIZES.entries()) {
    const fill = await runJob({
      concurrency: 1,
      maxMs: 120_000,
      method: 'POST',
      url: eventsUrl,
      body: eventsBody(Math.min(500, size - stored) || 1),
      expect: 201,
      count: Math.ceil((size - stored) / 500),
    });
    check(fill, 'filling the session');
    stored += fill.events;
    const read = { afterStart: 0, limit: 100, wrap: Math.max(1, stored - 100) };
    const readJob = () => runJob({ ...base, method: 'GET', url: eventsUrl, read, expect: 200 });
    const bareJob = () =>
      runJob({ ...base, method: 'GET', url: `${bareUrl}/sessions/${name}/events`, read, expect: 200 });
    let rt: JobResult;
    let b: JobResult;
    if (i % 2 === 0) {
      rt = await readJob();
      b = await bareJob();
    } else {
      b = await bareJob();
      rt = await readJob();
    }
    check(rt, `read at ${stored} events`);
    check(b, 'bare-get');
    rows.push({ size: stored, runtime: rt, bare: b });
  }
  return rows;
}

/* ---------- report ---------- */

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
const f = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const rate = (s: JobResult) => s.done / (s.elapsedMs / 1000);

function report(batch: number, samples: Sample[]): void {
  const rows = PHASES.map((phase) => {
    const mine = samples.filter((s) => s.phase === phase);
    const done = mine.reduce((n, s) => n + s.done, 0);
    const seconds = mine.reduce((n, s) => n + s.elapsedMs, 0) / 1000;
    const latencies = mine.flatMap((s) => s.latencies).sort((a, b) => a - b);
    const events = phase === 'append' || phase === 'read' ? done * batch : NaN;
    return {
      phase,
      done,
      seconds,
      reqPerSec: done / seconds,
      eventsPerSec: events / seconds,
      p50: pct(latencies, 0.5),
      p99: pct(latencies, 0.99),
    };
  });
  console.log(
    `\nB=${batch} events per request, ${CONCURRENCY} concurrent loops, ${ROUNDS} rounds (phase <= ${PHASE_SECONDS} s)`,
  );
  console.log('phase       requests  seconds     req/s    events/s   p50 ms   p99 ms');
  for (const r of rows) {
    console.log(
      `${r.phase.padEnd(10)} ${f(r.done).padStart(9)} ${f(r.seconds, 2).padStart(8)} ${f(r.reqPerSec).padStart(9)} ` +
        `${(Number.isNaN(r.eventsPerSec) ? '-' : f(r.eventsPerSec)).padStart(11)} ${f(r.p50, 2).padStart(8)} ${f(r.p99, 2).padStart(8)}`,
    );
  }
  // Ratios per round (each pair ran back to back), then their median across rounds.
  const ratios = (runtimePhase: Phase, barePhase: Phase) => {
    const per = [...new Set(samples.map((s) => s.round))].map((round) => {
      const rt = samples.find((s) => s.round === round && s.phase === runtimePhase)!;
      const b = samples.find((s) => s.round === round && s.phase === barePhase)!;
      return rate(rt) / rate(b);
    });
    return { median: median(per), per };
  };
  const sizes = samples.filter((s) => s.phase === 'read').map((s) => f(s.stored));
  for (const [rt, b] of [
    ['append', 'bare-post'],
    ['read', 'bare-get'],
  ] as const) {
    const r = ratios(rt, b);
    console.log(
      `ratio ${rt}/${b} (runtime req/s / bare req/s): ${r.median.toFixed(3)} median; per round ${r.per.map((x) => x.toFixed(3)).join(', ')}` +
        ` -> a runtime ${rt} request costs ${(1 / r.median).toFixed(1)}x a bare Koa request`,
    );
  }
  console.log(`events in the session at each round's read: ${sizes.join(', ')}`);
}

try {
  console.log(`aof events benchmark, ${new Date().toISOString()}, node ${process.version}, load from a worker thread`);
  for (const batch of BATCHES) report(batch, await benchBatch(batch));
  if (AGAINST === 'metrics-off') {
    console.log('\n"bare" above is the runtime without metrics: each ratio is metrics on / metrics off.');
  } else if (SIZES.length) {
    const rows = await benchSizes();
    console.log(
      `\nread cost vs session size: GET ?after=<spread over the session>&limit=100, ${CONCURRENCY} loops, <= ${SCALE_REQUESTS} requests each side`,
    );
    console.log('events in session   runtime req/s   events/s   p50 ms | bare req/s   ratio runtime/bare');
    for (const { size, runtime: rt, bare: b } of rows) {
      const lat = [...rt.latencies].sort((x, y) => x - y);
      console.log(
        `${f(size).padStart(17)} ${f(rate(rt)).padStart(15)} ${f(rt.events / (rt.elapsedMs / 1000)).padStart(10)} ${f(pct(lat, 0.5), 2).padStart(8)} |` +
          ` ${f(rate(b)).padStart(10)}   ${(rate(rt) / rate(b)).toFixed(3)}`,
      );
    }
  }
} finally {
  await runtime.close();
  await unmetered?.close();
  await new Promise<void>((resolve) => {
    bareServer.close(() => resolve());
    bareServer.closeAllConnections();
  });
  await worker.terminate();
  await rm(root, { recursive: true, force: true });
}
