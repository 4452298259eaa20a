// A git worktree per session: two sessions on one repository write different files in parallel
// with the real Claude Code CLI's Write tool (driven by the fake model), each in its own worktree,
// and each branch keeps its own changes after the sessions are deleted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InvalidRequestError, type Orchestrator } from '../../sdk/index.js';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { TestStack } from '../support/stack.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: 'pipe' }).trim();

/** `WRITE <file> <text>`: the model writes the file in its working directory, then says so. */
function responder(req: FakeRequest): Reply {
  if (req.toolResults.length) return { text: `wrote: ${req.toolResults[0]!.text.slice(0, 80)}` };
  const write = /^WRITE (\S+) (.+)$/.exec(req.lastUserText);
  if (write) {
    const cwd = /Primary working directory: (\S+)/.exec(req.system)?.[1];
    if (!cwd) return { text: 'no working directory in the system prompt' };
    return {
      toolUse: { name: 'Write', input: { file_path: join(cwd, write[1]!), content: `${write[2]}\n` } },
      delayMs: 300,
    };
  }
  return { text: `ECHO: ${req.lastUserText}` };
}

describe('runtime: a git worktree per session', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;

  before(async () => {
    stack = await TestStack.start({ executorOptions: { maxConcurrent: 2 } });
    stack.fake.respond(responder);
    ao = stack.client();
    repo = join(stack.root, 'repo');
    mkdirSync(join(repo, 'src'), { recursive: true });
    git(repo, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(repo, 'src', 'app.ts'), 'export const app = 1;\n');
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'start');
  });
  after(async () => stack?.close());

  it('two sessions on one repository edit different files in parallel; each branch holds its own changes', async () => {
    const head = git(repo, 'rev-parse', 'HEAD');
    const [alpha, beta] = await Promise.all([
      ao.sessions.create({
        name: 'alpha',
        prompt: 'WRITE alpha.txt from alpha',
        project_dir: join(repo, 'src'),
        worktree: true,
      }),
      ao.sessions.create({
        name: 'beta',
        prompt: 'WRITE beta.txt from beta',
        project_dir: join(repo, 'src'),
        worktree: true,
      }),
    ]);
    for (const [session, name] of [
      [alpha, 'alpha'],
      [beta, 'beta'],
    ] as const) {
      assert.equal(session.worktree?.branch, `aof/${name}`);
      assert.equal(session.worktree?.repository, join(repo, 'src'));
      assert.equal(session.worktree?.base_commit, head);
      assert.equal(session.worktree?.has_changes, false);
      assert.ok(session.worktree!.path.startsWith(join(stack.dataDir, 'worktrees')), session.worktree!.path);
      assert.equal(session.project_dir, join(session.worktree!.path, 'src'), 'the same sub-directory, in the worktree');
    }
    const results = await Promise.all(
      ['alpha', 'beta'].map((name) => ao.sessions.waitForResult(name, { timeoutMs: 40_000 })),
    );
    assert.deepEqual(
      results.map((r) => r.state),
      ['finished', 'finished'],
      JSON.stringify(results),
    );
    // Both ran at once (two slots): their runs overlapped.
    const [a, b] = await Promise.all(['alpha', 'beta'].map((name) => ao.sessions.get(name)));
    assert.ok(
      a!.runs[0]!.started_at! < b!.runs[0]!.ended_at! && b!.runs[0]!.started_at! < a!.runs[0]!.ended_at!,
      'the runs overlapped',
    );

    assert.equal(readFileSync(join(a!.project_dir, 'alpha.txt'), 'utf8'), 'from alpha\n');
    assert.equal(readFileSync(join(b!.project_dir, 'beta.txt'), 'utf8'), 'from beta\n');
    assert.equal(existsSync(join(a!.project_dir, 'beta.txt')), false);
    assert.equal(existsSync(join(b!.project_dir, 'alpha.txt')), false);
    assert.equal(git(repo, 'status', '--porcelain'), '', 'the main checkout is untouched');
    assert.equal(a!.worktree?.has_changes, true);
    const summaries = (await ao.sessions.list()).sessions;
    assert.deepEqual(
      summaries.find((s) => s.name === 'alpha')?.worktree,
      { branch: 'aof/alpha', has_changes: true },
      'the list carries the branch and its changes',
    );
    const events = (await ao.sessions.listEvents('alpha')).events;
    assert.equal((events[0]!.data as { cwd: string }).cwd, a!.project_dir, 'Claude Code ran in the worktree');

    // Deleting keeps the branch with what the session left uncommitted; --discard drops it.
    await ao.sessions.delete('alpha');
    await ao.sessions.delete('beta', { discard: true });
    assert.equal(existsSync(a!.worktree!.path), false);
    assert.equal(existsSync(b!.worktree!.path), false);
    assert.equal(git(repo, 'show', 'aof/alpha:src/alpha.txt'), 'from alpha');
    assert.throws(() => git(repo, 'show', 'aof/alpha:src/beta.txt'));
    assert.equal(git(repo, 'branch', '--list', 'aof/beta'), '');
    assert.equal(git(repo, 'worktree', 'list').split('\n').length, 1);
    assert.equal(git(repo, 'rev-parse', 'HEAD'), head);
  });

  it("a session that changed nothing says so; a fork works in its source's worktree without owning it", async () => {
    await ao.sessions.create({ name: 'idle', prompt: 'just talk', project_dir: repo, worktree: true });
    await ao.sessions.waitForResult('idle', { timeoutMs: 30_000 });
    const idle = await ao.sessions.get('idle');
    assert.equal(idle.worktree?.has_changes, false);
    assert.equal(idle.project_dir, idle.worktree?.path);
    const fork = await ao.sessions.fork('idle', { name: 'idle-fork', prompt: 'more talk' });
    assert.equal(fork.project_dir, idle.project_dir);
    assert.equal(fork.worktree ?? null, null);
    await ao.sessions.waitForResult('idle-fork', { timeoutMs: 30_000 });
    await ao.sessions.delete('idle-fork');
    assert.ok(existsSync(idle.worktree!.path), "deleting the fork leaves the source's worktree");
    await ao.sessions.delete('idle', { discard: true });
  });

  it("takes the blueprint's default; a session can say no", async () => {
    await ao.agents.create({ name: 'isolated', description: 'works in a worktree', worktree: true });
    const yes = await ao.sessions.create({ name: 'bp-yes', prompt: 'hi', agent: 'isolated', project_dir: repo });
    const no = await ao.sessions.create({
      name: 'bp-no',
      prompt: 'hi',
      agent: 'isolated',
      project_dir: repo,
      worktree: false,
    });
    assert.equal(yes.worktree?.branch, 'aof/bp-yes');
    assert.equal(no.worktree ?? null, null);
    assert.equal(no.project_dir, repo);
    await Promise.all(['bp-yes', 'bp-no'].map((name) => ao.sessions.waitForResult(name, { timeoutMs: 30_000 })));
    await ao.sessions.delete('bp-yes', { discard: true });
  });

  it('refuses a project dir that is not a repository (422 body.worktree), a repository without commits, and a branch that exists (409)', async () => {
    const plain = await ao.sessions
      .create({ name: 'nowhere', prompt: 'x', project_dir: stack.projectDir, worktree: true })
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(plain instanceof InvalidRequestError && plain.status === 422, String(plain));
    assert.deepEqual(
      plain.errors.map((e) => e.field),
      ['body.worktree'],
    );
    assert.match(plain.message, /is not in a git repository/);

    const empty = join(stack.root, 'empty-repo');
    mkdirSync(empty);
    git(empty, 'init', '--quiet');
    const noCommit = await ao.sessions
      .create({ name: 'nocommit', prompt: 'x', project_dir: empty, worktree: true })
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(noCommit instanceof InvalidRequestError, String(noCommit));
    assert.match(noCommit.message, /has no commit yet/);

    // aof/alpha was kept by the first test.
    const taken = await ao.sessions.create({ name: 'alpha', prompt: 'x', project_dir: repo, worktree: true }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(taken instanceof ConflictError, String(taken));
    assert.equal(taken.problem.type, 'urn:aof:problem:branch-exists');
    assert.match(taken.message, /git branch -D aof\/alpha/);
    assert.deepEqual(
      (await ao.sessions.list()).sessions
        .map((s) => s.name)
        .filter((n) => ['nowhere', 'nocommit', 'alpha'].includes(n)),
      [],
    );
  });
});
