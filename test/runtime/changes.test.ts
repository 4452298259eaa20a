// What a session changed in its worktree (GET /sessions/{name}/changes): the fake agent on
// the fake model writes a file, and direct git work in the worktree covers the cases a diff must get
// right (commits, uncommitted, untracked, ignored, deleted, renamed, binary, caps), all against the
// base commit, without the worktree's index or files being written.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, NotFoundError, type Orchestrator } from '../../sdk/index.js';
import { git, writingModel } from '../support/git.js';
import { TestStack } from '../support/stack.js';

describe('runtime: a session’s changes in its worktree', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake' });
    stack.fake.respond(writingModel);
    ao = stack.client();
    repo = join(stack.root, 'repo');
    mkdirSync(join(repo, 'src'), { recursive: true });
    git(repo, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(repo, 'src', 'app.ts'), 'export const app = 1;\nexport const two = 2;\n');
    writeFileSync(join(repo, 'old-name.txt'), 'moved without a change\n'.repeat(5));
    writeFileSync(join(repo, 'gone.txt'), 'to be deleted\n');
    writeFileSync(join(repo, '.gitignore'), '*.log\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'start');
  });
  after(async () => stack?.close());

  it('shows what the agent wrote, then commits, uncommitted edits and new files, all against the base', async () => {
    await ao.sessions.create({
      name: 'writer',
      prompt: 'WRITE notes.md hello from the agent',
      project_dir: repo,
      worktree: true,
    });
    assert.equal((await ao.sessions.waitForResult('writer', { timeoutMs: 40_000 })).state, 'finished');
    const first = await ao.sessions.diff('writer');
    assert.deepEqual(
      first.files.map((f) => [f.path, f.status, f.additions, f.deletions, f.in_patch]),
      [['notes.md', 'added', 1, 0, 'whole']],
    );
    assert.equal(first.uncommitted, true);
    assert.match(first.patch!, /^diff --git a\/notes\.md b\/notes\.md\nnew file mode 100644\n/);
    assert.match(first.patch!, /\n\+hello from the agent\n/);

    const { path } = (await ao.sessions.get('writer')).worktree!;
    // A commit on the branch, then uncommitted work on top: a tracked edit, a deletion, a rename, a
    // binary file, an ignored log (not a change) and a file in a new directory.
    writeFileSync(
      join(path, 'src', 'app.ts'),
      'export const app = 1;\nexport const two = 3;\nexport const three = 3;\n',
    );
    git(path, 'commit', '--quiet', '-am', 'agent commit');
    git(path, 'mv', 'old-name.txt', 'new-name.txt');
    rmSync(join(path, 'gone.txt'));
    writeFileSync(join(path, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2, 0, 255]));
    writeFileSync(join(path, 'debug.log'), 'ignored\n');
    mkdirSync(join(path, 'docs'));
    writeFileSync(join(path, 'docs', 'ünïcode name.md'), 'a\nb\n');
    const statusBefore = git(path, 'status', '--porcelain'); // (git status itself refreshes the index)
    const indexFile = git(path, 'rev-parse', '--path-format=absolute', '--git-path', 'index');
    const indexBefore = readFileSync(indexFile);
    const indexTime = statSync(indexFile).mtimeMs;
    const head = git(path, 'rev-parse', 'HEAD');

    const changes = await ao.sessions.diff('writer');
    assert.deepEqual(
      changes.files.map((f) => [f.path, f.old_path ?? null, f.status, f.additions, f.deletions, f.binary, f.in_patch]),
      [
        ['docs/ünïcode name.md', null, 'added', 2, 0, false, 'whole'],
        ['gone.txt', null, 'deleted', 0, 1, false, 'whole'],
        ['logo.png', null, 'added', 0, 0, true, 'binary'],
        ['new-name.txt', 'old-name.txt', 'renamed', 0, 0, false, 'whole'],
        ['notes.md', null, 'added', 1, 0, false, 'whole'],
        ['src/app.ts', null, 'modified', 2, 1, false, 'whole'],
      ],
    );
    assert.equal(changes.files_total, 6);
    assert.equal(changes.additions, 5);
    assert.equal(changes.deletions, 2);
    assert.equal(changes.head_commit, head);
    assert.equal(changes.base_commit, git(repo, 'rev-parse', 'HEAD'));
    assert.equal(changes.branch, 'aof/writer');
    assert.equal(changes.truncated, false);
    assert.match(changes.patch!, /Binary files \/dev\/null and b\/logo\.png differ\n/, 'binary: named, not dumped');
    assert.doesNotMatch(changes.patch!, /PNG/);
    assert.match(changes.patch!, /rename from old-name\.txt\nrename to new-name\.txt\n/);
    assert.match(changes.patch!, /-export const two = 2;\n\+export const two = 3;\n\+export const three = 3;\n/);
    assert.doesNotMatch(changes.patch!, /debug\.log/, 'what git ignores is not a change');

    // Nothing of the worktree was written: its index (bytes and time), its status, its branch.
    assert.deepEqual(readFileSync(indexFile), indexBefore);
    assert.equal(statSync(indexFile).mtimeMs, indexTime);
    assert.equal(git(path, '--no-optional-locks', 'status', '--porcelain'), statusBefore);
    assert.equal(git(path, 'rev-parse', 'HEAD'), head);

    // One file: by its new or its old path.
    const one = await ao.sessions.diff('writer', { file: 'src/app.ts' });
    assert.deepEqual(
      one.files.map((f) => f.path),
      ['src/app.ts'],
    );
    assert.match(one.patch!, /^diff --git a\/src\/app\.ts b\/src\/app\.ts\n/);
    assert.doesNotMatch(one.patch!, /notes\.md/);
    assert.equal(one.files_total, 6, 'the totals are still of all the changes');
    const renamed = await ao.sessions.diff('writer', { file: 'old-name.txt' });
    assert.equal(renamed.files[0]!.status, 'renamed', 'a rename asked for alone is still a rename');
    const stat = await ao.sessions.diff('writer', { stat: true });
    assert.equal(stat.patch, null);
    assert.ok(stat.files.every((f) => f.in_patch === 'none'));
  });

  it('caps the patch and says what was cut or left out; one file asked alone gets the whole cap', async () => {
    await ao.sessions.create({ name: 'big', prompt: 'hello', project_dir: repo, worktree: true });
    await ao.sessions.waitForResult('big', { timeoutMs: 40_000 });
    const { path } = (await ao.sessions.get('big')).worktree!;
    const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} line ${i}`).join('\n');
    writeFileSync(join(path, 'a-small.txt'), `${lines(3, 'a')}\n`);
    writeFileSync(join(path, 'b-huge.txt'), `${lines(2000, 'b')}\n`); // ~26 KB
    writeFileSync(join(path, 'c-small.txt'), `${lines(3, 'c')}\n`);
    writeFileSync(join(path, 'd-huge.txt'), `${lines(4000, 'd')}\n`);
    writeFileSync(join(path, 'e-small.txt'), `${lines(3, 'e')}\n`);

    const capped = await ao.sessions.diff('big', { maxBytes: 40_000 });
    const shown = Object.fromEntries(capped.files.map((f) => [f.path, f.in_patch]));
    // Per file a quarter of the cap: the huge ones are cut; the total fills before the last one.
    assert.equal(shown['a-small.txt'], 'whole');
    assert.equal(shown['b-huge.txt'], 'cut');
    assert.equal(shown['c-small.txt'], 'whole');
    assert.equal(shown['d-huge.txt'], 'cut');
    assert.equal(capped.truncated, true);
    assert.ok(Buffer.byteLength(capped.patch!) <= 40_000, String(Buffer.byteLength(capped.patch!)));
    assert.match(capped.patch!, /\+c line 2\n/);
    assert.doesNotMatch(capped.patch!, /\+b line 1999\n/);
    assert.equal(capped.files.find((f) => f.path === 'b-huge.txt')!.additions, 2000, 'the counts are whole');

    const tight = await ao.sessions.diff('big', { maxBytes: 1024 });
    assert.deepEqual(
      tight.files.map((f) => f.in_patch),
      ['whole', 'cut', 'omitted', 'omitted', 'omitted'],
    );
    assert.ok(Buffer.byteLength(tight.patch!) <= 1024);

    const whole = await ao.sessions.diff('big', { file: 'd-huge.txt', maxBytes: 16 * 1024 * 1024 });
    assert.equal(whole.files[0]!.in_patch, 'whole');
    assert.match(whole.patch!, /\+d line 3999\n$/);
    assert.equal(whole.truncated, false);
  });

  it('says what to do: no worktree (409 no-worktree), a fork, an unknown file (404 file-not-found), an unknown session', async () => {
    await ao.sessions.create({ name: 'plain', prompt: 'hello', project_dir: repo });
    await ao.sessions.waitForResult('plain', { timeoutMs: 40_000 });
    const plain = await ao.sessions.diff('plain').catch((e: unknown) => e);
    assert.ok(plain instanceof ConflictError, String(plain));
    assert.equal(plain.code, 'no-worktree');
    assert.match(plain.message, /has no git worktree of its own; it works in '.*repo' directly \(use git there\)/);

    await ao.sessions.fork('writer', { name: 'writer-fork', prompt: 'more' });
    await ao.sessions.waitForResult('writer-fork', { timeoutMs: 40_000 });
    const fork = await ao.sessions.diff('writer-fork').catch((e: unknown) => e);
    assert.ok(fork instanceof ConflictError && fork.code === 'no-worktree', String(fork));
    assert.match(fork.message, /works in the directory of session 'writer': ask that session instead/);

    const file = await ao.sessions.diff('writer', { file: 'src/nope.ts' }).catch((e: unknown) => e);
    assert.ok(file instanceof NotFoundError, String(file));
    assert.equal(file.code, 'file-not-found');
    assert.match(file.message, /'src\/nope\.ts' is not among the changes of session 'writer'/);

    const missing = await ao.sessions.diff('nobody').catch((e: unknown) => e);
    assert.ok(missing instanceof NotFoundError && missing.code === 'session-not-found', String(missing));

    const bad = await fetch(`${stack.runtimeUrl}/sessions/writer/changes?max_bytes=5`);
    assert.equal(bad.status, 400);
    assert.deepEqual(
      ((await bad.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field),
      ['query.max_bytes'],
    );

    const gone = (await ao.sessions.get('big')).worktree!.path;
    rmSync(gone, { recursive: true, force: true });
    const deleted = await ao.sessions.diff('big').catch((e: unknown) => e);
    assert.ok(deleted instanceof ConflictError && deleted.code === 'no-worktree', String(deleted));
    assert.match(deleted.message, /is gone; what was committed is on branch aof\/big/);
  });
});
