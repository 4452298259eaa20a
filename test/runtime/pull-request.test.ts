// Pull requests for a session's branch (POST /sessions/{name}/pr, ao-pr) with real git: the branch is
// pushed to a bare remote and the pull request opened on a small fake of GitHub's REST API on
// loopback, which checks the token, head, base and body. The runtime runs as its own process with the
// token in its environment, as a person starts it: the token reaches GitHub and nothing else (not the
// agents, the events, the answers or the log).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InvalidRequestError, type Orchestrator } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { fakeGitHub, GITHUB_TOKEN as TOKEN } from '../support/fake-github.js';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { git, writingModel } from '../support/git.js';
import { TestStack } from '../support/stack.js';

/** WRITE as in git.ts; ENV: the agent runs `env` and answers with what it printed. */
function model(req: FakeRequest): Reply {
  if (req.lastUserText === 'ENV' || req.toolResults.some((r) => r.text.includes('PATH='))) {
    if (req.toolResults.length) return { text: req.toolResults.map((r) => r.text).join('\n') };
    return { toolUse: { name: 'Bash', input: { command: 'env' } } };
  }
  return writingModel(req);
}

describe('runtime: pull requests for a session (bare remote, fake GitHub)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let github: Awaited<ReturnType<typeof fakeGitHub>>;
  let repo: string;
  let remote: string;

  before(async () => {
    github = await fakeGitHub('acme', 'widgets');
    stack = await TestStack.start({
      agent: 'fake',
      runtimeProcess: true,
      runtimeEnv: { AGENT_ORCHESTRATOR_GITHUB_API_URL: github.url, AGENT_ORCHESTRATOR_GITHUB_TOKEN: TOKEN },
    });
    stack.fake.respond(model);
    ao = stack.client();
    repo = join(stack.root, 'repo');
    remote = join(stack.root, 'remotes', 'acme', 'widgets.git');
    mkdirSync(repo);
    mkdirSync(remote, { recursive: true });
    git(remote, 'init', '--quiet', '--bare', '--initial-branch=main');
    git(repo, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(repo, 'readme.txt'), 'widgets\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'start');
    git(repo, 'remote', 'add', 'origin', remote);
    git(repo, 'push', '--quiet', 'origin', 'main');
    // A second remote already holds a branch aof/feature of its own: a push there is refused.
    const locked = join(stack.root, 'remotes', 'acme', 'locked.git');
    mkdirSync(locked, { recursive: true });
    git(locked, 'init', '--quiet', '--bare', '--initial-branch=main');
    git(repo, 'remote', 'add', 'locked', locked);
    git(repo, 'push', '--quiet', 'locked', 'main');
    git(repo, 'commit', '--quiet', '--allow-empty', '-m', 'elsewhere');
    git(repo, 'push', '--quiet', 'locked', 'HEAD:refs/heads/aof/feature');
    git(repo, 'reset', '--quiet', '--hard', 'HEAD^');

    await Promise.all([
      ao.sessions.create({
        name: 'feature',
        prompt: 'WRITE feature.txt a new feature',
        project_dir: repo,
        worktree: true,
      }),
      ao.sessions.create({ name: 'peek', prompt: 'ENV', project_dir: repo }),
    ]);
    for (const name of ['feature', 'peek'])
      assert.equal((await ao.sessions.waitForResult(name, { timeoutMs: 60_000 })).state, 'finished');
  });
  after(async () => {
    await stack?.close();
    await github?.close();
  });

  it("pushes the branch and opens the pull request with the token, head, base and a body from the session's result and task", async () => {
    const pr = await ao.sessions.pullRequest('feature', { draft: true });
    assert.deepEqual(
      { ...pr, commit: undefined },
      {
        number: 1,
        url: 'https://github.example/acme/widgets/pull/1',
        repository: 'acme/widgets',
        remote: 'origin',
        head: 'aof/feature',
        base: 'main',
        commit: undefined,
        draft: true,
        created: true,
      },
    );
    assert.equal(git(remote, 'rev-parse', 'refs/heads/aof/feature'), pr.commit, 'the branch is on the remote');
    assert.equal(
      git(remote, 'show', 'aof/feature:feature.txt'),
      'a new feature',
      "the agent's uncommitted file went with it",
    );
    const [post] = github.received;
    assert.equal(post?.method, 'POST');
    assert.equal(post.url, '/repos/acme/widgets/pulls');
    assert.equal(post.authorization, `Bearer ${TOKEN}`);
    assert.equal(post.body?.head, 'aof/feature');
    assert.equal(post.body?.base, 'main');
    assert.equal(post.body?.title, 'WRITE feature.txt a new feature');
    assert.equal(post.body?.draft, true);
    const body = String(post.body?.body);
    assert.match(body, /^written\n/, "the session's result first");
    assert.match(body, /session `feature` \(branch `aof\/feature`, 1 run\)/);
    assert.match(body, /> WRITE feature\.txt a new feature/, 'and its task, quoted');
  });

  it('answers with the pull request open already when GitHub says it exists (ao-pr)', async () => {
    const r = await runBin('ao-pr', ['feature', '--title', 'Again'], { env: stack.clientEnv });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'Already open: pull request #1 in acme/widgets, aof/feature into main (draft): https://github.example/acme/widgets/pull/1\n',
    );
    assert.deepEqual(
      github.received.slice(1).map((r) => `${r.method} ${r.url}`),
      [
        'POST /repos/acme/widgets/pulls',
        'GET /repos/acme/widgets/pulls?state=open&head=acme%3Aaof%2Ffeature&base=main',
      ],
    );
  });

  it('refuses with what to do: no worktree, an unknown remote, a refused push', async () => {
    const plain = await ao.sessions.pullRequest('peek').catch((e: unknown) => e);
    assert.ok(plain instanceof ConflictError && plain.code === 'no-worktree', String(plain));

    const unknown = await ao.sessions.pullRequest('feature', { remote: 'upstream' }).catch((e: unknown) => e);
    assert.ok(unknown instanceof InvalidRequestError && unknown.code === 'remote-not-found', String(unknown));
    assert.deepEqual(
      unknown.errors.map((e) => e.field),
      ['body.remote'],
    );
    assert.match(unknown.message, /has no git remote 'upstream'; name one of locked, origin/);
    const cli = await runBin('ao-pr', ['feature', '--remote', 'upstream'], { env: stack.clientEnv });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /--remote: the repository at '.*' has no git remote 'upstream'/);

    const sent = github.received.length;
    const pushed = git(remote, 'for-each-ref', '--format=%(refname) %(objectname)');
    const noBase = await ao.sessions.pullRequest('feature', { base: 'nope' }).catch((e: unknown) => e);
    assert.ok(noBase instanceof InvalidRequestError && noBase.code === 'branch-not-found', String(noBase));
    assert.deepEqual(
      noBase.errors.map((e) => e.field),
      ['body.base'],
    );
    assert.match(
      noBase.message,
      /remote 'origin' has no branch 'nope' .*; name a branch it has \(git ls-remote --heads origin\)/,
    );
    const noBaseCli = await runBin('ao-pr', ['feature', '--base', 'nope'], { env: stack.clientEnv });
    assert.equal(noBaseCli.code, 1);
    assert.match(noBaseCli.stderr, /--base: remote 'origin' has no branch 'nope'/);
    assert.equal(git(remote, 'for-each-ref', '--format=%(refname) %(objectname)'), pushed, 'nothing was pushed');
    const refused = await ao.sessions.pullRequest('feature', { remote: 'locked' }).catch((e: unknown) => e);
    assert.ok(refused instanceof ConflictError && refused.code === 'push-refused', String(refused));
    assert.match(
      refused.message,
      /^Pushing aof\/feature to remote 'locked' was refused: .*rejected.* — nothing was opened/,
    );
    assert.equal(github.received.length, sent, 'GitHub was not asked');
  });

  it('keeps the token from the agents, the events, the answers and the log', async () => {
    const peek = await ao.sessions.result('peek');
    assert.match(peek.result ?? '', /PATH=/, 'the agent printed its environment');
    assert.doesNotMatch(peek.result ?? '', /GITHUB_TOKEN|ghp_fake/);
    for (const name of ['feature', 'peek']) {
      const { events } = await ao.sessions.listEvents(name, { limit: 500 });
      assert.doesNotMatch(JSON.stringify(events), /ghp_fake/);
    }
    assert.doesNotMatch(JSON.stringify(await ao.sessions.get('feature')), /ghp_fake/);
    assert.ok(stack.runtimeLog.length > 0);
    assert.doesNotMatch(stack.runtimeLog.join('\n'), /ghp_fake/);
  });
});
