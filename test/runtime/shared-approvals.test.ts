// Approval requests across runtime processes on one PostgreSQL database. Runtime A (the real
// `aof runtime`, a process) runs the agent: its local executor drives the fake agent
// (test/support/fake-agent.mjs, asking its permission prompt tool as the CLI does) against the fake
// model, and the permission tool asks A. Runtime B is another `aof runtime` process on the same
// database, with no executor. A request asked through A is listed and answered through B, the waits
// on A hear B's answers, and B times A's requests too.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Orchestrator, type Approval } from '../../sdk/index.js';
import { askingSession, pendingOf } from '../support/approvals.js';
import { freshDatabase } from '../support/postgres.js';
import { eventually } from '../support/processes.js';
import { REPLICA_AUTH, REPLICA_TOKEN, startReplica, type Replica } from '../support/replicas.js';
import { TestStack } from '../support/stack.js';

describe('approvals across runtime processes on one PostgreSQL', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let b: Replica;
  let aoA: Orchestrator;
  let aoB: Orchestrator;

  before(async () => {
    const databaseUrl = await freshDatabase();
    // One token for both processes, as replicas have.
    stack = await TestStack.start({ agent: 'fake', databaseUrl, runtimeProcess: true, token: REPLICA_TOKEN });
    b = await startReplica(databaseUrl);
    aoA = stack.client();
    aoB = new Orchestrator({ runtimeUrl: b.url, registryUrl: stack.registry.url, token: REPLICA_TOKEN, parent: null });
  });
  after(async () => {
    await b?.stop();
    await stack?.close();
  });

  const answer = (url: string, id: string, decision: 'approve' | 'deny') =>
    fetch(`${url}/approvals/${id}/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...REPLICA_AUTH },
      body: JSON.stringify({ decision, ...(decision === 'deny' ? { message: `denied through ${url}` } : {}) }),
    });

  it('an agent asks through A; the request is listed on B, answered through B, and the agent on A goes on', async () => {
    const { name, file, asked } = await askingSession(stack, aoA, 'shared');
    // Listed on B, and B shows the session waiting.
    const onB = await pendingOf(aoB, name);
    assert.equal(onB.id, asked.id);
    assert.deepEqual(
      (await aoB.sessions.list({ waiting: true })).sessions.map((s) => s.name),
      [name],
    );
    assert.deepEqual(await aoB.approvals.get(asked.id), asked);

    // A wait on A (what the agent's permission tool does) ends with B's answer, not at its time limit
    // (after which it would read the answer too): the limit is far beyond what an answer takes.
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'limit'>((resolve) => {
      timer = setTimeout(() => resolve('limit'), 45_000);
    });
    const waiting = aoA.approvals.get(asked.id, { waitSeconds: 55 });
    const approved = await aoB.approvals.approve(asked.id);
    assert.equal(approved.state, 'approved');
    const heard = await Promise.race([waiting, limit]);
    clearTimeout(timer);
    assert.notEqual(heard, 'limit', 'the wait on A ended when B answered');
    assert.equal(heard !== 'limit' && heard.state, 'approved');

    const result = await aoA.sessions.waitForResult(name, { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(existsSync(file), true, 'the command approved through B ran on A');
    assert.match(result.result ?? '', /error=false/);
    for (const ao of [aoA, aoB]) {
      assert.equal((await ao.sessions.get(name)).pending_approvals, 0);
      assert.equal((await ao.approvals.get(asked.id)).state, 'approved');
    }
    const types = (await aoA.sessions.listEvents(name)).events.map((e) => e.type);
    assert.equal(types.filter((t) => t === 'approval_request').length, 1, types.join(', '));
    assert.equal(types.filter((t) => t === 'approval_answer').length, 1, types.join(', '));
  });

  it('two answers at once through A and B: one wins, the other gets 409 approval-answered', async () => {
    const { name, file, asked } = await askingSession(stack, aoA, 'raced');
    await pendingOf(aoB, name);
    const answers = await Promise.all([answer(stack.runtimeUrl, asked.id, 'approve'), answer(b.url, asked.id, 'deny')]);
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 409], `statuses ${statuses.join(', ')}`);
    const winner = answers.find((r) => r.status === 200)!;
    const loser = answers.find((r) => r.status === 409)!;
    const won = (await winner.json()) as Approval;
    const problem = (await loser.json()) as { type: string; detail: string };
    assert.equal(problem.type, 'urn:aof:problem:approval-answered');
    assert.match(problem.detail, new RegExp(`already ${won.state} \\(by admin\\)`));

    const result = await aoA.sessions.waitForResult(name, { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(
      existsSync(file),
      won.state === 'approved',
      `the command ran exactly when the winner (${won.state}) approved`,
    );
    for (const ao of [aoA, aoB]) assert.deepEqual(await ao.approvals.get(asked.id), won);
    const answered = (await aoB.sessions.listEvents(name)).events.filter((e) => e.type === 'approval_answer');
    assert.deepEqual(
      answered.map((e) => e.data.state),
      [won.state],
      "one answer recorded, the winner's",
    );
  });

  it('B times the requests asked through A: with A down, B denies one at its timeout, and A, back, tells the agent', async () => {
    const { name, file, seen, asked } = await askingSession(stack, aoA, 'orphan', {
      timeout_seconds: 4,
      timeout_message: 'Nobody came; go on without it.',
    });
    await pendingOf(aoB, name);
    await stack.killRuntime();
    await eventually(
      'B to settle the request at its timeout',
      async () => (await aoB.approvals.get(asked.id)).state !== 'pending',
      30_000,
    );
    const settled = await aoB.approvals.get(asked.id);
    assert.equal(settled.state, 'denied');
    assert.equal(settled.answered_by, 'timeout');
    assert.equal(settled.message, 'Nobody came; go on without it.');
    await eventually(
      'the session on B to wait no more',
      async () => (await aoB.sessions.get(name)).pending_approvals === 0,
    );

    // A comes back; the agent's permission tool, which kept asking, gets the answer B gave.
    await stack.startRuntime();
    const result = await stack.client().sessions.waitForResult(name, { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(existsSync(file), false, 'the denied command did not run');
    assert.match(seen.at(-1)!.toolResults[0]!.text, /Nobody came; go on without it\./);
    const answered = (await aoB.sessions.listEvents(name)).events.filter((e) => e.type === 'approval_answer');
    assert.deepEqual(
      answered.map((e) => e.data.answered_by),
      ['timeout'],
    );
  });
});
