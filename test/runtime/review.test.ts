// Review comments back to the agent (POST /sessions/{name}/review): the fake agent on the
// fake model writes a file in its worktree; a review comment on one of its lines resumes the session
// with one prompt quoting that line and the comment, and the run that follows writes the fix.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InvalidRequestError, type Orchestrator } from '../../sdk/index.js';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { TestStack } from '../support/stack.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8', stdio: 'pipe' });

describe('runtime: review comments back to the session', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;
  const prompts: string[] = [];

  /** The first prompt writes app.ts with a magic number; a review prompt rewrites it with a constant. */
  function responder(req: FakeRequest): Reply {
    if (req.toolResults.length) return { text: 'Done.' };
    prompts.push(req.lastUserText);
    const cwd = /Primary working directory: (\S+)/.exec(req.system)?.[1] ?? '/nowhere';
    const content = req.lastUserText.startsWith('A review of your changes')
      ? 'const LIMIT = 42;\nexport const limit = () => LIMIT;\n'
      : 'export const limit = () => 42;\n';
    return { toolUse: { name: 'Write', input: { file_path: join(cwd, 'app.ts'), content } } };
  }

  before(async () => {
    stack = await TestStack.start({ agent: 'fake' });
    stack.fake.respond(responder);
    ao = stack.client();
    repo = join(stack.root, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '--quiet', '--initial-branch=main');
    git(repo, 'commit', '--quiet', '--allow-empty', '-m', 'start');
    writeFileSync(join(stack.root, 'secret.txt'), 'outside the worktree\n');
  });
  after(async () => stack?.close());

  it('one generated prompt quotes each commented line; the run that follows is the fix', async () => {
    await ao.sessions.create({ name: 'coder', prompt: 'Write the limit', project_dir: repo, worktree: true });
    assert.equal((await ao.sessions.waitForResult('coder', { timeoutMs: 40_000 })).state, 'finished');
    const session = await ao.sessions.review('coder', {
      comments: [{ file: 'app.ts', line: 1, text: 'No magic number:\nname it LIMIT.' }],
      summary: 'Otherwise fine.',
    });
    assert.equal(session.runs.length, 2);
    const expected = [
      'A review of your changes (branch aof/coder) asks for this:',
      '',
      '1. app.ts, line 1:',
      '   > export const limit = () => 42;',
      '   No magic number:',
      '   name it LIMIT.',
      '',
      'Otherwise fine.',
      '',
      'Make these changes in your working directory, then say what you changed.',
    ].join('\n');
    assert.equal(session.runs[1]!.prompt, expected);
    assert.equal((await ao.sessions.waitForResult('coder', { timeoutMs: 40_000 })).state, 'finished');
    assert.equal(prompts.at(-1), expected, 'the model read the review as the prompt');
    const { path } = (await ao.sessions.get('coder')).worktree!;
    assert.equal(readFileSync(join(path, 'app.ts'), 'utf8'), 'const LIMIT = 42;\nexport const limit = () => LIMIT;\n');
  });

  it('names the comment whose file or line is not there (422), quotes nothing from outside the worktree, and refuses sessions without one', async () => {
    const { path } = (await ao.sessions.get('coder')).worktree!;
    symlinkSync(join(stack.root, 'secret.txt'), join(path, 'link.txt'));
    const bad = await ao.sessions
      .review('coder', {
        comments: [
          { file: 'app.ts', line: 2, text: 'fine' },
          { file: 'app.ts', line: 9, text: 'past the end' },
          { file: 'missing.ts', line: 1, text: 'no such file' },
          { file: '../secret.txt', line: 1, text: 'outside' },
          { file: 'link.txt', line: 1, text: 'a link out' },
        ],
      })
      .catch((e: unknown) => e);
    assert.ok(bad instanceof InvalidRequestError && bad.status === 422, String(bad));
    assert.deepEqual(
      bad.errors.map((e) => e.field),
      ['body.comments[1].line', 'body.comments[2].file', 'body.comments[3].file', 'body.comments[4].file'],
    );
    assert.match(bad.errors[0]!.message, /'app\.ts' has 2 lines; line 9 is past its end/);
    assert.doesNotMatch(JSON.stringify(bad.problem), /outside the worktree/);
    assert.equal((await ao.sessions.get('coder')).runs.length, 2, 'nothing was queued');

    await ao.sessions.create({ name: 'plain', prompt: 'Write the limit', project_dir: repo });
    await ao.sessions.waitForResult('plain', { timeoutMs: 40_000 });
    const plain = await ao.sessions
      .review('plain', { comments: [{ file: 'app.ts', line: 1, text: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(plain instanceof ConflictError && plain.code === 'no-worktree', String(plain));
  });
});
