// Merging a session's worktree into a branch (POST /sessions/{name}/merge) with real git, the
// agents' files written by the fake agent on the fake model: merge, squash and rebase land
// on the target branch, conflicts and a branch checked out somewhere are refused with nothing
// changed, and the person's dirty checkout (files, index, stash, HEAD) stays byte-identical.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConflictError, InvalidRequestError, type Orchestrator } from '../../sdk/index.js';
import { checkoutSnapshot as snapshot, commitOn, dirtyCheckout, git, initRepo, writingModel } from '../support/git.js';
import { runBin } from '../bin/run-bin.js';
import { TestStack } from '../support/stack.js';

describe('runtime: merging a session without touching the checkout', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;
  let before_: Record<string, string>;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake', executorOptions: { maxConcurrent: 3 } });
    stack.fake.respond(writingModel);
    ao = stack.client();
    repo = initRepo(join(stack.root, 'repo'), { 'shared.txt': 'base\n', 'tracked.txt': 'tracked\n' }, [
      'release',
      'squashed',
      'rebased',
      'moved',
      'ahead',
    ]);
    // 'moved' gains a commit of its own that adds clash.txt (a conflict for an agent that adds it too).
    commitOn(repo, 'moved', 'clash.txt', "the person's version\n", 'person adds clash.txt');
    // 'ahead' gains a commit that conflicts with nobody.
    commitOn(repo, 'ahead', 'other.txt', 'elsewhere\n', 'person adds other.txt');
    dirtyCheckout(repo, 'tracked.txt');
    before_ = snapshot(repo);

    await Promise.all([
      ao.sessions.create({
        name: 'adder',
        prompt: 'WRITE added.txt from the agent',
        project_dir: repo,
        worktree: true,
      }),
      ao.sessions.create({
        name: 'clasher',
        prompt: 'WRITE clash.txt agent version',
        project_dir: repo,
        worktree: true,
      }),
      ao.sessions.create({ name: 'idle', prompt: 'hello', project_dir: repo, worktree: true }),
    ]);
    for (const name of ['adder', 'clasher', 'idle'])
      assert.equal((await ao.sessions.waitForResult(name, { timeoutMs: 60_000 })).state, 'finished');
  });
  after(async () => stack?.close());

  it("merges what the agent left uncommitted into another branch; the person's dirty checkout stays byte-identical", async () => {
    const release = git(repo, 'rev-parse', 'release');
    const result = await ao.sessions.merge('adder', { into: 'release' });
    assert.equal(result.into, 'release');
    assert.equal(result.branch, 'aof/adder');
    assert.equal(result.strategy, 'merge');
    assert.equal(result.previous_commit, release);
    assert.equal(result.commit, git(repo, 'rev-parse', 'release'));
    assert.equal(result.commits, 2, "the agent's leftovers committed, and the merge commit");
    assert.equal(git(repo, 'show', 'release:added.txt'), 'from the agent');
    assert.equal(git(repo, 'rev-list', '--parents', '-n', '1', 'release').split(' ').length, 3, 'a merge commit');
    assert.equal(git(repo, 'log', '-1', '--format=%s', 'release'), 'Merge aof/adder into release');
    const { path } = (await ao.sessions.get('adder')).worktree!;
    assert.equal(git(path, 'status', '--porcelain'), '', "the session's worktree is committed");
    assert.deepEqual(snapshot(repo), before_, 'working tree, index, HEAD and stash untouched');
    assert.equal(
      git(repo, 'worktree', 'list').split('\n').length,
      4,
      'the checkout and the three sessions: no scratch worktree left',
    );
  });

  it('squash makes one commit with the message given; rebase replays on the branch', async () => {
    const squash = await ao.sessions.merge('adder', { into: 'squashed', strategy: 'squash', message: 'Add added.txt' });
    assert.equal(squash.commits, 1);
    assert.equal(git(repo, 'rev-list', '--parents', '-n', '1', 'squashed').split(' ').length, 2, 'one parent');
    assert.equal(git(repo, 'log', '-1', '--format=%s', 'squashed'), 'Add added.txt');
    assert.equal(git(repo, 'show', 'squashed:added.txt'), 'from the agent');

    const rebase = await ao.sessions.merge('adder', { into: 'rebased', strategy: 'rebase' });
    assert.equal(rebase.commits, 1);
    assert.equal(rebase.commit, git(repo, 'rev-parse', 'aof/adder'), 'not moved since: a fast-forward');
    // A target that moved on: the branch's commits are replayed on it, one parent each.
    const ahead = git(repo, 'rev-parse', 'ahead');
    const replayed = await ao.sessions.merge('adder', { into: 'ahead', strategy: 'rebase' });
    assert.equal(replayed.commits, 1);
    assert.notEqual(replayed.commit, git(repo, 'rev-parse', 'aof/adder'));
    assert.equal(git(repo, 'rev-parse', `${replayed.commit}^`), ahead, 'on top of what the target had');
    assert.equal(git(repo, 'rev-list', '--parents', '-n', '1', 'ahead').split(' ').length, 2);
    assert.equal(git(repo, 'show', 'ahead:added.txt'), 'from the agent');
    assert.equal(git(repo, 'show', 'ahead:other.txt'), 'elsewhere');
    assert.equal(git(repo, 'log', '-1', '--format=%s', 'ahead'), "aof: what session 'adder' left uncommitted");
    assert.deepEqual(snapshot(repo), before_);
  });

  it('refuses, changing nothing: a conflict, a branch checked out, an unknown branch, nothing to merge, no worktree', async () => {
    const moved = git(repo, 'rev-parse', 'moved');
    const clash = await ao.sessions.merge('clasher', { into: 'moved' }).catch((e: unknown) => e);
    assert.ok(clash instanceof ConflictError, String(clash));
    assert.equal(clash.code, 'merge-conflict');
    assert.match(
      clash.message,
      /^Merging 'aof\/clasher' into 'moved' \(merge\) conflicts in clash\.txt; nothing was changed/,
    );
    assert.equal(git(repo, 'rev-parse', 'moved'), moved);
    const rebaseClash = await ao.sessions
      .merge('clasher', { into: 'moved', strategy: 'rebase' })
      .catch((e: unknown) => e);
    assert.ok(rebaseClash instanceof ConflictError && rebaseClash.code === 'merge-conflict', String(rebaseClash));
    assert.equal(git(repo, 'rev-parse', 'moved'), moved);

    const main = await ao.sessions.merge('clasher', { into: 'main' }).catch((e: unknown) => e);
    assert.ok(main instanceof ConflictError, String(main));
    assert.equal(main.code, 'branch-checked-out');
    assert.match(main.message, new RegExp(`^Branch 'main' is checked out in '${repo}'`));
    assert.match(main.message, /run `git merge aof\/clasher` in that checkout/);

    const unknown = await ao.sessions.merge('clasher', { into: 'nope' }).catch((e: unknown) => e);
    assert.ok(unknown instanceof InvalidRequestError && unknown.status === 422, String(unknown));
    assert.equal(unknown.code, 'branch-not-found');
    assert.deepEqual(
      unknown.errors.map((e) => e.field),
      ['body.into'],
    );
    assert.match(unknown.message, /no branch 'nope' in '.*'; name an existing local branch/);

    const own = await ao.sessions.merge('clasher', { into: 'aof/clasher' }).catch((e: unknown) => e);
    assert.ok(own instanceof InvalidRequestError && own.status === 422, String(own));

    const nothing = await ao.sessions.merge('idle', { into: 'release' }).catch((e: unknown) => e);
    assert.ok(nothing instanceof ConflictError && nothing.code === 'nothing-to-merge', String(nothing));

    await ao.sessions.create({ name: 'plain', prompt: 'hi', project_dir: repo });
    await ao.sessions.waitForResult('plain', { timeoutMs: 30_000 });
    const plain = await ao.sessions.merge('plain', { into: 'release' }).catch((e: unknown) => e);
    assert.ok(plain instanceof ConflictError && plain.code === 'no-worktree', String(plain));

    assert.deepEqual(snapshot(repo), before_);
    assert.equal(git(repo, 'worktree', 'list').split('\n').length, 4, 'no scratch worktree left behind');
  });

  it('refuses a branch checked out in another working tree, and a merge queue a bad target before any child: problem+json that says what to do', async () => {
    // The person's second working tree, and another session's worktree, each have a branch checked out.
    git(repo, 'branch', 'elsewhere');
    const second = join(stack.root, 'second-checkout');
    git(repo, 'worktree', 'add', '--quiet', second, 'elsewhere');
    const elsewhere = git(repo, 'rev-parse', 'elsewhere');
    const response = await fetch(`${stack.runtimeUrl}/sessions/clasher/merge`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(stack.token ? { authorization: `Bearer ${stack.token}` } : {}),
      },
      body: JSON.stringify({ into: 'elsewhere' }),
    });
    assert.equal(response.status, 409);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = (await response.json()) as { type: string; detail: string };
    assert.equal(problem.type, 'urn:aof:problem:branch-checked-out');
    assert.equal(
      problem.detail,
      `Branch 'elsewhere' is checked out in '${second}'; merging into it there would leave that working tree behind its branch. Merge into a branch that is not checked out (and bring it in there yourself), or run \`git merge aof/clasher\` in that checkout`,
    );
    const own = await ao.sessions.merge('clasher', { into: 'aof/idle' }).catch((e: unknown) => e);
    assert.ok(own instanceof ConflictError && own.code === 'branch-checked-out', String(own));
    assert.match(own.message, /^Branch 'aof\/idle' is checked out in '.+'/);

    await ao.sessions.create({ name: 'boss', prompt: 'hello', project_dir: repo });
    await ao.sessions.create({
      name: 'kid',
      prompt: 'WRITE kid.txt kid',
      project_dir: repo,
      worktree: true,
      parent: 'boss',
    });
    for (const name of ['boss', 'kid'])
      assert.equal((await ao.sessions.waitForResult(name, { timeoutMs: 30_000 })).state, 'finished');
    const queued = await ao.sessions.mergeChildren('boss', { into: 'elsewhere' }).catch((e: unknown) => e);
    assert.ok(queued instanceof ConflictError && queued.code === 'branch-checked-out', String(queued));
    const unknown = await ao.sessions.mergeChildren('boss', { into: 'nope' }).catch((e: unknown) => e);
    assert.ok(unknown instanceof InvalidRequestError && unknown.code === 'branch-not-found', String(unknown));
    const cli = await runBin('ao-merge', ['boss', '--children', '--into', 'nope'], { env: stack.clientEnv });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /--into: no branch 'nope' in '.+'; name an existing local branch/);
    assert.equal(git(repo, 'rev-parse', 'elsewhere'), elsewhere, 'nothing merged');
    assert.equal(
      git((await ao.sessions.get('kid')).worktree!.path, 'status', '--porcelain'),
      '?? kid.txt',
      'nothing committed',
    );
    assert.deepEqual(snapshot(repo), before_);
    git(repo, 'worktree', 'remove', second);
  });
});
