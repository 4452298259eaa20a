// Checkpoints (`checkpoint: true` on a session or its blueprint): at the end of every run, what the
// worktree holds is one commit on the session's branch naming the session and the run, none for a run
// that changed nothing; GET /sessions/{name}/checkpoints and `ao-diff --checkpoints` list them. The
// fake agent on the fake model writes the files; real git.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InvalidRequestError, type Orchestrator } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { git, initRepo, writingModel } from '../support/git.js';
import { TestStack } from '../support/stack.js';

describe('runtime: checkpoint commits at the end of each run', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake' });
    stack.fake.respond(writingModel);
    ao = stack.client();
    repo = initRepo(join(stack.root, 'repo'));
  });
  after(async () => stack?.close());

  const finished = async (name: string) =>
    assert.equal((await ao.sessions.waitForResult(name, { timeoutMs: 40_000 })).state, 'finished');

  it('commits each run that changed something as one commit; a run that changed nothing adds none', async () => {
    await ao.sessions.create({
      name: 'stepper',
      prompt: 'WRITE a.txt one',
      project_dir: repo,
      worktree: true,
      checkpoint: true,
    });
    await finished('stepper');
    const { worktree } = await ao.sessions.get('stepper');
    assert.equal(worktree?.checkpoint, true);
    const path = worktree!.path;
    assert.equal(git(path, 'status', '--porcelain'), '', 'the run ended committed');
    assert.equal(git(path, 'log', '-1', '--format=%s'), "aof: checkpoint of session 'stepper', run 1 (finished)");

    await ao.sessions.resume('stepper', { prompt: 'hello' });
    await finished('stepper');
    // Work by hand between runs belongs to the next run's checkpoint.
    writeFileSync(join(path, 'readme.txt'), 'edited\n');
    await ao.sessions.resume('stepper', { prompt: 'WRITE b.txt two' });
    await finished('stepper');

    const list = await ao.sessions.checkpoints('stepper');
    assert.equal(list.enabled, true);
    assert.equal(list.branch, 'aof/stepper');
    assert.equal(list.base_commit, worktree!.base_commit);
    assert.deepEqual(
      list.checkpoints.map((c) => [c.run, c.message, c.files.map((f) => `${f.status} ${f.path}`), c.additions]),
      [
        [1, "aof: checkpoint of session 'stepper', run 1 (finished)", ['added a.txt'], 1],
        [3, "aof: checkpoint of session 'stepper', run 3 (finished)", ['added b.txt', 'modified readme.txt'], 2],
      ],
    );
    assert.equal(list.checkpoints[1]!.commit, git(repo, 'rev-parse', 'aof/stepper'));
    assert.equal(git(repo, 'rev-list', '--count', `${worktree!.base_commit}..aof/stepper`), '2');
    // Each run is one revertible commit: undoing run 1 leaves run 3's work.
    git(path, 'revert', '--no-edit', list.checkpoints[0]!.commit);
    assert.deepEqual(git(path, 'ls-files').split('\n').sort(), ['b.txt', 'readme.txt']);

    const config = await runBin('ao-show-config', ['stepper'], { env: stack.clientEnv });
    assert.match(
      config.stdout,
      /^checkpoint: +one commit per run that changes something \(ao-diff stepper --checkpoints\)$/m,
    );
    const r = await runBin('ao-diff', ['stepper', '--checkpoints'], { env: stack.clientEnv });
    assert.equal(r.code, 0, r.stderr);
    const [first, second] = list.checkpoints;
    assert.equal(
      r.stdout,
      `run 1  ${first!.commit.slice(0, 12)}  +1 -0  a.txt\nrun 3  ${second!.commit.slice(0, 12)}  +2 -1  b.txt, readme.txt\n`,
    );
  });

  it("follows the blueprint's checkpoint; a session without lists none and keeps its work uncommitted", async () => {
    await ao.agents.create({ name: 'careful', description: 'checkpoints', worktree: true, checkpoint: true });
    await ao.sessions.create({
      name: 'by-blueprint',
      agent: 'careful',
      prompt: 'WRITE c.txt three',
      project_dir: repo,
    });
    await ao.sessions.create({ name: 'loose', prompt: 'WRITE d.txt four', project_dir: repo, worktree: true });
    await finished('by-blueprint');
    await finished('loose');
    assert.deepEqual(
      (await ao.sessions.checkpoints('by-blueprint')).checkpoints.map((c) => c.run),
      [1],
    );
    const loose = await ao.sessions.checkpoints('loose');
    assert.equal(loose.enabled, false);
    assert.deepEqual(loose.checkpoints, []);
    assert.equal(git((await ao.sessions.get('loose')).worktree!.path, 'status', '--porcelain'), '?? d.txt');
    const r = await runBin('ao-diff', ['loose', '--checkpoints'], { env: stack.clientEnv });
    assert.equal(
      r.stdout,
      'No checkpoints: the session was started without them (ao-new NAME --worktree --checkpoint)\n',
    );
  });

  it('leaves a worktree in the middle of a merge as the agent left it: its conflict is not committed', async () => {
    git(repo, 'branch', 'theirs');
    git(repo, 'checkout', '--quiet', 'theirs');
    writeFileSync(join(repo, 'e.txt'), 'theirs\n');
    git(repo, 'add', 'e.txt');
    git(repo, 'commit', '--quiet', '-m', 'theirs adds e.txt');
    git(repo, 'checkout', '--quiet', 'main');
    await ao.sessions.create({
      name: 'merging',
      prompt: 'WRITE e.txt ours',
      project_dir: repo,
      worktree: true,
      checkpoint: true,
    });
    await finished('merging');
    const path = (await ao.sessions.get('merging')).worktree!.path;
    assert.throws(() => git(path, 'merge', 'theirs')); // add/add: a conflict in e.txt
    await ao.sessions.resume('merging', { prompt: 'WRITE f.txt more' });
    await finished('merging');
    assert.deepEqual(
      (await ao.sessions.checkpoints('merging')).checkpoints.map((c) => c.run),
      [1],
    );
    assert.ok(git(path, 'rev-parse', '-q', '--verify', 'MERGE_HEAD'), 'the merge still waits to be finished');
    assert.match(git(path, 'status', '--porcelain'), /^AA e\.txt$/m);
  });

  it('refuses checkpoints without a worktree, naming the field (and the flag); a session without one has none to list', async () => {
    const refused = await ao.sessions
      .create({ name: 'nowhere', prompt: 'hi', project_dir: repo, checkpoint: true })
      .catch((e: unknown) => e);
    assert.ok(refused instanceof InvalidRequestError && refused.status === 422, String(refused));
    assert.deepEqual(
      refused.errors.map((e) => e.field),
      ['body.checkpoint'],
    );
    const r = await runBin('ao-new', ['nowhere', '-p', 'hi', '--checkpoint', '--project-dir', repo], {
      env: stack.clientEnv,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--checkpoint: checkpoints are commits on the session's own branch/);

    await ao.sessions.create({ name: 'plain', prompt: 'hi', project_dir: repo });
    const plain = await ao.sessions.checkpoints('plain').catch((e: unknown) => e);
    assert.ok(plain instanceof ConflictError && plain.code === 'no-worktree', String(plain));
    const cli = await runBin('ao-diff', ['plain', '--checkpoints'], { env: stack.clientEnv });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /Session 'plain' has no git worktree of its own/);
  });
});
