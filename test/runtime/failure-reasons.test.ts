// The wording of every start failure, including those this machine cannot produce on demand
// (EMFILE, ENOMEM, EAGAIN, EDQUOT): each says what happened and what to do.
import assert from 'node:assert/strict';
import {
  conversationMovedNote,
  conversationNotFoundReason,
  exitReason,
  startFailureReason,
  unexpectedFailureReason,
  type StartStage,
} from '../../servers/executor/failure-reasons.js';

const errno = (code: string, syscall = 'spawn /bin/sh') =>
  Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
const spawnIn = (problem: 'missing' | 'not-a-directory' | 'no-access' | null = null): StartStage => ({
  stage: 'spawn',
  projectDir: '/src/app',
  projectDirProblem: problem,
});
const runFilesIn: StartStage = { stage: 'run-files', dir: '/data/runs/s/1' };

describe('failure reasons (unit)', () => {
  it('names the project dir and the fix when it is the problem, whatever errno spawn gave', () => {
    assert.match(
      startFailureReason(errno('ENOENT'), spawnIn('missing')),
      /project dir \/src\/app does not exist.*re-create it/,
    );
    assert.match(startFailureReason(errno('ENOTDIR'), spawnIn('not-a-directory')), /\/src\/app is not a directory/);
    assert.match(
      startFailureReason(errno('EACCES'), spawnIn('no-access')),
      /may not enter the project dir \/src\/app.*chmod\/chown/,
    );
  });

  it('says which limit was hit and how to raise it or lower the load', () => {
    for (const where of [spawnIn(), runFilesIn]) {
      assert.match(
        startFailureReason(errno('EMFILE'), where),
        /too many open files \(EMFILE\); raise its limit \(ulimit -n\) or lower AGENT_ORCHESTRATOR_MAX_CONCURRENT/,
      );
      assert.match(startFailureReason(errno('ENFILE'), where), /too many open files \(ENFILE\)/);
      assert.match(
        startFailureReason(errno('ENOMEM'), where),
        /out of memory \(ENOMEM\).*lower AGENT_ORCHESTRATOR_MAX_CONCURRENT/,
      );
      assert.match(startFailureReason(errno('EAGAIN'), where), /EAGAIN: a process limit, ulimit -u/);
    }
  });

  it("says what is wrong with the data dir when the run's files cannot be written", () => {
    assert.match(
      startFailureReason(errno('ENOSPC', 'open'), runFilesIn),
      /\/data\/runs\/s\/1: the disk is full \(ENOSPC\); free space under AGENT_ORCHESTRATOR_DATA_DIR/,
    );
    assert.match(startFailureReason(errno('EDQUOT', 'open'), runFilesIn), /disk is full \(EDQUOT\)/);
    assert.match(startFailureReason(errno('EROFS', 'mkdir'), runFilesIn), /read-only \(EROFS\)/);
    assert.match(
      startFailureReason(errno('EACCES', 'open'), runFilesIn),
      /permission denied \(EACCES\); give the runtime's user write access/,
    );
  });

  it('words a failure of the executor itself by the limit it hit, also when a layer kept only the message', () => {
    const plain = new Error("EMFILE: too many open files, open '/data/events/x.jsonl'");
    assert.match(
      unexpectedFailureReason(plain),
      /^the runtime has too many open files \(EMFILE\); raise its limit \(ulimit -n\)/,
    );
    const wrapped = new Error('could not append', { cause: Object.assign(new Error('no room'), { code: 'ENOMEM' }) });
    assert.match(unexpectedFailureReason(wrapped), /out of memory \(ENOMEM\)/);
    assert.equal(
      unexpectedFailureReason(new Error('the store is closed')),
      'the runtime could not run the agent: the store is closed',
    );
  });

  it('keeps the system message for what it has no advice for', () => {
    assert.match(
      startFailureReason(errno('EIO', 'open'), runFilesIn),
      /could not write the run's files in \/data\/runs\/s\/1: open EIO/,
    );
    assert.match(
      startFailureReason(new Error('something odd'), spawnIn()),
      /could not start Claude Code in \/src\/app: something odd/,
    );
  });

  it('explains an exit without a result: signal, lost, root refusal, missing CLI, stderr', () => {
    assert.equal(exitReason({ code: null, signal: 'SIGKILL' }, ''), 'Claude Code was ended by SIGKILL');
    assert.equal(exitReason({ code: null, signal: null }, '', 'runtime restarted'), 'runtime restarted');
    const root = exitReason(
      { code: 1, signal: null },
      '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n',
    );
    assert.match(
      root,
      /^Claude Code exited with code 1 without a result: --dangerously-skip-permissions cannot be used with root\/sudo/,
    );
    assert.match(root, /set IS_SANDBOX=1 in the runtime's environment if this machine is a sandbox/);
    assert.match(
      exitReason({ code: 127, signal: null }, 'sh: 1: /opt/claude: not found'),
      /could not be run \(exit code 127.*\/opt\/claude: not found; install Claude Code or set AGENT_ORCHESTRATOR_CLAUDE_BIN/,
    );
    assert.equal(
      exitReason({ code: 2, signal: null }, 'boom'),
      'Claude Code exited with code 2 without a result: boom',
    );
    assert.doesNotMatch(exitReason({ code: 2, signal: null }, 'boom'), /IS_SANDBOX/);
  });
});

const id = '11111111-2222-4333-8444-555555555555';

describe('failure reasons: conversations (unit)', () => {
  it('says a resume found nothing to continue, and whether one had been restored', () => {
    assert.match(
      conversationNotFoundReason({ claudeSessionId: id, restoredAt: null }),
      new RegExp(
        `no conversation ${id} on this host, and the runtime has none saved.*resume the session with a prompt that gives the context again, or start a new session`,
      ),
    );
    const restored = conversationNotFoundReason({
      claudeSessionId: id,
      restoredAt: '/cfg/projects/-w/x.jsonl',
      cwd: '/w',
    });
    assert.match(restored, /although it was restored to \/cfg\/projects\/-w\/x.jsonl for the project dir \/w/);
    assert.match(restored, /CLAUDE_CONFIG_DIR and HOME.*then resume the session$/);
  });

  it('notes a conversation that continues in another directory than it was recorded in, and only then', () => {
    assert.equal(conversationMovedNote('/w', '/w'), null);
    assert.equal(conversationMovedNote(null, '/w'), null);
    assert.equal(
      conversationMovedNote('/home/u/app', '/data/app'),
      'the conversation was recorded in /home/u/app and continues in /data/app: files it mentions under /home/u/app may not be there on this host',
    );
  });
});
