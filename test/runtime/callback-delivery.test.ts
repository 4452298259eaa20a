// What keeps a callback's delivery exactly-once in the store, on both backends (the real runtime in
// this process, runs moved by recorded events): a resume that would deliver a callback a run of the
// parent already lists is refused, also once that run has ended. And a data dir written before
// callbacks were part of the store (its `callbacks.db`) keeps its callbacks: listed, and the pending
// one delivered at start.
import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Orchestrator } from '../../sdk/index.js';
import { HttpProblem } from '../../servers/common/contract/problem.js';
import type { RunningRuntime } from '../../servers/runtime/server.js';
import type { EventInput } from '../../servers/runtime/session-store.js';
import { eventually } from '../support/processes.js';
import { STORE_BACKENDS } from '../support/postgres.js';
import { startLoneRuntime } from '../support/runtime-on-dir.js';
import { removeDir, tempDir } from '../support/servers.js';

const run = (text: string): EventInput[] => [
  { type: 'session_start', data: {} },
  { type: 'result', data: { text, is_error: false } },
  { type: 'session_stop', data: { exit_code: 0, signal: null, reason: 'exited' } },
];

for (const backend of STORE_BACKENDS)
  describe(`callback delivery in the store (${backend.label})`, function () {
    this.timeout(30_000);
    let dataDir: string;
    let runtime: RunningRuntime;

    beforeEach(async () => {
      dataDir = await tempDir();
      runtime = await startLoneRuntime(dataDir, { databaseUrl: await backend.databaseUrl() });
    });
    afterEach(async () => {
      await runtime?.close();
      await removeDir(dataDir);
    });

    it('refuses (409) a resume with a callback a run of the parent already lists, also after that run ended', async () => {
      const { sessions } = runtime;
      await sessions.create({ name: 'lead', prompt: 'lead' });
      await sessions.record('lead', run('led'));
      await sessions.resume('lead', 'first delivery', { callbacks: ['w#1#1'] });
      await sessions.record('lead', run('read it'));
      const refused = await sessions.resume('lead', 'second delivery', { callbacks: ['w#2#2', 'w#1#1'] }).then(
        () => null,
        (error: unknown) => error,
      );
      assert.ok(refused instanceof HttpProblem, `refused, not ${String(refused)}`);
      assert.equal(refused.status, 409);
      assert.match(refused.message, /w#1#1/);
      assert.equal((await sessions.get('lead')).runs.length, 2, 'no run queued');
      const other = await sessions.resume('lead', 'another delivery', { callbacks: ['w#2#2'] });
      assert.equal(other.runs.length, 3);
    });
  });

describe('callbacks in a data dir of an earlier version (callbacks.db)', function () {
  this.timeout(30_000);
  let dataDir: string;
  let runtime: RunningRuntime | undefined;

  before(async () => {
    dataDir = await tempDir();
  });
  after(async () => {
    await runtime?.close();
    await removeDir(dataDir);
  });

  it('lists the callbacks it holds and delivers the pending one at start', async () => {
    runtime = await startLoneRuntime(dataDir);
    await runtime.sessions.create({ name: 'boss', prompt: 'lead' });
    await runtime.sessions.record('boss', run('led'));
    await runtime.close();
    runtime = undefined;
    // Documents as the runtime wrote them before: one JSON document per line, keyed by `_id`.
    const doc = (child: string, over: Record<string, unknown>) =>
      JSON.stringify({
        _id: `${child}#1#1767225600000`,
        id: `${child}#1#1767225600000`,
        parent: 'boss',
        child,
        run: 1,
        state: 'finished',
        result: `from ${child}`,
        error: null,
        status: 'pending',
        created_at: '2026-01-01T00:00:00.000Z',
        settled_at: null,
        parent_run: null,
        ...over,
      });
    await appendFile(
      join(dataDir, 'callbacks.db'),
      [
        doc('old', {
          status: 'dropped',
          settled_at: '2026-01-01T00:01:00.000Z',
          reason: 'the parent session was stopped by a person',
        }),
        doc('new', { created_at: '2026-01-01T00:02:00.000Z' }),
      ]
        .map((line) => `${line}\n`)
        .join(''),
    );
    runtime = await startLoneRuntime(dataDir);
    const client = new Orchestrator({ runtimeUrl: runtime.url, parent: null });
    const listed = await eventually('the pending callback delivered', async () => {
      const found = await client.sessions.callbacks('boss');
      return found[1]?.status === 'delivered' ? found : null;
    });
    assert.deepEqual(
      listed.map((c) => [c.child, c.status, c.parent_run, c.reason ?? null]),
      [
        ['old', 'dropped', null, 'the parent session was stopped by a person'],
        ['new', 'delivered', 2, null],
      ],
    );
    const resumed = (await client.sessions.get('boss')).runs;
    assert.equal(resumed.length, 2);
    assert.match(resumed[1]!.prompt, /## new \(run 1\): finished\nfrom new/);
  });
});
