// A worktree ready to work in: the files `.worktreeinclude` names that git ignores are copied in,
// then the blueprint's worktree_setup runs there, before the fake agent (on the fake
// model) starts; a setup that fails or times out fails the first run with its output.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Orchestrator, SessionEvent } from '../../sdk/index.js';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { git } from '../support/git.js';
import { TestStack } from '../support/stack.js';

/** `READ <file>`: the model reads the file in its working directory and answers with what it saw. */
function responder(req: FakeRequest): Reply {
  if (req.toolResults.length) return { text: `saw: ${req.toolResults[0]!.text}` };
  const read = /^READ (\S+)$/.exec(req.lastUserText);
  if (read) {
    const cwd = /Primary working directory: (\S+)/.exec(req.system)?.[1];
    return { toolUse: { name: 'Read', input: { file_path: join(cwd ?? '/nowhere', read[1]!) } } };
  }
  return { text: `ECHO: ${req.lastUserText}` };
}

describe('runtime: worktree_setup and .worktreeinclude', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let repo: string;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake' });
    stack.fake.respond(responder);
    ao = stack.client();
    repo = join(stack.root, 'repo');
    mkdirSync(join(repo, 'config'), { recursive: true });
    git(repo, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(repo, '.gitignore'), '.env\nconfig/local.json\nready.txt\nbuild/\n');
    writeFileSync(join(repo, '.worktreeinclude'), '.env\nconfig/\nnotes.txt\n');
    writeFileSync(join(repo, 'app.js'), 'console.log(1);\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'start');
    // What the checkout has but git does not: ignored and named (copied), untracked but not ignored (not).
    writeFileSync(join(repo, '.env'), 'API_KEY=env-secret-123\n');
    writeFileSync(join(repo, 'config', 'local.json'), '{"local":true}\n');
    writeFileSync(join(repo, 'notes.txt'), 'my own notes\n');
    mkdirSync(join(repo, 'build'));
    writeFileSync(join(repo, 'build', 'out.js'), 'ignored but not named\n');
    await ao.agents.create({
      name: 'prepared',
      description: 'Works in a worktree made ready first',
      worktree: true,
      worktree_setup: { command: 'echo setting up; cat .env > ready.txt; echo installed >&2', timeout_seconds: 30 },
    });
    await ao.agents.create({
      name: 'broken-setup',
      description: 'Its setup fails',
      worktree: true,
      worktree_setup: { command: 'echo cannot install; exit 3' },
    });
    await ao.agents.create({
      name: 'slow-setup',
      description: 'Its setup outlasts its timeout',
      worktree: true,
      worktree_setup: { command: 'echo started; sleep 30', timeout_seconds: 1 },
    });
  });
  after(async () => stack?.close());

  it('copies the ignored files .worktreeinclude names, runs the setup, then the first run sees what it made', async () => {
    const session = await ao.sessions.create({
      name: 'ready',
      prompt: 'READ ready.txt',
      agent: 'prepared',
      project_dir: repo,
    });
    const result = await ao.sessions.waitForResult('ready', { timeoutMs: 40_000 });
    assert.equal(result.state, 'finished', JSON.stringify(result));
    assert.match(
      result.result ?? '',
      /saw: .*API_KEY=env-secret-123/s,
      'the setup ran before the run, with .env copied in',
    );

    const path = session.worktree!.path;
    assert.equal(readFileSync(join(path, '.env'), 'utf8'), 'API_KEY=env-secret-123\n');
    assert.equal(readFileSync(join(path, 'config', 'local.json'), 'utf8'), '{"local":true}\n');
    assert.equal(existsSync(join(path, 'notes.txt')), false, 'untracked but not ignored: not copied');
    assert.equal(existsSync(join(path, 'build', 'out.js')), false, 'ignored but not named: not copied');

    const events = (await ao.sessions.listEvents('ready')).events as SessionEvent[];
    assert.equal(events[0]!.type, 'worktree_setup');
    assert.deepEqual(events[0]!.data, {
      command: 'echo setting up; cat .env > ready.txt; echo installed >&2',
      exit_code: 0,
      output: 'setting up\ninstalled\n',
    });
    assert.equal(events[1]!.type, 'session_start');
    assert.equal(
      (await ao.sessions.get('ready')).worktree!.has_changes,
      false,
      'copied and made files are ignored ones',
    );
  });

  it('a setup that fails, or outlasts its timeout, is a failed first run with its output; Claude Code is not started', async () => {
    const before = stack.fake.requests.length;
    const broken = await ao.sessions.create({
      name: 'broken',
      prompt: 'READ ready.txt',
      agent: 'broken-setup',
      project_dir: repo,
    });
    assert.equal(broken.state, 'failed');
    assert.equal(
      broken.runs[0]!.error,
      "The blueprint's worktree_setup (echo cannot install; exit 3) exited with 3; Claude Code was not started. Its output:\ncannot install",
    );
    const result = await ao.sessions.result('broken');
    assert.equal(result.state, 'failed');
    const events = (await ao.sessions.listEvents('broken')).events as SessionEvent[];
    assert.deepEqual(
      events.map((e) => e.type),
      ['worktree_setup'],
    );
    assert.equal((events[0]!.data as { exit_code: number }).exit_code, 3);

    const slow = await ao.sessions.create({ name: 'slow', prompt: 'hello', agent: 'slow-setup', project_dir: repo });
    assert.equal(slow.state, 'failed');
    assert.match(
      slow.runs[0]!.error!,
      /\(echo started; sleep 30\) did not finish within 1 s and was killed; Claude Code was not started\. Its output:\nstarted$/,
    );
    const slowEvents = (await ao.sessions.listEvents('slow')).events as SessionEvent[];
    assert.deepEqual(slowEvents[0]!.data, {
      command: 'echo started; sleep 30',
      exit_code: null,
      timed_out: true,
      output: 'started\n',
    });
    assert.equal(stack.fake.requests.length, before, 'the model was never asked');

    // The failed session can be resumed once the cause is fixed; the worktree is kept.
    assert.ok(existsSync(broken.worktree!.path));
    await ao.sessions.resume('broken', { prompt: 'hello again' });
    assert.equal((await ao.sessions.waitForResult('broken', { timeoutMs: 40_000 })).state, 'finished');
  });
});
