// ao-new --worktree and ao-show-config as processes, against the real servers and the real Claude
// Code CLI on the fake model.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestStack } from '../support/stack.js';
import { runBin, uniqueName, type BinOptions } from './run-bin.js';

describe('ao-new --worktree (processes against real servers)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let repo: string;
  const run = (command: string, args: string[], options: Partial<BinOptions> = {}) =>
    runBin(command, args, { env: stack.clientEnv, cwd: repo, ...options });

  before(async () => {
    stack = await TestStack.start();
    repo = join(stack.root, 'repo');
    mkdirSync(repo);
    for (const args of [
      ['init', '--quiet'],
      ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '--allow-empty', '-m', 'start'],
    ]) {
      execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
    }
  });
  after(async () => stack?.close());

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
});
