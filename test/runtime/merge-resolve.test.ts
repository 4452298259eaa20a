// A merge that conflicts, sent back to the session (ao-merge --resolve, `resolve: true`): the session
// is resumed with a message naming the files and the target, the (scripted) agent merges the target
// into its branch and resolves the conflict in its worktree, and when that run ends the runtime
// merges again, into a branch nobody has checked out; the person's checkout is not touched.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Orchestrator } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { commitOn, git, initRepo, resolvingModel } from '../support/git.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

describe('runtime: a merge conflict sent back to the session (resolve)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake' });
    // A conflict sent back: the agent merges the target in and keeps both sides.
    stack.fake.respond(resolvingModel(() => 'agent and person'));
    ao = stack.client();
    repo = initRepo(join(stack.root, 'repo'));
    await ao.sessions.create({
      name: 'clasher',
      prompt: 'WRITE clash.txt agent',
      project_dir: repo,
      worktree: true,
    });
    assert.equal((await ao.sessions.waitForResult('clasher', { timeoutMs: 60_000 })).state, 'finished');
    // Meanwhile the person adds clash.txt on 'target'; and their checkout of main is dirty.
    git(repo, 'branch', 'target');
    commitOn(repo, 'target', 'clash.txt', 'person\n', 'person adds clash.txt');
    writeFileSync(join(repo, 'readme.txt'), 'work in progress\n');
  });
  after(async () => stack?.close());

  it('resumes the session with the conflict, then merges when its run ends', async () => {
    const target = git(repo, 'rev-parse', 'target');
    const r = await runBin('ao-merge', ['clasher', '--into', 'target', '--resolve'], { env: stack.clientEnv });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "aof/clasher conflicts with target in clash.txt: nothing was merged yet. Session 'clasher' is resumed to resolve it (run 2); it is merged into target when that run ends — follow it with ao-get-result clasher --wait\n",
    );
    const session = await ao.sessions.get('clasher');
    assert.equal(session.runs.length, 2);
    assert.match(
      session.runs[1]!.prompt,
      /^Your branch aof\/clasher could not be merged into 'target': they conflict in clash\.txt\.\n\nIn your working directory, merge it into your branch \(`git merge target`/,
    );
    assert.equal((await ao.sessions.waitForResult('clasher', { timeoutMs: 60_000 })).state, 'finished');
    await eventually('the merge after the fix', () => git(repo, 'rev-parse', 'target') !== target, 30_000);
    assert.equal(git(repo, 'show', 'target:clash.txt'), 'agent and person');
    assert.equal(git(repo, 'log', '-1', '--format=%s', 'target'), 'Merge aof/clasher into target');
    assert.equal(git(repo, 'rev-parse', 'target^1'), target, 'on top of what the person had');
    assert.equal(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD'), 'main');
    assert.equal(readFileSync(join(repo, 'readme.txt'), 'utf8'), 'work in progress\n', 'the checkout is untouched');
    assert.equal(git(repo, 'status', '--porcelain'), 'M readme.txt');
  });

  it('without resolve a conflict is still a 409 that changes nothing', async () => {
    git(repo, 'branch', 'other', 'target~1');
    commitOn(repo, 'other', 'clash.txt', 'someone else\n', 'someone else adds clash.txt');
    const other = git(repo, 'rev-parse', 'other');
    const r = await runBin('ao-merge', ['clasher', '--into', 'other'], { env: stack.clientEnv });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /conflicts in clash\.txt; nothing was changed/);
    assert.equal(git(repo, 'rev-parse', 'other'), other);
    assert.equal((await ao.sessions.get('clasher')).runs.length, 2, 'not resumed');
  });
});
