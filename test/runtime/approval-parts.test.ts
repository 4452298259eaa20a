// The pure parts of approval mode: the CLI flags and MCP config an agent gets, the decision the
// permission tool hands back to Claude Code, and how a request reads in the commands.
import assert from 'node:assert/strict';
import { describeApproval } from '../../bin/lib/approvals.js';
import type { Approval } from '../../sdk/index.js';
import { PERMISSION_TOOL, toDecision } from '../../servers/mcp/permission-tool.js';
import { timeoutMessage } from '../../servers/runtime/approvals.js';
import { claudeArgs } from '../../servers/executor/claude-command.js';
import { agentMcpServers, permissionToolPath } from '../../servers/executor/permission-server.js';
import { buildRunSpec } from '../../servers/runtime/run-spec.js';
import { newRun, type StoredSession } from '../../servers/runtime/session-store.js';

const stored = (blueprint: StoredSession['blueprint']): StoredSession => ({
  _id: 's',
  name: 's',
  agent: blueprint?.name ?? null,
  blueprint,
  project_dir: '/p',
  claude_session_id: 'c0ffee',
  created_at: '2026-01-01T00:00:00.000Z',
  last_resumed_at: null,
  updated_at: '2026-01-01T00:00:00.000Z',
  runs: [newRun(1, 'go', '2026-01-01T00:00:00.000Z')],
});

/** The RunSpec of the session's first run, with `credential`. */
const session = (blueprint: StoredSession['blueprint'], credential?: string) => {
  const s = stored(blueprint);
  return buildRunSpec(s, s.runs[0]!, { conversation: null, credential, tracing: false });
};

const approval = (over: Partial<Approval> = {}): Approval => ({
  id: 'apr_1',
  session: 's',
  run: 2,
  tool: 'Bash',
  input: { command: 'rm -rf build' },
  tool_use_id: 't1',
  state: 'pending',
  asked_at: '2026-01-01T00:00:00.000Z',
  expires_at: '2026-01-01T00:10:00.000Z',
  answered_at: null,
  answered_by: null,
  message: null,
  ...over,
});

const flag = (args: string[], name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

describe('approvals: pure parts', () => {
  it('approval mode asks through the permission tool, in the default permission mode unless the blueprint sets one', () => {
    const plain = claudeArgs(session({ name: 'b' }), {
      resume: false,
      permissionMode: 'bypassPermissions',
      mcpConfigPath: null,
    });
    assert.equal(flag(plain, '--permission-mode'), 'bypassPermissions');
    assert.equal(plain.includes('--permission-prompt-tool'), false);
    const asking = claudeArgs(session({ name: 'b', approval: {}, disallowed_tools: ['Bash(rm:*)'] }), {
      resume: false,
      permissionMode: 'bypassPermissions',
      mcpConfigPath: '/r/mcp.json',
    });
    assert.equal(flag(asking, '--permission-mode'), 'default');
    assert.equal(flag(asking, '--permission-prompt-tool'), PERMISSION_TOOL);
    assert.equal(flag(asking, '--mcp-config'), '/r/mcp.json');
    assert.equal(flag(asking, '--disallowedTools'), 'Bash(rm:*)');
    const edits = claudeArgs(session({ name: 'b', approval: {}, permission_mode: 'acceptEdits' }), {
      resume: true,
      permissionMode: 'bypassPermissions',
      mcpConfigPath: '/r/mcp.json',
    });
    assert.equal(flag(edits, '--permission-mode'), 'acceptEdits');
  });

  it("the agent's MCP servers: the blueprint's, plus the permission tool in approval mode, with the run's own credential", () => {
    const runtime = { dataDir: '/data', nodePath: '/usr/bin/node' };
    assert.equal(agentMcpServers(session({ name: 'b' }), runtime), null);
    const own = { echo: { command: 'echo-mcp' } };
    assert.deepEqual(agentMcpServers(session({ name: 'b', mcp_servers: own }), runtime), own);
    const servers = agentMcpServers(
      session({ name: 'b', mcp_servers: own, approval: { timeout_seconds: 5 } }, 'aofa_cw.1.secret'),
      runtime,
    )!;
    assert.deepEqual(Object.keys(servers), ['echo', 'aof_approvals']);
    assert.deepEqual(servers.aof_approvals, {
      command: '/usr/bin/node',
      args: [permissionToolPath()],
      env: {
        AOF_APPROVAL_SESSION: 's',
        AOF_APPROVAL_RUNTIME_URL_FILE: '/data/runtime.url',
        AGENT_ORCHESTRATOR_API_TOKEN: 'aofa_cw.1.secret',
      },
    });
    assert.match(permissionToolPath(), /\/dist\/bin\/ao-permission-mcp\.js$/);
    assert.equal(permissionToolPath().includes('/dist/dist/'), false);
  });

  it("the decision Claude Code gets: allow with the input unchanged, or deny with the answer's message", () => {
    const input = { command: 'rm -rf build' };
    assert.deepEqual(toDecision(approval({ state: 'approved' }), input), { behavior: 'allow', updatedInput: input });
    assert.deepEqual(toDecision(approval({ state: 'denied', message: 'use make clean' }), input), {
      behavior: 'deny',
      message: 'use make clean',
    });
    assert.deepEqual(toDecision(approval({ state: 'cancelled', message: null }), input), {
      behavior: 'deny',
      message: 'The request was cancelled.',
    });
  });

  it('the timeout message: the policy says it, or it names the seconds', () => {
    assert.equal(timeoutMessage({ timeout_message: 'skip it' }), 'skip it');
    assert.match(timeoutMessage({ timeout_seconds: 30 }), /within 30 seconds, so it was denied/);
    assert.match(timeoutMessage({}), /within 600 seconds/);
  });

  it('a request reads as one line: id, session and run, tool call, state', () => {
    const now = Date.parse('2026-01-01T00:05:00.000Z');
    assert.equal(
      describeApproval(approval(), now),
      'apr_1  s (run 2)  Bash(command="rm -rf build")  pending, expires in 300 s',
    );
    assert.equal(
      describeApproval(approval({ state: 'denied', answered_by: 'timeout', message: 'late' }), now),
      'apr_1  s (run 2)  Bash(command="rm -rf build")  denied by timeout: late',
    );
  });
});
