// The team options of the commands, as processes against the real servers: ao-new --parent,
// --no-parent, the parent taken from the environment an agent gets, budgets checked before any
// request, ao-tree, and ao-stop --tree.
import assert from 'node:assert/strict';
import type { Orchestrator, SessionTree } from '../../sdk/index.js';
import type { TestStack } from '../support/stack.js';
import { useStack } from './run-bin.js';

describe('ao-* team options (processes against real servers)', function () {
  this.timeout(60_000);
  // SLOW sessions stay running for the whole file (parents and children of the trees below).
  const fixture = useStack(
    (req) =>
      req.lastUserText.includes('SLOW') ? { text: 'late', delayMs: 30_000 } : { text: `ECHO: ${req.lastUserText}` },
    { agent: 'fake' },
  );
  const { run } = fixture;
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = fixture.stack;
    ao = stack.client();
    await ao.sessions.create({ name: 'chief', prompt: 'SLOW chief', parent: null });
  });

  it('ao-new takes the parent from the environment an agent gets, --parent, or none with --no-parent', async () => {
    const inside = { env: { ...stack.clientEnv, AGENT_ORCHESTRATOR_SESSION_NAME: 'chief' } };
    const auto = await run(
      'ao-new',
      ['aide', '-p', 'SLOW aide', '--async', '--json', '--max-turns', '3', '--run-timeout', '600'],
      inside,
    );
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(JSON.parse(auto.stdout).parent, 'chief');
    assert.deepEqual(JSON.parse(auto.stdout).limits, { max_turns: 3, timeout_seconds: 600 });
    const alone = await run('ao-new', ['loner', '-p', 'hi', '--no-parent', '--async', '--json'], inside);
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(JSON.parse(alone.stdout).parent, null);
    const told = await run('ao-new', [
      'deputy',
      '-p',
      'SLOW deputy',
      '--parent',
      'aide',
      '--callback',
      '--async',
      '--json',
    ]);
    assert.equal(told.code, 0, told.stderr);
    assert.deepEqual([JSON.parse(told.stdout).parent, JSON.parse(told.stdout).callback], ['aide', true]);
  });

  it('ao-new refuses a parent that does not exist, and a bad budget before any request', async () => {
    const missing = await run('ao-new', ['stray', '-p', 'hi', '--parent', 'ghost']);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      "ao-new: --parent: session 'ghost' not found — name an existing session as the parent (see ao-list-sessions), or start it without one\n",
    );
    const missingJson = await run('ao-new', ['stray', '-p', 'hi', '--parent', 'ghost', '--json']);
    assert.equal(missingJson.errorJson().error.code, 'parent_not_found');
    const negative = await run('ao-new', ['cheap', '-p', 'hi', '--max-cost-usd=-1'], {
      env: { ...stack.clientEnv, AGENT_ORCHESTRATOR_SESSION_API_URL: 'http://127.0.0.1:9' },
    });
    assert.equal(negative.code, 1);
    assert.match(negative.stderr, /--max-cost-usd must be a number greater than 0, not '-1'/);
    const lonely = await run('ao-new', ['lonely', '-p', 'hi', '--callback', '--no-parent']);
    assert.equal(lonely.code, 1);
    assert.equal(
      lonely.stderr,
      'ao-new: --callback reports to a parent session: give --parent NAME, or run ao-new from inside a session (an agent that delegates)\n',
    );
  });

  it('ao-list-sessions --parent lists the children', async () => {
    const listed = await run('ao-list-sessions', ['--parent', 'chief', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.json().sessions.map((s: { name: string; parent: string }) => [s.name, s.parent]),
      [['aide', 'chief']],
    );
  });

  it('ao-tree shows the tree with costs; ao-stop --tree stops all of it', async () => {
    const shown = await run('ao-tree', ['chief']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      /^chief {2}running {2}~\$0\.0000, with descendants ~\$0\.0000 \(3 sessions, 0 tokens\)\n {2}aide {2}running {2}~\$0\.0000, with descendants .*\n {4}deputy {2}running {2}~\$0\.0000\n$/,
    );
    assert.match(shown.stderr, /^~ marks a cost estimated from the tokens billed/);
    const json = await run('ao-tree', ['chief', '--json']);
    assert.equal((JSON.parse(json.stdout) as SessionTree).tree.sessions, 3);
    const stopped = await run('ao-stop', ['chief', '--tree']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, 'stopped\n');
    assert.equal(stopped.stderr, 'Stopped 3 sessions: chief, aide, deputy\n');
    for (const name of ['aide', 'deputy']) assert.equal((await ao.sessions.status(name)).state, 'stopped');
    const deleted = await run('ao-delete', ['chief', '--tree']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, "Deleted session 'chief' and 2 sessions below it: aide, deputy\n");
    for (const name of ['chief', 'aide', 'deputy'])
      assert.equal((await run('ao-status', [name])).stdout, 'not_existent\n');
    const none = await run('ao-tree', ['ghost']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /Session 'ghost' not found/);
  });
});
