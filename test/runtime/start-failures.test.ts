// Every way an agent can fail to start ends its run `failed` with a reason that says what to do,
// and the runtime keeps serving, now and at its next start. The runtime runs as its own process
// where a crash must show as a dead process (not as a dead test runner).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Orchestrator } from '../../sdk/index.js';
import { runBin } from '../bin/run-bin.js';
import { claudeBin } from '../support/claude-env.js';
import { eventually } from '../support/processes.js';
import { skipBecause } from '../support/skip.js';
import { TestStack } from '../support/stack.js';

const isRoot = process.getuid?.() === 0;

/** Starts a session and waits for its first run, which must fail; its error. */
async function failedStart(ao: Orchestrator, name: string, projectDir?: string): Promise<string> {
  await ao.sessions.create({ name, prompt: 'hi', ...(projectDir ? { project_dir: projectDir } : {}) });
  const result = await ao.sessions.waitForResult(name, { timeoutMs: 15_000 });
  assert.equal(result.state, 'failed', `${name}: ${result.error}`);
  return result.error ?? '';
}

function assertAlive(stack: TestStack): void {
  assert.equal(stack.runtimeChild?.exitCode, null, 'the runtime process is still running');
  assert.equal(stack.runtimeChild?.signalCode, null, 'the runtime process is still running');
}

describe('runtime: an agent that cannot start fails its run, never the runtime', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake', runtimeProcess: true, executorOptions: { maxConcurrent: 1 } });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('a project dir removed after the session started: ao-resume fails the run, the runtime stays up', async () => {
    const dir = join(stack.root, 'gone');
    mkdirSync(dir);
    const created = await runBin('ao-new', ['pd', '-p', 'hi', '--project-dir', dir], { env: stack.clientEnv });
    assert.equal(created.code, 0, created.stderr);
    rmSync(dir, { recursive: true });
    const resumed = await runBin('ao-resume', ['pd', '-p', 'again'], { env: stack.clientEnv });
    assert.equal(resumed.code, 1);
    assert.match(resumed.stderr, /project dir .*gone does not exist.*re-create it/);
    assert.doesNotMatch(resumed.stderr, /Cannot connect/);
    assertAlive(stack);
    const status = await runBin('ao-status', ['pd'], { env: stack.clientEnv });
    assert.equal(status.stdout.trim(), 'failed');
    const run = (await ao.sessions.get('pd')).runs[1]!;
    assert.equal(run.state, 'failed');
    assert.equal(run.started_at, null, 'no process ever ran');
    assert.ok(run.ended_at);
    // Re-creating the directory is the fix the error names: the next run works.
    mkdirSync(dir);
    await ao.sessions.resume('pd', { prompt: 'once more' });
    assert.equal((await ao.sessions.waitForResult('pd', { timeoutMs: 30_000 })).state, 'finished');
  });

  it('a project dir that became a file', async () => {
    const dir = join(stack.root, 'was-a-dir');
    mkdirSync(dir);
    await ao.sessions.create({ name: 'nd', prompt: 'hi', project_dir: dir });
    await ao.sessions.waitForResult('nd', { timeoutMs: 30_000 });
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    await ao.sessions.resume('nd', { prompt: 'again' });
    const result = await ao.sessions.waitForResult('nd', { timeoutMs: 10_000 });
    assert.equal(result.state, 'failed');
    assert.match(result.error ?? '', /project dir .*was-a-dir is not a directory/);
    assertAlive(stack);
  });

  it('a restart with such a run queued starts, fails the run once, and stays up', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.fake.respond(async (req) => {
      if (req.lastUserText === 'hold the slot') await released;
      return { text: `ECHO: ${req.lastUserText}` };
    });
    const dir = join(stack.root, 'orphaned');
    mkdirSync(dir);
    await ao.sessions.create({ name: 'holder', prompt: 'hold the slot' });
    await eventually('the holder to reach the model', () =>
      stack.fake.requests.some((r) => JSON.stringify(r.messages).includes('hold the slot')),
    );
    await ao.sessions.create({ name: 'orphan', prompt: 'never starts', project_dir: dir });
    assert.equal((await ao.sessions.status('orphan')).state, 'queued');

    await stack.killRuntime();
    rmSync(dir, { recursive: true });
    await stack.startRuntime();
    ao = stack.client();
    release(); // the re-adopted holder ends, the queued run gets the slot and cannot start
    const orphan = await ao.sessions.waitForResult('orphan', { timeoutMs: 30_000 });
    assert.equal(orphan.state, 'failed');
    assert.match(orphan.error ?? '', /project dir .*orphaned does not exist/);
    assert.equal((await ao.sessions.waitForResult('holder', { timeoutMs: 30_000 })).state, 'finished');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertAlive(stack);

    // And the next start does not retry it.
    await stack.killRuntime();
    await stack.startRuntime();
    ao = stack.client();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assertAlive(stack);
    assert.equal((await ao.health()).runtime.status, 'ok');
    const events = (await ao.sessions.listEvents('orphan')).events;
    assert.deepEqual(
      events.map((e) => e.type),
      ['session_stop'],
    );
  });
});

describe('runtime: a project dir the runtime may not enter (EACCES)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  before(async function () {
    // Root enters any directory; without the capabilities that let it, it is refused like anyone.
    if (!isRoot || !existsSync('/usr/bin/setpriv'))
      skipBecause(this, 'needs root and setpriv (to drop the capabilities)');
    stack = await TestStack.start({
      agent: 'fake',
      runtimeProcess: true,
      runtimeWrapper: ['/usr/bin/setpriv', '--inh-caps=-all', '--bounding-set=-dac_override,-dac_read_search', '--'],
    });
  });
  after(async () => stack?.close());

  it('fails the run with the permission problem, and a fixed dir runs', async () => {
    const ao = stack.client();
    const dir = join(stack.root, 'locked');
    mkdirSync(dir);
    chmodSync(dir, 0o000);
    try {
      const error = await failedStart(ao, 'locked', dir);
      assert.match(error, /may not enter the project dir .*locked \(permission denied\).*chmod/);
      assertAlive(stack);
    } finally {
      chmodSync(dir, 0o755);
    }
    await ao.sessions.resume('locked', { prompt: 'again' });
    assert.equal((await ao.sessions.waitForResult('locked', { timeoutMs: 30_000 })).state, 'finished');
  });

  it('fails the run when its files may not be written, and says where to give access', async () => {
    const ao = stack.client();
    const runsDir = join(stack.dataDir, 'runs');
    chmodSync(runsDir, 0o555);
    try {
      const error = await failedStart(ao, 'nowrite');
      assert.match(
        error,
        /runs\/nowrite\/1: permission denied \(EACCES\); give the runtime's user write access to AGENT_ORCHESTRATOR_DATA_DIR/,
      );
      assertAlive(stack);
    } finally {
      chmodSync(runsDir, 0o700);
    }
  });
});

describe("runtime: no room for a run's files", function () {
  this.timeout(60_000);
  let stack: TestStack;
  let runsDir: string;
  before(async function () {
    if (!isRoot) skipBecause(this, 'needs root (to mount a file system)');
    stack = await TestStack.start({ agent: 'fake' });
    runsDir = join(stack.dataDir, 'runs');
    mkdirSync(runsDir, { recursive: true });
  });
  afterEach(() => {
    try {
      execFileSync('umount', [runsDir], { stdio: 'ignore' });
    } catch {
      // Not mounted (any more).
    }
  });
  after(async () => stack?.close());

  it('a full disk (ENOSPC) fails the run with what to free; with space, it runs', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', runsDir]);
    // Fill it: the write fails once the disk is full.
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(runsDir, 'filler')}`, 'bs=4k', 'count=64'], { stdio: 'ignore' });
    } catch {
      // dd stops with an error at the end of the disk.
    }
    const ao = stack.client();
    const error = await failedStart(ao, 'full');
    assert.match(error, /disk is full \(ENOSPC\); free space under AGENT_ORCHESTRATOR_DATA_DIR/);
    assert.equal((await ao.health()).runtime.status, 'ok');
    execFileSync('umount', [runsDir]);
    await ao.sessions.resume('full', { prompt: 'again' });
    assert.equal((await ao.sessions.waitForResult('full', { timeoutMs: 30_000 })).state, 'finished');
  });

  it('a read-only file system (EROFS) fails the run with what to do', async () => {
    execFileSync('mount', ['--bind', runsDir, runsDir]);
    execFileSync('mount', ['-o', 'remount,bind,ro', runsDir]);
    const ao = stack.client();
    const error = await failedStart(ao, 'readonly');
    assert.match(error, /read-only \(EROFS\); make AGENT_ORCHESTRATOR_DATA_DIR writable/);
    assert.equal((await ao.health()).runtime.status, 'ok');
  });
});

describe('runtime: the Claude Code CLI removed after start-up', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let link: string;
  before(async () => {
    link = join(tmpdir(), `aof-claude-${process.pid}`);
    rmSync(link, { force: true });
    symlinkSync(claudeBin, link);
    stack = await TestStack.start({ executorOptions: { claudeBin: link } });
  });
  after(async () => {
    rmSync(link, { force: true });
    await stack?.close();
  });

  it('fails the next run with how to install it or point to it', async () => {
    const ao = stack.client();
    await ao.sessions.create({ name: 'cli', prompt: 'hi' });
    assert.equal((await ao.sessions.waitForResult('cli', { timeoutMs: 30_000 })).state, 'finished');
    rmSync(link);
    await ao.sessions.resume('cli', { prompt: 'again' });
    const result = await ao.sessions.waitForResult('cli', { timeoutMs: 10_000 });
    assert.equal(result.state, 'failed');
    assert.match(
      result.error ?? '',
      /Claude Code CLI not found.*install Claude Code or set AGENT_ORCHESTRATOR_CLAUDE_BIN/,
    );
    assert.equal((await ao.health()).runtime.status, 'ok');
  });
});

describe('runtime: Claude Code refusing bypassPermissions as root', function () {
  this.timeout(60_000);
  let stack: TestStack;
  before(async function () {
    if (!isRoot) skipBecause(this, 'needs root (Claude Code refuses bypassPermissions only to root)');
    stack = await TestStack.start();
    // The agents' environment as the tests give it, but without the variable that allows it.
    const { IS_SANDBOX, ...env } = stack.agentEnv;
    stack.options.executorOptions = { env };
    await stack.restartRuntime();
  });
  after(async () => stack?.close());

  it("says in the run's error how to fix it", async () => {
    const ao = stack.client();
    const error = await failedStart(ao, 'rooted');
    assert.match(error, /cannot be used with root\/sudo/);
    assert.match(error, /set IS_SANDBOX=1 in the runtime's environment/);
    assert.match(error, /AGENT_ORCHESTRATOR_PERMISSION_MODE/);
  });
});

describe('runtime: out of file descriptors (EMFILE)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  before(async function () {
    if (!existsSync('/usr/bin/prlimit') || !existsSync('/proc/self/fd')) skipBecause(this, 'needs prlimit and /proc');
    stack = await TestStack.start({ agent: 'fake', runtimeProcess: true });
  });
  after(async () => stack?.close());

  it('fails the run with the limit to raise, and runs again once it is raised', async () => {
    const ao = stack.client();
    await ao.health(); // the connection the next requests reuse is open before the limit drops
    const pid = String(stack.runtimeChild!.pid);
    const soft = execFileSync('/usr/bin/prlimit', ['--pid', pid, '--nofile', '--raw', '--noheadings', '--output=SOFT'])
      .toString()
      .trim();
    // The runtime opens and closes files of its own (store appends, sockets), so the room left by
    // "lowest free descriptor + 2" can be a little more or less at the moment the agent starts. An
    // attempt where the agent still started (or the request itself found no descriptor, or the
    // store could not write) proves nothing either way: try again, a few times; one attempt must
    // meet EMFILE at the spawn. Whatever an attempt met, its run ends once the limit is raised again
    // (a write the store refused meanwhile leaves no run claimed or running for ever).
    const outcomes: string[] = [];
    const created: string[] = [];
    let failed: { name: string; error: string } | undefined;
    for (let attempt = 1; attempt <= 5 && !failed; attempt++) {
      const name = `fds-${attempt}`;
      const open = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
      let lowestFree = 0;
      while (open.has(lowestFree)) lowestFree++;
      execFileSync('/usr/bin/prlimit', ['--pid', pid, `--nofile=${lowestFree + 2}:`]);
      let result: { state: string; error?: string | null } | undefined;
      try {
        await ao.sessions.create({ name, prompt: 'hi' });
        created.push(name);
        result = await ao.sessions.waitForResult(name, { timeoutMs: 5_000 });
      } catch (error) {
        outcomes.push(`${name}: ${(error as Error).message}`);
      } finally {
        execFileSync('/usr/bin/prlimit', ['--pid', pid, `--nofile=${soft}:`]);
      }
      assertAlive(stack);
      if (!result) continue;
      if (result.state === 'failed' && /EMFILE/.test(result.error ?? '')) failed = { name, error: result.error ?? '' };
      else outcomes.push(`${name}: ${result.state} ${result.error ?? ''}`);
    }
    // Sessions whose create answered an error may exist too: every session there is ends.
    const names = (await ao.sessions.list()).sessions.map((s) => s.name);
    for (const name of new Set([...created, ...names])) {
      const result = await ao.sessions.waitForResult(name, { timeoutMs: 20_000 });
      assert.ok(['finished', 'failed'].includes(result.state), `${name}: ${result.state} ${result.error ?? ''}`);
    }
    assert.ok(failed, `no attempt met EMFILE at the spawn: ${outcomes.join('; ')}`);
    assert.match(
      failed.error,
      /too many open files \(EMFILE\); raise its limit \(ulimit -n\) or lower AGENT_ORCHESTRATOR_MAX_CONCURRENT/,
    );
    await ao.sessions.resume(failed.name, { prompt: 'again' });
    assert.equal((await ao.sessions.waitForResult(failed.name, { timeoutMs: 30_000 })).state, 'finished');
  });
});

describe('runtime: the system refuses another process (EAGAIN)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  // Root is exempt from the process limit whatever its capabilities: the runtime runs as `nobody`
  // here, owning the stack's files. Its limit is what it has running, so it can start no process.
  const asNobody = (limit?: number) => [
    '/bin/sh',
    '-c',
    'chown -R 65534:65534 "$(dirname "$AGENT_ORCHESTRATOR_DATA_DIR")" && exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"',
    'sh',
    ...(limit ? ['/usr/bin/prlimit', `--nproc=${limit}:`] : []),
  ];
  const tasksOfNobody = () =>
    execFileSync('ps', ['-L', '-u', '65534', '--no-headers']).toString().trim().split('\n').filter(Boolean).length;

  before(async function () {
    if (!isRoot || !existsSync('/usr/bin/setpriv') || !existsSync('/usr/bin/prlimit'))
      skipBecause(this, 'needs root, setpriv and prlimit (to run the runtime as nobody with few tasks)');
    stack = await TestStack.start({ agent: 'fake', runtimeProcess: true, runtimeWrapper: asNobody() });
    const tasks = tasksOfNobody(); // the runtime's threads (and whatever else runs as nobody)
    stack.options.runtimeWrapper = asNobody(tasks);
    await stack.restartRuntime();
  });
  after(async () => stack?.close());

  it('fails the run with the limit to raise, and keeps serving', async () => {
    const ao = stack.client();
    const error = await failedStart(ao, 'nproc');
    assert.match(error, /refused to start another process \(EAGAIN: a process limit, ulimit -u/);
    assertAlive(stack);
    assert.equal((await ao.health()).runtime.status, 'ok');
  });
});
