// The agent CLI adapters' pure parts: command lines, and their normalisers fed real streams that the
// pinned CLIs printed against the fake model (test/support/cli-streams/, see its README).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { unsupportedSetting } from '../../servers/common/agent/agent-clis.js';
import { codex, codexUsage, rolloutUsage } from '../../servers/executor/clis/codex.js';
import { gemini } from '../../servers/executor/clis/gemini.js';
import { claude } from '../../servers/executor/clis/claude.js';
import { findClis } from '../../servers/executor/clis/index.js';
import { MAX_RAW_CHARS } from '../../servers/executor/clis/stream.js';
import { opencode } from '../../servers/executor/clis/opencode.js';
import type { CliAdapter, CliEvent, CliExit, CliRun, Usage } from '../../servers/executor/clis/types.js';

const stream = (name: string) => readFileSync(new URL(`../support/cli-streams/${name}.jsonl`, import.meta.url), 'utf8');

function normalise(
  adapter: CliAdapter,
  name: string,
  exit: CliExit = { code: 0, signal: null },
  prompt = 'the prompt',
  priorUsage: Usage | null = null,
) {
  const normaliser = adapter.normaliser({ prompt, agent: agentOf({}) }, { priorUsage });
  const events = stream(name)
    .split('\n')
    .flatMap((line) => normaliser.parse(line));
  events.push(...normaliser.end(exit));
  return { events, normaliser };
}

const ofType = <T extends CliEvent['type']>(events: CliEvent[], type: T) =>
  events.filter((e): e is Extract<CliEvent, { type: T }> => e.type === type);

function agentOf(agent: Partial<CliRun['agent']>): CliRun['agent'] {
  return {
    system_prompt: null,
    model: null,
    permission_mode: null,
    allowed_tools: [],
    disallowed_tools: [],
    mcp_servers: {},
    ...agent,
  };
}

function runOf(fields: Partial<Omit<CliRun, 'agent'>> & { agent?: Partial<CliRun['agent']> } = {}): CliRun {
  return {
    prompt: 'p',
    project_dir: '/project',
    conversation: { id: null, started: false, fork_of: null },
    approval: false,
    output_schema: null,
    ...fields,
    agent: agentOf(fields.agent ?? {}),
  };
}

const context = {
  defaultPermissionMode: 'bypassPermissions',
  runDir: '/run',
  sessionDir: '/session',
  env: { HOME: '/nonexistent' },
};

const usage = (input: number, output: number, cacheRead = 0): Usage => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: cacheRead,
});

describe('agent CLI adapters', () => {
  describe('Claude Code', () => {
    it('builds its command: its conversation, the MCP config file the executor wrote, no MCP timeout unless asked', async () => {
      const id = '11111111-1111-4111-8111-111111111111';
      const fresh = await claude.command(runOf({ conversation: { id, started: false, fork_of: null } }), {
        ...context,
        mcpConfigPath: '/run/mcp.json',
      });
      assert.deepEqual(fresh.files, []);
      assert.deepEqual(fresh.env, {});
      assert.deepEqual(fresh.args.slice(0, 6), [
        '-p',
        '--output-format',
        'stream-json',
        '--verbose',
        '--session-id',
        id,
      ]);
      assert.ok(fresh.args.join(' ').includes('--mcp-config /run/mcp.json'));
      const resumed = await claude.command(
        runOf({ approval: true, conversation: { id, started: true, fork_of: null } }),
        context,
      );
      assert.deepEqual(resumed.args.slice(4, 6), ['--resume', id]);
      // In approval mode it waits in its permission tool as long as the runtime says.
      assert.equal(resumed.env.MCP_TOOL_TIMEOUT, String(2 ** 31 - 1));
    });

    it('says when a resume found no conversation: its one result line names it', () => {
      const normaliser = claude.normaliser({ prompt: 'p', agent: agentOf({}) });
      const events = normaliser.parse(
        JSON.stringify({
          type: 'result',
          subtype: 'error_during_execution',
          is_error: true,
          errors: ['No conversation found with session ID: x'],
        }),
      );
      assert.equal(claude.noConversation(null, '', events), true);
      assert.equal(claude.noConversation({ code: 1, signal: null }, 'No conversation found', []), false);
    });
  });

  describe('Codex', () => {
    it('reads a plain answer: its thread id, the prompt, the answer, usage; a warning item is kept raw', () => {
      const { events, normaliser } = normalise(codex, 'codex-plain', undefined, 'say hi');
      assert.deepEqual(
        events.map((e) => e.type),
        ['session_start', 'message', 'raw', 'message', 'result'],
      );
      assert.deepEqual(events[0]!.data, {
        cli: 'codex',
        cli_session_id: '01a25024-e024-7f81-9b18-f5b3cd4e0d59',
      });
      assert.deepEqual(events[1]!.data, { role: 'user', text: 'say hi' });
      assert.deepEqual(events[3]!.data, { role: 'assistant', text: 'ECHO: say hi (turns 1)' });
      const [result] = ofType(events, 'result');
      assert.equal(result!.data.is_error, false);
      assert.equal(result!.data.text, 'ECHO: say hi (turns 1)');
      assert.deepEqual(result!.data.usage, usage(238, 6));
      assert.equal(result!.data.total_cost_usd, undefined, 'Codex reports no cost: aof estimates it');
      assert.equal(normaliser.sessionId, '01a25024-e024-7f81-9b18-f5b3cd4e0d59');
    });

    it('reads a shell command as pre_tool and post_tool with its output', () => {
      const { events } = normalise(codex, 'codex-shell');
      const [pre] = ofType(events, 'pre_tool');
      const [post] = ofType(events, 'post_tool');
      assert.deepEqual(pre!.data, {
        tool_use_id: 'item_2',
        tool: 'shell',
        input: { command: "/bin/bash -lc 'echo tool-said-hi'" },
      });
      assert.deepEqual(post!.data, { tool_use_id: 'item_2', tool: 'shell', output: 'tool-said-hi\n', is_error: false });
      assert.equal(ofType(events, 'pre_tool').length, 1, 'item.started and item.completed make one pre_tool');
      assert.match(ofType(events, 'result')[0]!.data.text!, /^SAW: .*tool-said-hi/s);
    });

    it("counts a resumed run's own usage: Codex reports the thread's running total", () => {
      const first = normalise(codex, 'codex-shell').normaliser.billedUsage();
      assert.deepEqual(first, usage(574, 42));
      const { events } = normalise(codex, 'codex-resume', undefined, 'second turn', first);
      assert.deepEqual(ofType(events, 'result')[0]!.data.usage, usage(971 - 574, 49 - 42));
    });

    it("finds the thread's total in its rollout file", () => {
      const line = (input: number, cached: number, output: number) =>
        JSON.stringify({
          type: 'event_msg',
          payload: {
            type: 'token_count',
            info: { total_token_usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output } },
          },
        });
      const rollout = [line(10, 0, 2), '{"type":"response_item"}', 'not json', line(50, 20, 9), ''].join('\n');
      assert.deepEqual(rolloutUsage(rollout), usage(30, 9, 20));
      assert.equal(rolloutUsage('{"type":"session_meta"}\n'), null);
      assert.deepEqual(codexUsage({ input_tokens: 5, cached_input_tokens: 9 }), usage(0, 0, 9));
    });

    it("turns an API error into a failed result with the API's message", () => {
      const { events, normaliser } = normalise(codex, 'codex-error', { code: 1, signal: null });
      const [result] = ofType(events, 'result');
      assert.equal(result!.data.is_error, true);
      assert.deepEqual(result!.data.errors, ['fake-model says no']);
      assert.deepEqual(normaliser.result, { isError: true, text: null });
    });

    it('builds its command: sandbox from the permission mode, instructions, MCP servers, resume and fork', async () => {
      const fresh = await codex.command(
        runOf({ agent: { model: 'gpt-5', system_prompt: 'Be "brief".\nReally.', permission_mode: 'acceptEdits' } }),
        { ...context, extraMcpServers: { aof: { command: 'node', args: ['mcp.js'], env: { A: 'b' } } } },
      );
      assert.deepEqual(fresh.args, [
        'exec',
        '--json',
        '--skip-git-repo-check',
        '--disable',
        'plugins',
        '-c',
        'analytics.enabled=false',
        '-c',
        'sandbox_mode="workspace-write"',
        '-c',
        'approval_policy="never"',
        '-m',
        'gpt-5',
        '-c',
        'developer_instructions="Be \\"brief\\".\\nReally."',
        '-c',
        'mcp_servers.aof={"command"="node","args"=["mcp.js"],"env"={"A"="b"}}',
        '-',
      ]);
      const resumed = await codex.command(runOf({ conversation: { id: 'T1', started: true, fork_of: null } }), context);
      assert.deepEqual(resumed.args.slice(-3), ['resume', 'T1', '-']);
      assert.ok(resumed.args.includes('sandbox_mode="danger-full-access"'), 'the default mode: bypassPermissions');
      const forked = await codex.command(runOf({ conversation: { id: null, started: false, fork_of: 'T0' } }), context);
      assert.deepEqual(forked.args.slice(-3), ['fork', 'T0', '-']);
      assert.ok(
        codex.noConversation({ code: 1, signal: null }, 'Error: thread/resume: no rollout found for thread id X', []),
      );
      assert.ok(!codex.noConversation({ code: 1, signal: null }, 'Error: something else', []));
    });
  });

  describe('Gemini', () => {
    it('reads a shell tool call and joins the streamed pieces of an answer into one message', () => {
      const { events, normaliser } = normalise(gemini, 'gemini-shell');
      assert.deepEqual(
        events.map((e) => e.type),
        ['session_start', 'message', 'message', 'pre_tool', 'post_tool', 'message', 'result'],
      );
      assert.deepEqual(events[0]!.data, {
        cli: 'gemini',
        cli_session_id: '11111111-2222-4333-8444-555555555555',
        model: 'gemini-2.5-pro',
      });
      assert.deepEqual(events[1]!.data, { role: 'user', text: 'run a command' });
      assert.deepEqual(events[3]!.data, {
        tool_use_id: 'run_shell_command__call_fake_1',
        tool: 'run_shell_command',
        input: { command: 'echo tool-said-hi' },
      });
      assert.deepEqual(events[4]!.data, {
        tool_use_id: 'run_shell_command__call_fake_1',
        tool: 'run_shell_command',
        output: 'tool-said-hi',
        is_error: false,
      });
      const answer = events[5]!.data as { text: string };
      assert.match(answer.text, /^SAW: <untrusted_context>\nOutput: tool-said-hi\n.*<\/untrusted_context>$/s);
      const [result] = ofType(events, 'result');
      assert.equal(result!.data.text, answer.text);
      assert.deepEqual(result!.data.usage, usage(367, 37));
      assert.equal(result!.data.duration_ms, 2886);
      assert.equal(normaliser.turns, 2);
    });

    it("turns an API error into a failed result with the API's message", () => {
      const { events } = normalise(gemini, 'gemini-error', { code: 144, signal: null });
      const [result] = ofType(events, 'result');
      assert.equal(result!.data.is_error, true);
      assert.deepEqual(result!.data.errors, ['fake-model says no']);
    });

    it("builds its command and a home of the session's own: the user's settings with aof's on top, links to the login", async () => {
      const user = await mkdtemp(path.join(tmpdir(), 'aof-gemini-user-'));
      try {
        await mkdir(path.join(user, '.gemini'));
        await writeFile(
          path.join(user, '.gemini', 'settings.json'),
          JSON.stringify({
            security: { auth: { selectedType: 'oauth-personal' } },
            privacy: { usageStatisticsEnabled: true },
          }),
        );
        const command = await gemini.command(
          runOf({
            conversation: { id: 'U1', started: false, fork_of: null },
            agent: {
              model: 'gemini-2.5-flash',
              permission_mode: 'plan',
              disallowed_tools: ['web_fetch'],
              system_prompt: 'You review.',
            },
          }),
          { ...context, env: { HOME: user }, extraMcpServers: { aof: { command: 'node', args: ['mcp.js'] } } },
        );
        assert.deepEqual(command.args, [
          '-p',
          '',
          '-o',
          'stream-json',
          '--skip-trust',
          '--approval-mode',
          'plan',
          '-m',
          'gemini-2.5-flash',
          '--session-id',
          'U1',
        ]);
        assert.deepEqual(command.env, {
          GEMINI_CLI_HOME: '/session',
          GEMINI_CLI_NO_RELAUNCH: 'true',
          GEMINI_SYSTEM_MD: '/run/gemini-system.md',
        });
        const [settingsFile, ...rest] = command.files;
        assert.equal(settingsFile!.path, '/session/.gemini/settings.json');
        const settings = JSON.parse((settingsFile as { content: string }).content);
        assert.deepEqual(settings.security, { auth: { selectedType: 'oauth-personal' } }, "the user's login choice");
        assert.equal(settings.privacy.usageStatisticsEnabled, false);
        assert.equal(settings.telemetry.enabled, false);
        assert.equal(settings.general.enableAutoUpdate, false);
        assert.deepEqual(settings.tools, { exclude: ['web_fetch'] });
        assert.deepEqual(settings.mcpServers, { aof: { command: 'node', args: ['mcp.js'], trust: true } });
        assert.deepEqual(rest.at(-1), { path: '/run/gemini-system.md', content: 'You review.' });
        assert.deepEqual(rest[0], {
          path: '/session/.gemini/oauth_creds.json',
          linkTo: path.join(user, '.gemini', 'oauth_creds.json'),
        });
      } finally {
        await rm(user, { recursive: true, force: true });
      }
      const resumed = await gemini.command(
        runOf({ conversation: { id: 'U1', started: true, fork_of: null } }),
        context,
      );
      assert.deepEqual(resumed.args.slice(-2), ['-r', 'U1']);
      assert.ok(resumed.args.includes('yolo'));
      assert.ok(
        gemini.noConversation({ code: 42, signal: null }, 'Error resuming session: Invalid session identifier "x"', []),
      );
    });
  });

  describe('OpenCode', () => {
    it('reads a shell tool call and makes the result at the end: summed usage and its cost', () => {
      const { events, normaliser } = normalise(opencode, 'opencode-shell');
      assert.deepEqual(
        events.map((e) => e.type),
        ['session_start', 'message', 'message', 'pre_tool', 'post_tool', 'message', 'result'],
      );
      assert.deepEqual(events[0]!.data, { cli: 'opencode', cli_session_id: 'ses_dafd8efd9ffed8ebQnjLxzfrWH' });
      assert.deepEqual(events[4]!.data, {
        tool_use_id: 'toolu_fake_1',
        tool: 'bash',
        output: 'tool-said-hi\n',
        is_error: false,
      });
      const [result] = ofType(events, 'result');
      assert.equal(result!.data.is_error, false);
      assert.equal(result!.data.text, 'SAW: tool-said-hi\n');
      assert.deepEqual(result!.data.usage, usage(27 + 108, 17 + 5));
      assert.ok(Math.abs(result!.data.total_cost_usd! - (0.000336 + 0.000399)) < 1e-12);
      assert.equal(result!.data.num_turns, 2);
      assert.equal(normaliser.sessionId, 'ses_dafd8efd9ffed8ebQnjLxzfrWH');
    });

    it("turns an API error into a failed result with the API's message", () => {
      const { events } = normalise(opencode, 'opencode-error', { code: 1, signal: null });
      const [result] = ofType(events, 'result');
      assert.equal(result!.data.is_error, true);
      assert.deepEqual(result!.data.errors, ['fake-model says no']);
    });

    it('makes no result for a run that was killed: the stop says how it ended', () => {
      const { events } = normalise(opencode, 'opencode-resume', { code: null, signal: 'SIGTERM' });
      assert.equal(ofType(events, 'result').length, 0);
    });

    it('builds its command: --auto only for bypassPermissions, plan denies edits and shell, its agent for a system prompt', async () => {
      const plan = await opencode.command(
        runOf({
          conversation: { id: 'ses_1', started: true, fork_of: null },
          agent: { model: 'anthropic/claude-sonnet-4-5', permission_mode: 'plan', system_prompt: 'Plan only.' },
        }),
        context,
      );
      assert.deepEqual(plan.args, [
        'run',
        '--format',
        'json',
        '--pure',
        '--title',
        'aof',
        '-m',
        'anthropic/claude-sonnet-4-5',
        '-s',
        'ses_1',
        '--agent',
        'aof',
      ]);
      assert.deepEqual(JSON.parse(plan.env.OPENCODE_CONFIG_CONTENT!), {
        permission: { edit: 'deny', bash: 'deny', webfetch: 'deny' },
        agent: { aof: { mode: 'primary', prompt: 'Plan only.' } },
      });
      assert.equal(plan.env.OPENCODE_DISABLE_MODELS_FETCH, '1');
      assert.equal(plan.env.OPENCODE_DISABLE_AUTOUPDATE, '1');
      const fork = await opencode.command(
        runOf({ conversation: { id: null, started: false, fork_of: 'ses_0' } }),
        context,
      );
      assert.deepEqual(fork.args.slice(6), ['-s', 'ses_0', '--fork', '--auto']);
      assert.equal(fork.env.OPENCODE_CONFIG_CONTENT, undefined);
    });
  });

  it('keeps what it cannot read, on every CLI: bad lines give nothing, unknown events are raw, odd shapes never throw', () => {
    const odd = [
      '',
      'plain text warning',
      '[1,2]',
      'null',
      '{"type":"something.new","x":1}',
      '{"type":"item.completed","item":null}',
      '{"type":"item.completed","item":{"type":"command_execution"}}',
      '{"type":"tool_use"}',
      '{"type":"tool_result","tool_id":5}',
      '{"type":"result","stats":"x"}',
      '{"type":"step_finish","part":{"tokens":{"input":-5,"output":"7"},"cost":"free"}}',
      '{"type":"text","part":null}',
      '{"type":"thread.started","thread_id":7}',
      '{"type":"turn.failed"}',
      '{"type":"error","error":{"data":null}}',
    ];
    const huge = JSON.stringify({ type: 'something.huge', blob: 'x'.repeat(MAX_RAW_CHARS) });
    for (const adapter of [claude, codex, gemini, opencode]) {
      const normaliser = adapter.normaliser({ prompt: 'p', agent: agentOf({}) });
      const events = [...odd, huge].flatMap((line) => normaliser.parse(line));
      events.push(...normaliser.end({ code: 1, signal: null }));
      const unknown = events.find(
        (e) => e.type === 'raw' && (e.data.event as { type?: string }).type === 'something.new',
      );
      assert.ok(unknown, `${adapter.name} keeps an unknown event`);
      assert.deepEqual(unknown.data, { cli: adapter.name, event: { type: 'something.new', x: 1 } });
      // Too large to keep whole: the start of its text, said to be cut.
      const cut = ofType(events, 'raw').find((e) => e.data.truncated)?.data.event;
      assert.ok(typeof cut === 'string', `${adapter.name} keeps the start of a huge unknown event`);
      assert.equal(cut.length, MAX_RAW_CHARS);
      assert.ok(cut.startsWith('{"type":"something.huge"'));
    }
  });

  it('is deterministic: the same lines give the same events (how a restarted runtime finds its place)', () => {
    for (const [adapter, name] of [
      [codex, 'codex-shell'],
      [gemini, 'gemini-shell'],
      [opencode, 'opencode-shell'],
    ] as const) {
      assert.deepEqual(normalise(adapter, name).events, normalise(adapter, name).events);
    }
  });

  it('finds the CLIs a host has, as configured or on PATH, and tags the ones other than Claude Code', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'aof-cli-bins-'));
    try {
      for (const name of ['claude', 'my-codex', 'gemini']) {
        await writeFile(path.join(dir, name), '#!/bin/sh\n', { mode: 0o755 });
      }
      await writeFile(path.join(dir, 'opencode'), 'not executable', { mode: 0o644 });
      const clis = await findClis(
        { claude: 'claude', codex: path.join(dir, 'my-codex'), gemini: 'gemini', opencode: 'opencode' },
        dir,
      );
      assert.deepEqual(clis.found, {
        claude: path.join(dir, 'claude'),
        codex: path.join(dir, 'my-codex'),
        gemini: path.join(dir, 'gemini'),
      });
      assert.deepEqual(clis.tags, ['cli-codex', 'cli-gemini']);
      assert.match(
        clis.summary,
        /^agent CLIs found: claude \(.*\), codex \(.*\), gemini \(.*\); not found: opencode \(opencode\)$/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses the settings a CLI cannot honour, naming the field', () => {
    assert.deepEqual(unsupportedSetting('gemini', {}, { fork: true }), {
      field: 'cli',
      detail: 'Gemini CLI cannot fork a conversation headless',
    });
    assert.equal(unsupportedSetting('codex', {}, { fork: true }), null);
    assert.equal(unsupportedSetting('codex', { approval: { timeout_s: 60 } })?.field, 'approval');
    assert.equal(unsupportedSetting('codex', { allowed_tools: ['Bash'] })?.field, 'allowed_tools');
    assert.equal(unsupportedSetting('opencode', { allowed_tools: ['bash'] })?.field, 'allowed_tools');
    assert.equal(unsupportedSetting('opencode', { disallowed_tools: ['bash'] }), null);
    assert.equal(unsupportedSetting('gemini', { permission_mode: 'dontAsk' })?.field, 'permission_mode');
    assert.equal(unsupportedSetting('claude', { approval: {}, allowed_tools: ['Bash'] }, { fork: true }), null);
  });
});
