// A parent's children, from their worktrees to the branch, on the real Claude Code CLI against the
// fake model and real git: three children write files in their own worktrees (alpha and beta the same
// shared.txt, each a file of its own, gamma only its own), each run ending in a checkpoint commit;
// `ao-diff` shows exactly what each changed; a review comment resumes alpha with a prompt that quotes
// the line; the merge queue (ao-merge NAME --children) lands them in creation order, each rebased on the
// last one merged, sends beta its conflict with alpha, and lands beta once its (scripted) agent has
// rebased and resolved it. The person's dirty checkout (files, index, HEAD, stash) stays byte-identical
// throughout.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Orchestrator } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { checkoutSnapshot, dirtyCheckout, git, initRepo, resolvingModel } from '../support/git.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

/** The prompts the model was given, in order. */
const prompts: string[] = [];

/**
 * `FILES a=x b=y`: the agent writes each file (one line of text) with one Bash command; a conflict
 * sent back: it rebases and keeps both lines (resolvingModel); anything else is echoed.
 */
function model(req: FakeRequest): Reply {
  if (!req.toolResults.length) prompts.push(req.lastUserText);
  const files = /^FILES (.+)$/.exec(req.lastUserText);
  if (files && !req.toolResults.length) {
    const writes = files[1]!.split(' ').map((pair) => {
      const [file, text] = pair.split('=');
      return `printf '%s\\n' '${text!.replace(/_/g, ' ')}' > ${file}`;
    });
    return { toolUse: { name: 'Bash', input: { command: [...writes, 'echo files written'].join('; ') } } };
  }
  if (req.toolResults.some((r) => r.text.includes('files written'))) return { text: 'Wrote the files.' };
  return resolvingModel(() => 'alpha and beta')(req);
}

describe('runtime: children land through the merge queue (real CLI, review, checkpoints, conflict sent back)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;
  let base: string;
  let person: Record<string, string>;
  const untouched = (when: string) => assert.deepEqual(checkoutSnapshot(repo), person, `the checkout, ${when}`);

  before(async () => {
    stack = await TestStack.start();
    stack.fake.respond(model);
    ao = stack.client();
    repo = initRepo(join(stack.root, 'repo'), undefined, ['release']);
    base = git(repo, 'rev-parse', 'HEAD');
    dirtyCheckout(repo);
    person = checkoutSnapshot(repo);
    await ao.sessions.create({ name: 'lead', prompt: 'hello', project_dir: repo });
    // Created one after the other: the queue's order.
    for (const [name, prompt] of [
      ['alpha', 'FILES shared.txt=alpha alpha.txt=alpha_only'],
      ['beta', 'FILES shared.txt=beta beta.txt=beta_only'],
      ['gamma', 'FILES gamma.txt=gamma_only'],
    ] as const)
      await ao.sessions.create({ name, prompt, project_dir: repo, worktree: true, checkpoint: true, parent: 'lead' });
    for (const name of ['lead', 'alpha', 'beta', 'gamma'])
      assert.equal((await ao.sessions.waitForResult(name, { timeoutMs: 60_000 })).state, 'finished');
  });
  after(async () => stack?.close());

  it('ao-diff shows exactly what each child changed, each run one checkpoint commit', async () => {
    const stat = await runBin('ao-diff', ['alpha', '--stat'], { env: stack.clientEnv });
    assert.equal(stat.code, 0, stat.stderr);
    assert.equal(
      stat.stdout,
      `A alpha.txt   +1 -0\nA shared.txt  +1 -0\n2 files changed, +2 -0 against ${base.slice(0, 12)}\n`,
    );
    const patch = await runBin('ao-diff', ['beta'], { env: stack.clientEnv });
    assert.equal(patch.code, 0, patch.stderr);
    assert.equal(
      patch.stdout.replace(/^index \w+\.\.\w+$/gm, 'index'),
      [
        'diff --git a/beta.txt b/beta.txt',
        'new file mode 100644',
        'index',
        '--- /dev/null',
        '+++ b/beta.txt',
        '@@ -0,0 +1 @@',
        '+beta only',
        'diff --git a/shared.txt b/shared.txt',
        'new file mode 100644',
        'index',
        '--- /dev/null',
        '+++ b/shared.txt',
        '@@ -0,0 +1 @@',
        '+beta',
        '',
      ].join('\n'),
    );
    const checkpoints = await runBin('ao-diff', ['gamma', '--checkpoints'], { env: stack.clientEnv });
    assert.match(checkpoints.stdout, /^run 1 {2}[0-9a-f]{12} {2}\+1 -0 {2}gamma\.txt\n$/);
    untouched('after ao-diff');
  });

  it('a review comment resumes the child with a prompt that quotes the line', async () => {
    const r = await runBin('ao-review', ['alpha', '--comment', 'alpha.txt:1:Say which child wrote it'], {
      env: stack.clientEnv,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await ao.sessions.waitForResult('alpha', { timeoutMs: 60_000 })).state, 'finished');
    const quoted = [
      'A review of your changes (branch aof/alpha) asks for this:',
      '',
      '1. alpha.txt, line 1:',
      '   > alpha only',
      '   Say which child wrote it',
      '',
      'Make these changes in your working directory, then say what you changed.',
    ].join('\n');
    assert.equal((await ao.sessions.get('alpha')).runs[1]!.prompt, quoted);
    assert.equal(prompts.at(-1), quoted, 'the model read the review');
    untouched('after the review');
  });

  it('the queue lands the children in order, sends beta its conflict, and lands beta after its fix', async () => {
    const r = await runBin('ao-merge', ['lead', '--children', '--into', 'release'], { env: stack.clientEnv });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    assert.match(lines[0]!, /^alpha: merged into release \(now at [0-9a-f]{12}\)$/);
    assert.equal(lines[1], 'beta: conflicts in shared.txt; resumed to resolve it (run 2), merged when that run ends');
    assert.match(lines[2]!, /^gamma: merged into release/);
    assert.equal(git(repo, 'show', 'release:shared.txt'), 'alpha');
    assert.equal(git(repo, 'show', 'release:alpha.txt'), 'alpha only');
    assert.equal(git(repo, 'show', 'release:gamma.txt'), 'gamma only');
    assert.match((await ao.sessions.get('beta')).runs[1]!.prompt, /rebase your branch on it \(`git rebase release`/);
    untouched('after the queue');

    assert.equal((await ao.sessions.waitForResult('beta', { timeoutMs: 60_000 })).state, 'finished');
    await eventually(
      'beta landed after its fix',
      () => git(repo, 'show', 'release:shared.txt') === 'alpha and beta',
      30_000,
    );
    assert.equal(git(repo, 'show', 'release:beta.txt'), 'beta only');
    assert.equal(git(repo, 'show', 'release:gamma.txt'), 'gamma only', "gamma's work is still there");
    assert.equal(git(repo, 'rev-list', '--merges', 'release'), '', 'rebased: no merge commits');
    // Each child's run is one commit on release, in the queue's order (beta's replayed on the others).
    assert.deepEqual(git(repo, 'log', '--reverse', '--format=%s', `${base}..release`).split('\n'), [
      "aof: checkpoint of session 'alpha', run 1 (finished)",
      "aof: checkpoint of session 'gamma', run 1 (finished)",
      "aof: checkpoint of session 'beta', run 1 (finished)",
    ]);
    untouched('after beta landed');
  });
});
