// Callbacks across two runtime processes (executor `none`) on one real PostgreSQL database: a child's
// end recorded through one process is listed through the other, the parent is resumed once with it
// though both processes hear of it, a process SIGKILLed right after recording a child's end leaves the
// delivery to the other (no restart), both processes delivering at once resume each parent once, and a
// pending callback nobody told of is found by the other process's sweep.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Orchestrator, EventInput } from '../../sdk/index.js';
import { CALLBACK_SWEEP_MS } from '../../servers/runtime/callbacks.js';
import { eventually, within } from '../support/processes.js';
import { freshDatabase, queryDatabase } from '../support/postgres.js';
import { clientOf, printLogsWhenATestFails, startPair, startReplica, type Replica } from '../support/replicas.js';

const CALLBACK_MARK = 'callback from the Agent Orchestrator';
const start: EventInput[] = [{ type: 'session_start', data: {} }];
const ending = (text: string): EventInput[] => [
  { type: 'result', data: { text, is_error: false } },
  { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'exited' } },
];

describe('callbacks across two runtime processes on one PostgreSQL', function () {
  this.timeout(120_000);
  let databaseUrl: string;
  let a: Replica;
  let b: Replica;
  let viaA: Orchestrator;
  let viaB: Orchestrator;
  let counter = 0;
  const next = (prefix: string) => `${prefix}-${++counter}`;

  /** A parent whose first run ended (idle) or is running (busy), made through `via`. */
  const parent = async (via: Orchestrator, state: 'idle' | 'busy') => {
    const name = next('parent');
    await via.sessions.create({ name, prompt: 'lead' });
    await via.sessions.appendEvents(name, state === 'idle' ? [...start, ...ending('led')] : start);
    return name;
  };
  const child = async (via: Orchestrator, parentName: string) => {
    const name = next('child');
    await via.sessions.create({ name, prompt: 'work', parent: parentName, callback: true });
    return name;
  };
  /** The parent's runs: how many, and the prompt of each after the first. */
  const resumes = async (via: Orchestrator, name: string) =>
    (await via.sessions.get(name)).runs.slice(1).map((r) => r.prompt);

  before(async () => {
    databaseUrl = await freshDatabase();
    ({ a, b, viaA, viaB } = await startPair(databaseUrl));
  });
  printLogsWhenATestFails(() => ({ A: a, B: b }));
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('lists on B the outcome of a child ended through A, and resumes the parent once with it', async () => {
    const lead = await parent(viaA, 'idle');
    const worker = await child(viaB, lead);
    await viaA.sessions.appendEvents(worker, [...start, ...ending('the answer is 42')]);
    const [listed] = await eventually('the callback delivered, as B lists it', async () => {
      const found = await viaB.sessions.callbacks(lead);
      return found[0]?.status === 'delivered' ? found : null;
    });
    assert.equal(listed!.child, worker);
    assert.equal(listed!.state, 'finished');
    assert.equal(listed!.result, 'the answer is 42');
    assert.equal(listed!.parent_run, 2);
    assert.deepEqual(
      await viaA.sessions.callbacks(lead),
      await viaB.sessions.callbacks(lead),
      'both processes list the same',
    );
    // Both processes heard of the child's end; a second resume would come at once, or at a sweep.
    await sleep(CALLBACK_SWEEP_MS + 500);
    const prompts = await resumes(viaB, lead);
    assert.equal(prompts.length, 1, 'resumed once');
    assert.match(prompts[0]!, new RegExp(CALLBACK_MARK));
    assert.match(prompts[0]!, new RegExp(`## ${worker} \\(run 1\\): finished\\nthe answer is 42`));
  });

  it('delivers on B what A recorded just before it was SIGKILLed, without a restart of A', async () => {
    const lead = await parent(viaB, 'idle');
    const worker = await child(viaB, lead);
    await viaA.sessions.appendEvents(worker, start);
    await viaA.sessions.appendEvents(worker, ending('done before the crash'));
    await a.kill();
    try {
      const [delivered] = await eventually('the callback delivered through B', async () => {
        const found = await viaB.sessions.callbacks(lead);
        return found[0]?.status === 'delivered' ? found : null;
      });
      assert.equal(delivered!.parent_run, 2);
      await sleep(CALLBACK_SWEEP_MS + 500);
      const prompts = await resumes(viaB, lead);
      assert.equal(prompts.length, 1, 'resumed once');
      assert.match(prompts[0]!, /done before the crash/);
    } finally {
      // A again, for the tests after this one (on a data dir of its own: the database holds everything).
      await a.stop();
      a = await startReplica(databaseUrl);
      viaA = clientOf(a);
    }
  });

  it('resumes each parent once when both processes deliver at once, also after the resumed runs end', async () => {
    const parents: string[] = [];
    const children: string[] = [];
    for (let i = 0; i < 8; i++) {
      const lead = await parent(viaA, 'busy');
      const worker = await child(viaB, lead);
      await (i % 2 ? viaA : viaB).sessions.appendEvents(worker, [...start, ...ending(`result ${i}`)]);
      parents.push(lead);
      children.push(worker);
    }
    for (const lead of parents) {
      const [pending] = await viaB.sessions.callbacks(lead);
      assert.equal(pending?.status, 'pending', 'the parent is busy: its callback waits');
    }
    // Each parent's run ends through one process; the other hears of it: both deliver at once.
    await Promise.all(parents.map((lead, i) => (i % 2 ? viaB : viaA).sessions.appendEvents(lead, ending('led'))));
    await eventually('every parent resumed', async () => {
      for (const lead of parents) if ((await viaA.sessions.get(lead)).runs.length < 2) return false;
      return true;
    });
    // The resumed runs end at once: a process that read a callback as pending before must not resume again.
    await Promise.all(
      parents.map((lead, i) =>
        (i % 2 ? viaA : viaB).sessions.appendEvents(lead, [...start, ...ending('read the callback')]),
      ),
    );
    await sleep(CALLBACK_SWEEP_MS + 500);
    for (const [i, lead] of parents.entries()) {
      const prompts = await resumes(viaA, lead);
      assert.equal(prompts.length, 1, `${lead} resumed once`);
      assert.match(prompts[0]!, new RegExp(`## ${children[i]} \\(run 1\\): finished\\nresult ${i}`));
      const callbacks = await viaB.sessions.callbacks(lead);
      assert.deepEqual(
        callbacks.map((c) => [c.child, c.status, c.parent_run]),
        [[children[i], 'delivered', 2]],
      );
    }
  });

  it("delivers a pending callback that no process told of, at B's next sweep", async () => {
    const lead = await parent(viaA, 'idle');
    // What a process leaves behind that recorded a child's end and died before delivering it, when
    // the other processes missed the notice of that end: a pending row, and no change to hear of.
    await queryDatabase(
      databaseUrl,
      `INSERT INTO aof_callbacks (id, parent, child, run, state, result, error, status, created_at, settled_at, parent_run)
      VALUES ('orphan#1#1', '${lead}', 'orphan', 1, 'failed', null, 'it broke', 'pending', '2026-01-01T00:00:00.000Z', null, null)`,
    );
    const delivered = await within(
      'the sweep',
      eventually(
        'the orphan delivered',
        async () => {
          const [found] = await viaB.sessions.callbacks(lead);
          return found?.status === 'delivered' ? found : null;
        },
        CALLBACK_SWEEP_MS * 4,
      ),
      CALLBACK_SWEEP_MS * 5,
    );
    assert.equal(delivered.parent_run, 2);
    await sleep(CALLBACK_SWEEP_MS + 500);
    const prompts = await resumes(viaA, lead);
    assert.equal(prompts.length, 1, 'resumed once, though both processes sweep');
    assert.match(prompts[0]!, /## orphan \(run 1\): failed\nError: it broke/);
  });
});
