// A merge queue for a parent's children (ao-merge NAME --children --into B): each child merged in
// creation order, rebased on the last one merged; the child that conflicts with an earlier one is
// sent its conflict, rebases and resolves it (a scripted agent), and lands when that run ends. The
// person's dirty checkout (files, index, HEAD, stash) stays byte-identical throughout.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Orchestrator } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { checkoutSnapshot as snapshot, dirtyCheckout, git, initRepo, resolvingModel } from '../support/git.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

describe('runtime: the merge queue of a parent (merge-children)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake' });
    // A conflict sent back (rebase): the child rebases on the target and keeps both lines.
    stack.fake.respond(resolvingModel(() => 'one and two'));
    ao = stack.client();
    repo = initRepo(join(stack.root, 'repo'), undefined, ['release']);
    await ao.sessions.create({ name: 'lead', prompt: 'hello', project_dir: repo });
    // Created one after the other: the queue's order. c1 and c2 both add shared.txt; c3 adds its own.
    for (const [name, prompt] of [
      ['c1', 'WRITE shared.txt one'],
      ['c2', 'WRITE shared.txt two'],
      ['c3', 'WRITE other.txt three'],
    ] as const)
      await ao.sessions.create({ name, prompt, project_dir: repo, worktree: true, parent: 'lead' });
    for (const name of ['lead', 'c1', 'c2', 'c3'])
      assert.equal((await ao.sessions.waitForResult(name, { timeoutMs: 60_000 })).state, 'finished');
  });
  after(async () => stack?.close());

  it('lands the children in order, sends the conflict back to the child that has it, and lands it after its fix', async () => {
    dirtyCheckout(repo);
    const before_ = snapshot(repo);

    const r = await runBin('ao-merge', ['lead', '--children', '--into', 'release'], { env: stack.clientEnv });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    assert.match(lines[0]!, /^c1: merged into release \(now at [0-9a-f]{12}\)$/);
    assert.equal(lines[1], 'c2: conflicts in shared.txt; resumed to resolve it (run 2), merged when that run ends');
    assert.match(lines[2]!, /^c3: merged into release/);
    assert.equal(git(repo, 'show', 'release:shared.txt'), 'one');
    assert.equal(git(repo, 'show', 'release:other.txt'), 'three');
    assert.match((await ao.sessions.get('c2')).runs[1]!.prompt, /rebase your branch on it \(`git rebase release`/);

    assert.equal((await ao.sessions.waitForResult('c2', { timeoutMs: 60_000 })).state, 'finished');
    await eventually(
      'c2 landed after its fix',
      () => git(repo, 'show', 'release:shared.txt') === 'one and two',
      30_000,
    );
    assert.equal(git(repo, 'show', 'release:other.txt'), 'three', "c3's work is still there");
    assert.equal(git(repo, 'rev-list', '--merges', 'release'), '', 'rebased: no merge commits');
    assert.deepEqual(snapshot(repo), before_, 'working tree, index, HEAD and stash untouched');
  });
});
