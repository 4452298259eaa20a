// ao-new --worktree and ao-show-config as processes, against the real servers; the agent is
// incidental (the fake agent on the fake model: runtime/worktree has the real CLI in a worktree).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestStack } from '../support/stack.js';
import { echoModel, uniqueName, useStack } from './run-bin.js';

describe('ao-new --worktree (processes against real servers)', function () {
  this.timeout(60_000);
  const fixture = useStack(echoModel, { agent: 'fake' });
  const { run } = fixture;
  let stack: TestStack;
  let repo: string;

  before(() => {
    stack = fixture.stack;
    repo = join(stack.root, 'repo');
    mkdirSync(repo);
    for (const args of [
      ['init', '--quiet'],
      ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '--allow-empty', '-m', 'start'],
    ]) {
      execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
    }
    fixture.cwd = repo;
  });

  it('runs the session in its own worktree; ao-show-config shows the worktree, branch and changes', async () => {
    const name = uniqueName('wt');
    const r = await run('ao-new', [name, '-p', 'hello', '--worktree']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ECHO: hello\n');
    const config = (await run('ao-show-config', [name, '--json'])).json();
    assert.equal(config.worktree.branch, `aof/${name}`);
    assert.equal(config.worktree.repository, repo);
    assert.equal(config.project_dir, config.worktree.path);
    const text = (await run('ao-show-config', [name])).stdout;
    assert.match(text, new RegExp(`^branch: +aof/${name}$`, 'm'));
    assert.match(text, new RegExp(`^worktree: +${config.worktree.path}$`, 'm'));
    assert.match(text, /^has_changes: +no$/m);
    assert.match(text, new RegExp(`^project_dir: +${config.worktree.path}$`, 'm'));
  });

  it('ao-delete says where the work is kept: the branch aof/NAME; --discard keeps nothing', async () => {
    const name = uniqueName('wt');
    assert.equal((await run('ao-new', [name, '-p', 'hello', '--worktree'])).code, 0);
    const r = await run('ao-delete', [name]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `Deleted session '${name}'\nIts work is kept on branch aof/${name} in ${repo}, what it left uncommitted committed there (git log aof/${name}; git branch -D aof/${name} deletes it)\n`,
    );
    execFileSync('git', ['rev-parse', '--verify', `aof/${name}`], { cwd: repo, stdio: 'pipe' });
    const other = uniqueName('wt');
    assert.equal((await run('ao-new', [other, '-p', 'hello', '--worktree'])).code, 0);
    const discarded = await run('ao-delete', [other, '--discard']);
    assert.equal(discarded.stdout, `Deleted session '${other}'\n`);
  });

  it('says so when the project dir is not in a git repository, or the branch exists; exit 1, nothing created', async () => {
    const name = uniqueName('wt');
    const outside = await run('ao-new', [name, '-p', 'x', '--worktree'], { cwd: stack.projectDir });
    assert.equal(outside.code, 1);
    assert.equal(
      outside.stderr,
      `ao-new: --worktree: '${stack.projectDir}' is not in a git repository; create the session without a worktree, or run git init there first\n`,
    );
    assert.equal((await run('ao-status', [name])).stdout, 'not_existent\n');
    execFileSync('git', ['branch', `aof/${name}`], { cwd: repo });
    const taken = await run('ao-new', [name, '-p', 'x', '--worktree', '--json']);
    assert.equal(taken.code, 1);
    assert.equal(taken.errorJson().error.code, 'branch_exists');
    assert.match(taken.errorJson().error.message, new RegExp(`^Branch 'aof/${name}' already exists`));
  });

  it("ao-diff shows a session's changes (patch, --stat, one FILE); ao-merge lands them on a branch; both say what to do when they cannot", async () => {
    const name = uniqueName('diff');
    assert.equal((await run('ao-new', [name, '-p', 'hello', '--worktree'])).code, 0);
    const { path } = (await run('ao-show-config', [name, '--json'])).json().worktree;
    writeFileSync(join(path, 'one.txt'), 'first line\nsecond line\n');
    writeFileSync(join(path, 'two.bin'), Buffer.from([0, 1, 2, 3, 0, 255]));

    const patch = await run('ao-diff', [name]);
    assert.equal(patch.code, 0, patch.stderr);
    assert.match(patch.stdout, /^diff --git a\/one\.txt b\/one\.txt\nnew file mode 100644\n/);
    assert.match(patch.stdout, /\n\+first line\n\+second line\n/);
    assert.match(patch.stdout, /\nBinary files \/dev\/null and b\/two\.bin differ\n$/);
    const stat = await run('ao-diff', [name, '--stat']);
    assert.equal(stat.code, 0, stat.stderr);
    const lines = stat.stdout.split('\n');
    assert.equal(lines[0], 'A one.txt  +2 -0');
    assert.equal(lines[1], 'A two.bin  binary');
    assert.match(lines[2]!, /^2 files changed, \+2 -0 against [0-9a-f]{12} \(uncommitted changes included\)$/);
    const one = await run('ao-diff', [name, 'one.txt']);
    assert.doesNotMatch(one.stdout, /two\.bin/);
    assert.match(one.stdout, /^diff --git a\/one\.txt/);
    const json = (await run('ao-diff', [name, '--json'])).json();
    assert.deepEqual(
      json.files.map((f: { path: string }) => f.path),
      ['one.txt', 'two.bin'],
    );

    const unknown = await run('ao-diff', [name, 'nope.txt']);
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr,
      `ao-diff: nope.txt is not among the files session '${name}' changed — see ao-diff ${name} --stat\n`,
    );
    const badCap = await run('ao-diff', [name, '--max-bytes', '10']);
    assert.equal(badCap.code, 1);
    assert.equal(badCap.stderr, "ao-diff: --max-bytes must be a whole number from 1024 to 16777216, not '10'\n");
    const missing = await run('ao-diff', ['nobody-here']);
    assert.equal(missing.stderr, "ao-diff: Session 'nobody-here' not found — see ao-list-sessions\n");
    const plain = uniqueName('plain');
    assert.equal((await run('ao-new', [plain, '-p', 'hello'])).code, 0);
    const noWorktree = await run('ao-diff', [plain]);
    assert.equal(noWorktree.code, 1);
    assert.match(
      noWorktree.stderr,
      new RegExp(`^ao-diff: Session '${plain}' has no git worktree of its own; it works in '${repo}' directly`),
    );

    execFileSync('git', ['branch', 'landing'], { cwd: repo });
    const merged = await run('ao-merge', [name, '--into', 'landing', '--strategy', 'squash', '-m', 'Land it']);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(
      merged.stdout,
      new RegExp(`^Merged aof/${name} into landing \\(squash\\): [0-9a-f]{12} -> [0-9a-f]{12}, 1 commit\n$`),
    );
    assert.equal(
      execFileSync('git', ['log', '-1', '--format=%s', 'landing'], { cwd: repo, encoding: 'utf8' }),
      'Land it\n',
    );
    const noInto = await run('ao-merge', [name]);
    assert.equal(noInto.code, 1);
    assert.equal(noInto.stderr, 'ao-merge: --into BRANCH is required: the branch to merge the session into\n');
    const badStrategy = await run('ao-merge', [name, '--into', 'landing', '--strategy', 'octopus']);
    assert.equal(badStrategy.stderr, "ao-merge: --strategy must be one of merge, squash, rebase, not 'octopus'\n");
    const noBranch = await run('ao-merge', [name, '--into', 'nowhere', '--json']);
    assert.equal(noBranch.code, 1);
    assert.equal(noBranch.errorJson().error.code, 'branch_not_found');
    assert.match(
      noBranch.errorJson().error.message,
      /^--into: no branch 'nowhere' in '.+'; name an existing local branch/,
    );
    const current = execFileSync('git', ['branch', '--show-current'], { cwd: repo, encoding: 'utf8' }).trim();
    const checkedOut = await run('ao-merge', [name, '--into', current]);
    assert.equal(checkedOut.code, 1);
    assert.match(checkedOut.stderr, new RegExp(`^ao-merge: Branch '${current}' is checked out in '${repo}'`));
  });

  it('ao-review sends comments on lines back to the session and prints the run that follows; bad comments say which', async () => {
    const name = uniqueName('rev');
    assert.equal((await run('ao-new', [name, '-p', 'hello', '--worktree'])).code, 0);
    const { path } = (await run('ao-show-config', [name, '--json'])).json().worktree;
    writeFileSync(join(path, 'app.ts'), 'export const a = 1;\nexport const b = 2;\n');
    writeFileSync(join(stack.root, 'review.txt'), 'app.ts:1:Rename a: it says nothing\n\n');
    const r = await run('ao-review', [
      name,
      '-c',
      'app.ts:2:b: why 2?',
      '--comments-file',
      join(stack.root, 'review.txt'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    // The fake model echoes the prompt: the generated review, each line quoted with its comment.
    assert.equal(
      r.stdout,
      [
        `ECHO: A review of your changes (branch aof/${name}) asks for these:`,
        '',
        '1. app.ts, line 2:',
        '   > export const b = 2;',
        '   b: why 2?',
        '',
        '2. app.ts, line 1:',
        '   > export const a = 1;',
        '   Rename a: it says nothing',
        '',
        'Make these changes in your working directory, then say what you changed.',
        '',
      ].join('\n'),
    );
    const none = await run('ao-review', [name]);
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      'ao-review: Give at least one comment: --comment FILE:LINE:TEXT, or --comments-file FILE\n',
    );
    const malformed = await run('ao-review', [name, '-c', 'app.ts:two:x']);
    assert.equal(
      malformed.stderr,
      "ao-review: --comment: 'app.ts:two:x' is not FILE:LINE:TEXT (e.g. src/app.ts:12:Use a constant here)\n",
    );
    const past = await run('ao-review', [name, '-c', 'app.ts:7:x', '-c', 'nope.ts:1:y']);
    assert.equal(past.code, 1);
    assert.equal(
      past.stderr,
      `ao-review: app.ts:7: 'app.ts' has 2 lines; line 7 is past its end; nope.ts:1: 'nope.ts' is not in the session's worktree (name it by its path in the repository) — see the files it changed with ao-diff ${name} --stat\n`,
    );
  });
});
