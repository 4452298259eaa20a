// AGENT_ORCHESTRATOR_AGENT_USER: agents run as another Unix user than the runtime, so what the
// runtime's user may read (the data dir's admin token) they may not. Run here as root, with a user
// the test creates; the fake agent (the CLI adds nothing to who the process is).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../bin/run-bin.js';
import { ScriptedAgents } from '../support/scripted-agents.js';
import { TestStack } from '../support/stack.js';
import { removeDir } from '../support/servers.js';

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
    // The operator's part: the agent may pass through to its project dir (and its Claude Code config), and work there.
    await chmod(stack.root, 0o711);
    await chown(stack.projectDir, uid, gid);
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

  it('runs the agent as that user, which cannot read the data dir’s token', async () => {
    const ao = stack.client();
    const name = uniqueName('as-user');
    const who = join(stack.projectDir, 'who');
    const leak = join(stack.projectDir, 'leak');
    await ao.sessions.create({
      name,
      prompt: agents.prompt(name, [
        `id -un > ${who}; echo "$HOME" >> ${who}`,
        `cat ${join(stack.dataDir, 'api-token')} > ${leak} 2>&1 || echo refused >> ${leak}`,
      ]),
    });
    const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(await readFile(who, 'utf8'), `${user}\n${home}\n`);
    const leaked = await readFile(leak, 'utf8');
    assert.ok(!leaked.includes(stack.token!), 'the agent read the admin token');
    assert.match(leaked, /refused/);
    // Its run's credential still works: it is in the agent's own environment.
    const session = await ao.sessions.get(name);
    assert.equal(session.created_by?.name, 'admin');
  });
});
