// AGENT_ORCHESTRATOR_AGENT_USER: agents run as another Unix user than the runtime, so what the
// runtime's user may read (the data dir's admin token, its store) they may not, while the project dir
// and a session's worktree are opened to them by the runtime. Run here as root, with a user the test
// creates; the fake agent (the CLI adds nothing to who the process is).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../bin/run-bin.js';
import { ScriptedAgents } from '../support/scripted-agents.js';
import { TestStack } from '../support/stack.js';
import { removeDir } from '../support/servers.js';
import { git } from '../support/git.js';

describe('agents as another Unix user (AGENT_ORCHESTRATOR_AGENT_USER)', function () {
  this.timeout(120_000);
  const user = `aofa${process.pid}`.slice(0, 30);
  let home: string;
  let uid: number;
  let gid: number;
  let stack: TestStack;
  let agents: ScriptedAgents;

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'this test runs as root: it creates a Unix user');
    home = await mkdtemp(join(tmpdir(), 'aof-agent-home-'));
    execFileSync('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/bin/sh', user]);
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    await chown(home, uid, gid);
    stack = await TestStack.start({
      runtimeProcess: true,
      agent: 'fake',
      runtimeEnv: { AGENT_ORCHESTRATOR_AGENT_USER: user },
    });
    // The operator's part: the agent may pass through the directories above its project dir, and its
    // Claude Code config is its own. The project dir itself (root's, 0755) the runtime opens to it.
    await chmod(stack.root, 0o711);
    await chown(stack.configDir, uid, gid);
    agents = new ScriptedAgents(stack.fake, stack.projectDir);
  });
  after(async () => {
    await stack?.close();
    try {
      execFileSync('userdel', [user]);
    } catch {}
    if (home) await removeDir(home);
  });

  it('runs the agent as that user, which writes in the project dir and cannot read the data dir', async () => {
    const ao = stack.client();
    const name = uniqueName('as-user');
    const who = join(stack.projectDir, 'who');
    const leak = join(stack.projectDir, 'leak');
    const made = join(stack.projectDir, 'made', 'by-agent');
    await ao.sessions.create({
      name,
      prompt: agents.prompt(name, [
        `id -un > ${who}; echo "$HOME" >> ${who}`,
        `mkdir ${join(stack.projectDir, 'made')} && echo written > ${made}`,
        `cat ${join(stack.dataDir, 'api-token')} > ${leak} 2>&1 || echo refused token >> ${leak}`,
        `cat ${join(stack.dataDir, 'sessions.db')} >> ${leak} 2>&1 || echo refused store >> ${leak}`,
        `ls ${stack.dataDir} >> ${leak} 2>&1 || echo refused list >> ${leak}`,
      ]),
    });
    const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(await readFile(who, 'utf8'), `${user}\n${home}\n`);
    // What the agent made is its own, in the group the project dir was given, for the group to change too.
    assert.equal(await readFile(made, 'utf8'), 'written\n');
    const info = await stat(made);
    assert.deepEqual([info.uid, info.gid, info.mode & 0o777], [uid, gid, 0o664]);
    const leaked = await readFile(leak, 'utf8');
    assert.ok(!leaked.includes(stack.token!), 'the agent read the admin token');
    assert.ok(!leaked.includes(name), "the agent read the runtime's store");
    assert.match(leaked, /refused token\n(.|\n)*refused store\n(.|\n)*refused list\n$/);
    // Its run's credential still works: it is in the agent's own environment.
    const session = await ao.sessions.get(name);
    assert.equal(session.created_by?.name, 'admin');
  });
  it("opens a session's worktree to that user: it writes and commits there, on the session's branch", async () => {
    const repo = join(stack.root, 'repo');
    await mkdir(repo);
    git(repo, 'init', '-q', '-b', 'main');
    await writeFile(join(repo, 'README'), 'hello\n');
    git(repo, 'add', 'README');
    git(repo, 'commit', '-qm', 'first');
    const ao = stack.client();
    const name = uniqueName('in-tree');
    const out = join(stack.projectDir, `${name}.out`);
    await ao.sessions.create({
      name,
      project_dir: repo,
      worktree: true,
      prompt: agents.prompt(name, [
        `(echo from-agent > made && git add made && git -c user.name=a -c user.email=a@a commit -qm by-agent && id -un) > ${out} 2>&1`,
      ]),
    });
    const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(await readFile(out, 'utf8'), `${user}\n`);
    assert.equal(git(repo, 'log', '-1', '--format=%s', `aof/${name}`), 'by-agent');
    assert.equal(git(repo, 'show', `aof/${name}:made`), 'from-agent');
  });
});
