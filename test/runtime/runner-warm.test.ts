// A runner's own warm Claude Code processes (servers/runner, servers/executor/warm-*.ts), with the fake
// agent (test/support/fake-agent.mjs, which speaks the CLI's stream-json input protocol; the runner's
// and the runtime's bookkeeping are the point, runtime/warm-pool checks a warm run of the real CLI):
// a run it claims takes one whose key matches, the runtime ties the process's credential to the run
// (its agent's child records it as parent), the agent's commands see its session, the runner tells its
// pool in its heartbeats and GET /runtime shows it, and its stop leaves no idle one behind.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeInfo } from '../../sdk/index.js';
import { repoRoot } from '../support/claude-env.js';
import type { FakeRequest } from '../support/fake-model.js';
import { eventually, groupMembers } from '../support/processes.js';
import { startRunnerProcess, type RunnerProcess } from '../support/runners.js';
import { removeDir, tempDir } from '../support/servers.js';
import { TestStack } from '../support/stack.js';

const aoNew = join(repoRoot, 'bin', 'ao-new');

type RunnerPool = NonNullable<RuntimeInfo['runner_warm_pools']>[number];

/** The first user prompt of the conversation. */
const firstPrompt = (req: FakeRequest) => {
  const first = req.body.messages.find((m) => m.role === 'user');
  const blocks = typeof first?.content === 'string' ? [{ type: 'text', text: first.content }] : (first?.content ?? []);
  return (
    blocks.findLast((b) => b.type === 'text' && !(b.text ?? '').trimStart().startsWith('<system-reminder>'))?.text ?? ''
  ).trim();
};

/** The pids of the warm processes in a data dir. */
function warmPids(dataDir: string): number[] {
  const dir = join(dataDir, 'warm');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((id) => {
    const file = join(dir, id, 'pid');
    return existsSync(file) ? [Number(readFileSync(file, 'utf8').split(' ')[0])] : [];
  });
}

describe("runners: a runner's own warm processes", function () {
  this.timeout(120_000);
  let stack: TestStack;
  let homes: string;
  let runner: RunnerProcess;

  before(async () => {
    stack = await TestStack.start({ executor: 'none', leaseSeconds: 2, token: 'runner-token' });
    homes = await tempDir('aof-runner-warm-');
    runner = await startRunnerProcess({
      runtimes: [stack.runtimeUrl],
      name: 'warmy',
      home: join(homes, 'warmy'),
      fakeUrl: stack.fake.url,
      agent: 'fake',
      token: 'runner-token',
      env: { AGENT_ORCHESTRATOR_WARM_ALL: '1' },
    });
  });
  after(async () => {
    await runner?.kill('SIGKILL');
    await runner?.killAgents();
    await stack?.close();
    await removeDir(homes);
  });

  /** The runner's pool as GET /runtime shows it, once `check` holds of it. */
  const runnerPool = (what: string, check: (pool: RunnerPool) => boolean) =>
    eventually(what, async () => {
      const pool = (await stack.client().runtimeInfo()).runner_warm_pools?.find((p) => p.runner === 'warmy');
      return pool && check(pool) ? pool : undefined;
    });
  const newSessions = (label: string) => label.startsWith('(no blueprint) @') && !label.includes('(resume of');

  it('runs a claimed run on a warm process, bound to its session, and shows its pool in GET /runtime', async () => {
    const ao = stack.client();
    await ao.sessions.create({ name: 'first', prompt: 'say hello' });
    assert.equal((await ao.sessions.waitForResult('first', { timeoutMs: 60_000 })).result, 'ECHO: say hello');
    const before = await runnerPool('a warm process on the runner', (pool) =>
      pool.keys.some((k) => newSessions(k.label) && k.warm > 0),
    );
    const key = before.keys.find((k) => newSessions(k.label))!;
    assert.deepEqual([key.hits, key.misses], [0, 1]);

    stack.fake.respond((req) => {
      if (firstPrompt(req) !== 'delegate') return { text: `ECHO: ${req.lastUserText}` };
      if (req.toolResults.length) return { text: `delegated: ${req.toolResults[0]!.text}` };
      const command = `${aoNew} kid -p "small job" --async && echo "ENV:$AGENT_ORCHESTRATOR_SESSION_NAME"`;
      return { toolUse: { name: 'Bash', input: { command, description: 'start a child' } } };
    });
    const idle = warmPids(runner.dataDir);
    await ao.sessions.create({ name: 'lead', prompt: 'delegate' });
    const result = await ao.sessions.waitForResult('lead', { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    // The lead's agent is one that was warm before it existed (its child may take the next one).
    const leadPid = Number(readFileSync(join(runner.dataDir, 'runs', 'lead', '1', 'pid'), 'utf8').split(' ')[0]);
    assert.ok(idle.includes(leadPid), `the lead ran on a warm process (${leadPid}, warm: ${idle.join(', ')})`);
    assert.match(result.result ?? '', /^ENV:lead$/m);
    assert.match((await ao.sessions.get('lead')).runs[0]!.runner ?? '', /^warmy@/);
    // The child, started with the warm process's credential, records the lead as its parent.
    assert.equal((await ao.sessions.get('kid')).parent, 'lead');
    await ao.sessions.waitForResult('kid', { timeoutMs: 60_000 });
    await runnerPool('the warm start counted', (pool) => pool.keys.some((k) => k.key === key.key && k.hits >= 1));
  });

  it("refuses a credential that is neither a warm process's nor the run's own, naming the field", async () => {
    const response = await fetch(`${stack.runtimeUrl}/sessions/first/runs/1/report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer runner-token' },
      body: JSON.stringify({ runner: 'warmy', attempt: 1, from: 0, events: [], credential: 'aofa_bm90LW1pbmU.1.x' }),
    });
    assert.equal(response.status, 422);
    const problem = (await response.json()) as { type: string; errors?: Array<{ field: string }> };
    assert.equal(problem.type, 'urn:aof:problem:unprocessable');
    assert.deepEqual(
      problem.errors?.map((e) => e.field),
      ['body.credential'],
    );
  });

  it("ends the runner's idle warm processes when it stops", async () => {
    await runnerPool('a warm process on the runner', (pool) => pool.keys.some((k) => k.warm > 0));
    const pids = warmPids(runner.dataDir);
    assert.ok(pids.length > 0 && pids.every((pid) => pid > 0), String(pids));
    await runner.kill('SIGTERM');
    // Killed before the runner exits; gone once the kernel has torn them down.
    await eventually('no warm process after the stop', () => pids.every((pid) => groupMembers(pid).length === 0), 5000);
  });
});
