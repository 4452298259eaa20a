// Two runtime processes (executor `none`) on one real PostgreSQL database: what is written through
// one is seen live through the other (SSE with Last-Event-ID replay, the changes stream, waiting for a
// result), writes through both never collide, a stop through one and recording through the other
// lose nothing, side effects happen once, and a database restart under a running stream loses no event.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Orchestrator, EventInput, SessionChange } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { eventually, within } from '../support/processes.js';
import { freshDatabase, queryDatabase, ownPostgresServer, restartPostgres } from '../support/postgres.js';
import {
  followEvents,
  printLogsWhenATestFails,
  startPair,
  type Replica,
  type StreamedEvent,
  REPLICA_AUTH,
  REPLICA_TOKEN,
} from '../support/replicas.js';
import { startHttpStub, type HttpStub } from '../support/servers.js';
import { parse, type Sample, sum } from '../support/prometheus.js';

const message = (text: string): EventInput => ({ type: 'message', data: { role: 'assistant', text } });
const ending = (text: string): EventInput[] => [
  { type: 'result', data: { text, is_error: false } },
  { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'exited' } },
];

/** A session's events as a stream on `url` gives them, collected. */
async function follow(url: string, name: string, headers: Record<string, string> = {}) {
  const seen: StreamedEvent[] = [];
  const stream = followEvents(url, name, (event) => seen.push(event), headers);
  await stream.opened;
  return { seen, seqs: () => seen.map((e) => e.seq), close: stream.close };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('runtime replicas: two runtime processes on one PostgreSQL', function () {
  this.timeout(120_000);
  // Its last test restarts PostgreSQL.
  ownPostgresServer();
  let databaseUrl: string;
  let hooks: HttpStub;
  const delivered: Array<{ session: string; state: string }> = [];
  let a: Replica;
  let b: Replica;
  let viaA: Orchestrator;
  let viaB: Orchestrator;
  let counter = 0;
  const fresh = async (prefix: string, options: { webhook?: boolean } = {}) => {
    const name = `${prefix}-${++counter}`;
    await viaA.sessions.create({
      name,
      prompt: 'go',
      ...(options.webhook ? { webhook_url: `${hooks.url}/hook` } : {}),
    });
    return name;
  };

  before(async () => {
    databaseUrl = await freshDatabase();
    hooks = await startHttpStub((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        const payload = JSON.parse(body) as { session: string; state: string };
        delivered.push({ session: payload.session, state: payload.state });
        res.writeHead(204).end();
      });
    });
    ({ a, b, viaA, viaB } = await startPair(databaseUrl));
  });
  printLogsWhenATestFails(() => ({ A: a, B: b }));
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await hooks?.close();
  });

  it("streams on B, live and in order, the events written through A, and B's changes stream sees A's changes", async () => {
    const changes: SessionChange[] = [];
    const changeStream = viaB.sessions.changes();
    const collecting = (async () => {
      for await (const change of changeStream) changes.push(change);
    })();
    collecting.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled
    // The changes stream replays nothing: it is connected once it tells of a session made after it started.
    const probe = await within('creating the probe session', fresh('probe'));
    await eventually('the changes stream on B to connect', () => changes.some((c) => c.name === probe));
    const name = await within('creating the session', fresh('live'));
    const stream = await within('opening the event stream on B', follow(b.url, name));
    await within(
      'the first batch through A',
      viaA.sessions.appendEvents(name, [{ type: 'session_start', data: {} }, message('one')]),
    );
    await within('the second batch through A', viaA.sessions.appendEvents(name, [message('two'), message('three')]));
    await within('the last batch through A', viaA.sessions.appendEvents(name, ending('done')));
    await eventually('every event on B', () => stream.seen.length === 6);
    await within('closing the event stream', stream.close());
    assert.deepEqual(stream.seqs(), range(1, 6));
    assert.deepEqual(
      stream.seen.map((e) => e.data.text ?? e.type),
      ['session_start', 'one', 'two', 'three', 'done', 'session_stop'],
    );
    await eventually("A's changes on B", () => changes.some((c) => c.name === name && c.state === 'finished'));
    changeStream.abort();
    await within('closing the changes stream', collecting);
    assert.deepEqual(
      changes.filter((c) => c.name === name).map((c) => `${c.change} ${c.state}`),
      ['created queued', 'state running', 'state finished'],
    );
  });

  it('replays from Last-Event-ID on B, then follows what A writes, with no gap and no repeat', async () => {
    const name = await fresh('replay');
    await viaA.sessions.appendEvents(
      name,
      range(1, 5).map((i) => message(`m${i}`)),
    );
    const stream = await follow(b.url, name, { 'Last-Event-ID': '2' });
    await eventually('the replay', () => stream.seen.length === 3);
    await viaA.sessions.appendEvents(name, [message('m6'), message('m7')]);
    await eventually('the live events', () => stream.seen.length === 5);
    await sleep(200);
    await stream.close();
    assert.deepEqual(stream.seqs(), range(3, 7));
    assert.deepEqual(
      stream.seen.map((e) => e.data.text),
      ['m3', 'm4', 'm5', 'm6', 'm7'],
    );
  });

  it("ends a wait on B (ao-get-result --wait, status?wait=) as soon as A records the run's end", async () => {
    const name = await fresh('wait');
    await viaA.sessions.appendEvents(name, [{ type: 'session_start', data: {} }]);
    const started = Date.now();
    const waiting = runBin('ao-get-result', [name, '--wait'], {
      env: {
        PATH: process.env.PATH ?? '',
        AGENT_ORCHESTRATOR_SESSION_API_URL: b.url,
        AGENT_ORCHESTRATOR_API_TOKEN: REPLICA_TOKEN,
      },
    });
    const longPoll = fetch(`${b.url}/sessions/${name}/status?wait=60`, { headers: REPLICA_AUTH }).then(
      (r) => r.json() as Promise<{ state: string }>,
    );
    await sleep(1500);
    await viaA.sessions.appendEvents(name, ending('the answer'));
    const [result, status] = await Promise.all([waiting, longPoll]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'the answer');
    assert.equal(status.state, 'finished');
    // Both wait up to 30 s or more between looks of their own: this answer came from A's change.
    assert.ok(Date.now() - started < 20_000, `answered after ${Date.now() - started} ms`);
  });

  it('ends a stream on B when the session is deleted through A, and B answers 404 for it at once', async () => {
    const name = await fresh('gone');
    await viaA.sessions.appendEvents(name, [{ type: 'session_start', data: {} }, ...ending('bye')]);
    const ended: string[] = [];
    const stream = followEvents(b.url, name, () => undefined);
    await stream.opened;
    const closed = stream.done.then(() => ended.push('ended'));
    await viaA.sessions.delete(name);
    await eventually('the end of the stream on B', () => ended.length === 1);
    await closed;
    await assert.rejects(viaB.sessions.get(name), (error: { code?: string }) => error.code === 'session-not-found');
  });

  it('numbers concurrent writes through both replicas 1..N, and both streams see every one once, in order', async () => {
    const name = await fresh('both');
    const onA = await follow(a.url, name);
    const onB = await follow(b.url, name);
    await sleep(300);
    const calls = await Promise.all(
      range(1, 40).map((i) => (i % 2 ? viaA : viaB).sessions.appendEvents(name, [message(`x${i}`), message(`y${i}`)])),
    );
    for (const events of calls) assert.equal(events[1]!.seq, events[0]!.seq + 1, 'one batch gets consecutive numbers');
    assert.deepEqual(
      calls
        .flat()
        .map((e) => e.seq)
        .sort((x, y) => x - y),
      range(1, 80),
    );
    await eventually('all 80 on both streams', () => onA.seen.length >= 80 && onB.seen.length >= 80);
    await sleep(300);
    await Promise.all([onA.close(), onB.close()]);
    assert.deepEqual(onA.seqs(), range(1, 80));
    assert.deepEqual(onB.seqs(), range(1, 80));
    const [row] = await queryDatabase<{ updated_at: string }>(
      databaseUrl,
      `SELECT updated_at FROM aof_sessions WHERE name = '${name}'`,
    );
    assert.equal(
      row!.updated_at,
      calls.flat().find((e) => e.seq === 80)!.at,
      'the session was rewritten with its last batch',
    );
  });

  it('loses nothing when B stops a run while A records into it: every acknowledged batch is kept, one stop', async () => {
    const name = await fresh('stop');
    await viaA.sessions.appendEvents(name, [{ type: 'session_start', data: {} }]);
    const acknowledged: number[][] = [];
    const refused: string[] = [];
    // A writes batch after batch until it is told the run has ended.
    const writer = (async () => {
      for (let i = 0; !refused.length && i < 5000; i++) {
        try {
          acknowledged.push(
            (await viaA.sessions.appendEvents(name, [message(`w${i}`), message(`v${i}`)])).map((e) => e.seq),
          );
        } catch (error) {
          refused.push((error as { code?: string }).code ?? String(error));
        }
      }
    })();
    await eventually('a few batches through A', () => acknowledged.length >= 5);
    const stopped = await viaB.sessions.stop(name);
    await writer;
    assert.equal(stopped.runs.at(-1)!.state, 'stopped');
    assert.deepEqual(refused, ['run-ended'], 'the first write after the stop gets 409 run-ended');
    const events = (await viaB.sessions.listEvents(name, { limit: 1000 })).events;
    assert.deepEqual(
      events.map((e) => e.seq),
      range(1, events.length),
      'no gap',
    );
    for (const seqs of acknowledged)
      for (const seq of seqs) assert.equal(events[seq - 1]?.type, 'message', `acknowledged event ${seq} is stored`);
    assert.equal(events.filter((e) => e.type === 'session_stop').length, 1);
    assert.equal(events.at(-1)!.type, 'session_stop', 'nothing was recorded after the stop');
    assert.equal(events.length, 2 + acknowledged.length * 2);
  });

  it('records a batch and the session in one transaction: a batch whose session update failed is stored once when sent again', async () => {
    const name = await fresh('atomic');
    await viaA.sessions.appendEvents(name, [{ type: 'session_start', data: {} }]);
    // The database fails the session's rewrite as if it had gone away at that moment (after the events were inserted).
    await queryDatabase(
      databaseUrl,
      `
      CREATE FUNCTION aof_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the database went away' USING ERRCODE = '57P03'; END $$;
      CREATE TRIGGER aof_test_fail BEFORE UPDATE ON aof_sessions FOR EACH ROW WHEN (OLD.name = '${name}') EXECUTE FUNCTION aof_test_fail()`,
    );
    try {
      const response = await fetch(`${a.url}/sessions/${name}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...REPLICA_AUTH },
        body: JSON.stringify({ events: [message('once'), ...ending('done')] }),
      });
      assert.equal(response.status, 503, await response.text());
    } finally {
      await queryDatabase(databaseUrl, 'DROP TRIGGER aof_test_fail ON aof_sessions; DROP FUNCTION aof_test_fail()');
    }
    assert.deepEqual(
      (await viaB.sessions.listEvents(name)).events.map((e) => e.seq),
      [1],
      'the failed batch left no event',
    );
    await viaB.sessions.appendEvents(name, [message('once'), ...ending('done')]);
    const events = (await viaA.sessions.listEvents(name)).events;
    assert.deepEqual(
      events.map((e) => `${e.seq} ${e.data.text ?? e.type}`),
      ['1 session_start', '2 once', '3 done', '4 session_stop'],
    );
    assert.equal((await viaA.sessions.get(name)).runs.at(-1)!.state, 'finished');
  });

  it('sends a webhook once, though both replicas hear of the end and read the outbox', async () => {
    const name = await fresh('hook', { webhook: true });
    await viaA.sessions.appendEvents(name, [{ type: 'session_start', data: {} }, ...ending('hooked')]);
    await eventually('the webhook', () => delivered.some((d) => d.session === name));
    await sleep(1500);
    assert.deepEqual(
      delivered.filter((d) => d.session === name),
      [{ session: name, state: 'finished' }],
    );
  });

  it('counts per replica (its instance label) and tells the shared state from the database on both', async () => {
    const scrape = async (via: Orchestrator) => parse(await via.metrics());
    const finished = (samples: Sample[]) => sum(samples, 'aof_runs_ended_total', { state: 'finished' });
    const [beforeA, beforeB] = [await scrape(viaA), await scrape(viaB)];
    const endedOnA = await fresh('count');
    await viaA.sessions.appendEvents(endedOnA, [{ type: 'session_start', data: {} }, ...ending('on A')]);
    const endedOnB = await fresh('count');
    await viaB.sessions.appendEvents(endedOnB, [{ type: 'session_start', data: {} }, ...ending('on B')]);
    await fresh('count-queued');
    const [afterA, afterB] = [await scrape(viaA), await scrape(viaB)];
    assert.equal(finished(afterA) - finished(beforeA), 1, 'A counted the end it recorded');
    assert.equal(finished(afterB) - finished(beforeB), 1, 'B counted the end it recorded');
    const instance = (samples: Sample[]) =>
      samples.find((s) => s.name === 'aof_runs_ended_total' && s.labels.state === 'finished')?.labels.instance;
    assert.ok(instance(afterA) && instance(afterB) && instance(afterA) !== instance(afterB), 'one instance each');
    const info = await viaB.runtimeInfo();
    const counts = (await viaA.sessions.list()).counts;
    for (const samples of [afterA, afterB]) {
      assert.equal(sum(samples, 'aof_runs_queued'), info.queued);
      assert.ok(info.queued >= 1);
      for (const [state, count] of Object.entries(counts)) assert.equal(sum(samples, 'aof_sessions', { state }), count);
      assert.equal(sum(samples, 'aof_store_up'), 1);
    }
  });

  it('keeps a stream on B going across a database restart, with no event lost', async function () {
    this.timeout(120_000);
    const name = await fresh('restart');
    const stream = await follow(b.url, name);
    // The changes stream cannot replay what it missed: B ends it once it listens again, and says so.
    const changeStream = viaB.sessions.changes();
    let told = 0;
    const changesEnded = (async () => {
      for await (const _change of changeStream) told++;
      return 'ended quietly';
    })().catch((error: Error) => error.name);
    // It tells only of changes after it opened: it is open once it tells of one.
    await eventually('the changes stream on B to open', async () => {
      await fresh('probe');
      return told > 0;
    });
    await viaA.sessions.appendEvents(name, [message('before')]);
    await eventually('the event before the restart', () => stream.seen.length === 1);
    await restartPostgres();
    assert.equal(await within('the end of the changes stream on B', changesEnded, 30_000), 'ConnectionError');
    // The first writes after the restart may come before B listens again: B catches up from the table.
    const written: number[] = [];
    for (let i = 0; i < 5; i++) {
      const events = await eventually('a write after the restart', () =>
        viaA.sessions.appendEvents(name, [message(`after ${i}`)]),
      );
      written.push(events[0]!.seq);
    }
    await eventually('every event on B', () => stream.seen.length === 6, 30_000);
    await sleep(300);
    await stream.close();
    assert.deepEqual(stream.seqs(), range(1, 6));
    assert.deepEqual(written, range(2, 6));
  });
});
