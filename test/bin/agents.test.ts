// ao-list-agents and ao-create-agent as processes against the real registry.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { echoModel, uniqueName, useStack } from './run-bin.js';

describe('ao-list-agents and ao-create-agent (processes against real servers)', function () {
  this.timeout(30_000);
  const fixture = useStack(echoModel, { executor: 'none' });
  const { run } = fixture;

  it('ao-list-agents says how to create one when there are none', async () => {
    const r = await run('ao-list-agents', []);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    assert.match(r.stderr, /^No agents — create one with ao-create-agent <name> --description TEXT/);
    assert.deepEqual((await run('ao-list-agents', ['--json'])).json(), { agents: [] });
  });

  it('ao-create-agent --approval --ancestors-may-answer lets the agents its sessions work for answer; alone it is refused', async () => {
    const r = await run('ao-create-agent', [
      'delegated',
      '-d',
      'asks its parent',
      '--approval',
      '--ancestors-may-answer',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await fixture.stack.client().agents.get('delegated')).approval, { ancestors_may_answer: true });
    const alone = await run('ao-create-agent', ['undelegated', '-d', 'x', '--ancestors-may-answer']);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /--ancestors-may-answer need --approval/);
    await fixture.stack.client().agents.delete('delegated'); // the next tests list the blueprints there are
  });

  it('ao-create-agent creates a blueprint with the system prompt from -s, and ao-list-agents lists it', async () => {
    const r = await run('ao-create-agent', [
      'reviewer',
      '-d',
      'Reviews code for bugs',
      '-s',
      'You are a strict reviewer.',
      '--disallowed-tools',
      'Edit, Write',
      '--model',
      'sonnet',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "Created agent 'reviewer' (active) — start a session from it with ao-new <session> --agent reviewer -p PROMPT\n",
    );
    const agent = await fixture.stack.client().agents.get('reviewer');
    assert.equal(agent.system_prompt, 'You are a strict reviewer.');
    assert.deepEqual(agent.disallowed_tools, ['Edit', 'Write']);
    assert.equal(agent.model, 'sonnet');

    const text = await run('ao-list-agents', []);
    assert.match(text.stdout, /^NAME +STATUS +CLI +DESCRIPTION\nreviewer +active +claude +Reviews code for bugs\n$/);
    const { agents } = (await run('ao-list-agents', ['--json'])).json();
    assert.equal(agents[0].name, 'reviewer');
    assert.equal(agents[0].system_prompt, 'You are a strict reviewer.');
  });

  it('ao-create-agent --cli names the agent CLI; ao-list-agents shows it; a setting the CLI cannot honour is refused by its flag', async () => {
    const name = uniqueName('codex');
    const r = await run('ao-create-agent', [name, '-d', 'Reviews with Codex', '--cli', 'codex', '--model', 'gpt-5']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await fixture.stack.client().agents.get(name)).cli, 'codex');
    assert.match(
      (await run('ao-list-agents', [])).stdout,
      new RegExp(`\\n${name} +active +codex +Reviews with Codex\\n`),
    );
    const refused = await run('ao-create-agent', [uniqueName('asks'), '-d', 'x', '--cli', 'gemini', '--approval']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--approval/);
    assert.match(refused.stderr, /Gemini CLI has no approval mode/);
    const unknown = await run('ao-create-agent', [uniqueName('x'), '-d', 'x', '--cli', 'copilot']);
    assert.deepEqual(
      [unknown.code, unknown.stderr],
      [1, "ao-create-agent: --cli must be one of claude, codex, gemini, opencode, not 'copilot'\n"],
    );
    const moved = await run('ao-update-agent', [name, '--cli', 'opencode']);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal((await fixture.stack.client().agents.get(name)).cli, 'opencode');
  });

  it('ao-create-agent takes the system prompt from -s, or stdin with -s -, and MCP servers from a file', async () => {
    const name = uniqueName('writer');
    const mcp = join(fixture.stack.root, 'mcp.json');
    await writeFile(mcp, JSON.stringify({ mcpServers: { echo: { command: 'node', args: ['echo.mjs'] } } }));
    const prompt = 'You write docs.\nLine two, with "quotes" and $dollars.\n';
    const flag = await run(
      'ao-create-agent',
      [uniqueName('flag'), '-d', 'Flag wins', '-s', '-starts with a dash', '--json'],
      { input: 'not read' },
    );
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(flag.json().system_prompt, '-starts with a dash');
    const r = await run(
      'ao-create-agent',
      [name, '-d', 'Writes docs', '-s', '-', '--mcp-config', mcp, '--permission-mode', 'acceptEdits', '--json'],
      { input: prompt },
    );
    assert.equal(r.code, 0, r.stderr);
    const agent = r.json();
    assert.equal(agent.name, name);
    assert.equal(agent.system_prompt, prompt);
    assert.equal(agent.permission_mode, 'acceptEdits');
    assert.deepEqual(agent.mcp_servers, { echo: { command: 'node', args: ['echo.mjs'] } });
  });

  it('ao-create-agent --worktree-setup sets the command run in new worktrees; ao-update-agent --clear removes it', async () => {
    const name = uniqueName('setup');
    const r = await run('ao-create-agent', [
      name,
      '-d',
      'Ready worktrees',
      '--worktree',
      '--worktree-setup',
      'npm ci',
      '--setup-timeout',
      '600',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const agent = await fixture.stack.client().agents.get(name);
    assert.deepEqual(agent.worktree_setup, { command: 'npm ci', timeout_seconds: 600 });
    const lone = await run('ao-create-agent', [uniqueName('setup'), '-d', 'x', '--setup-timeout', '5']);
    assert.equal(lone.code, 1);
    assert.equal(lone.stderr, 'ao-create-agent: --setup-timeout needs --worktree-setup COMMAND\n');
    const bad = await run('ao-create-agent', [
      uniqueName('setup'),
      '-d',
      'x',
      '--worktree-setup',
      'true',
      '--setup-timeout',
      '0',
    ]);
    assert.equal(bad.stderr, "ao-create-agent: --setup-timeout must be whole seconds from 1 to 3600, not '0'\n");
    assert.equal((await run('ao-update-agent', [name, '--clear', 'worktree_setup'])).code, 0);
    assert.equal((await fixture.stack.client().agents.get(name)).worktree_setup, undefined);
  });

  it('ao-create-agent explains what is wrong', async () => {
    const dup = await run('ao-create-agent', ['reviewer', '-d', 'again']);
    assert.deepEqual(
      [dup.code, dup.stderr],
      [1, "ao-create-agent: Agent 'reviewer' already exists — see ao-list-agents, or pick another name\n"],
    );
    assert.equal(
      (await run('ao-create-agent', ['reviewer', '-d', 'again', '--json'])).errorJson().error.code,
      'agent_exists',
    );
    const noDescription = await run('ao-create-agent', ['helper']);
    assert.deepEqual(
      [noDescription.code, noDescription.stderr],
      [1, "ao-create-agent: Missing --description — say what agent 'helper' is for: ao-create-agent helper -d TEXT\n"],
    );
    const badName = await run('ao-create-agent', ['-bad', '-d', 'x']);
    assert.equal(badName.code, 1);
    const badMode = await run('ao-create-agent', ['helper', '-d', 'x', '--permission-mode', 'yolo']);
    assert.match(
      badMode.stderr,
      /^ao-create-agent: --permission-mode must be one of default, acceptEdits, bypassPermissions, plan, not 'yolo'\n$/,
    );
    const badFile = await run('ao-create-agent', [
      'helper',
      '-d',
      'x',
      '--mcp-config',
      join(fixture.stack.root, 'missing.json'),
    ]);
    assert.match(badFile.stderr, /^ao-create-agent: Cannot read --mcp-config .*missing\.json/);
    assert.match(
      (await run('ao-create-agent', ['bad name', '-d', 'x'])).stderr,
      /^ao-create-agent: Invalid agent name 'bad name'/,
    );
  });

  it('ao-list-agents --status filters', async () => {
    await run('ao-create-agent', ['sleeper', '-d', 'Inactive one', '--inactive']);
    const inactive = (await run('ao-list-agents', ['--status', 'inactive', '--json']))
      .json()
      .agents.map((a: { name: string }) => a.name);
    assert.deepEqual(inactive, ['sleeper']);
    const r = await run('ao-new', ['from-sleeper', '--agent', 'sleeper', '-p', 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ao-new: Agent 'sleeper' is inactive — activate it first with ao-activate-agent sleeper/);
    assert.match(
      (await run('ao-list-agents', ['--status', 'maybe'])).stderr,
      /^ao-list-agents: --status must be active or inactive/,
    );
  });
});
