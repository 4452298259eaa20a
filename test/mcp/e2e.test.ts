// End to end: the real Claude Code, given ao-mcp with --mcp-config and driven by the fake model,
// calls start_agent_session; the Agent Runtime runs a child session, and the child's answer comes
// back to the parent as the tool result. The child's agent is incidental (the fake agent): the point
// is the CLI as the MCP client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { claudeBin, TEST_MODEL } from '../support/claude-env.js';
import { removeDir, tempDir } from '../support/servers.js';
import { TestStack } from '../support/stack.js';
import { startMcpHttp, type RunningMcpHttp } from '../../servers/mcp/http.js';
import { testLogger } from '../support/servers.js';
import { aoMcpBin, requireBuild } from './support/mcp-client.js';

interface StreamLine {
  type: string;
  subtype?: string;
  [key: string]: any;
}

const PARENT_PROMPT = 'Ask a child agent to say hi';
const TOOL = 'mcp__aof__start_agent_session';

describe('mcp: end to end with Claude Code as the MCP client', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let cwd: string;
  let http: RunningMcpHttp;

  before(async () => {
    requireBuild();
    stack = await TestStack.start({ agent: 'fake' });
    cwd = await tempDir('aof-mcp-e2e-');
    http = await startMcpHttp({
      url: new URL('http://127.0.0.1:0/mcp'),
      orchestrator: stack.client(),
      defaultProjectDir: cwd,
      logger: testLogger('mcp'),
    });
  });
  after(async () => {
    await http?.close();
    await stack?.close();
    if (cwd) await removeDir(cwd);
  });

  it('a parent Claude Code session starts a child session through ao-mcp (stdio) and gets its result', async () => {
    await parentStartsChild('child', { command: process.execPath, args: [aoMcpBin], env: stack.clientEnv });
  });

  it('the same over Streamable HTTP (`"type": "http"` in the MCP config)', async () => {
    await parentStartsChild('child-http', { type: 'http', url: http.endpoint });
  });

  async function parentStartsChild(childName: string, server: object): Promise<void> {
    stack.fake.respond((req) => {
      // Claude Code hands the model the tool's structured content as JSON.
      const fromChild = req.toolResults.find((r) => r.text.includes('hi from child'));
      if (fromChild)
        return { text: `The child answered: ${(JSON.parse(fromChild.text) as { result: string }).result}` };
      if (req.lastUserText === PARENT_PROMPT && req.toolNames.includes(TOOL)) {
        return { toolUse: { name: TOOL, input: { name: childName, prompt: 'say hi' } } };
      }
      if (req.lastUserText === 'say hi') return { text: 'hi from child' };
      return { text: `unexpected request: ${req.lastUserText || JSON.stringify(req.toolResults)}` };
    });

    const mcpConfig = { mcpServers: { aof: server } };
    const child = spawn(
      claudeBin,
      [
        '-p',
        '--output-format',
        'stream-json',
        '--verbose',
        '--model',
        TEST_MODEL,
        '--mcp-config',
        JSON.stringify(mcpConfig),
        '--strict-mcp-config',
        '--permission-mode',
        'bypassPermissions',
      ],
      { cwd, env: stack.agentEnv, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stdin.end(PARENT_PROMPT);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const lines = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as StreamLine);
    const context = `exit ${code}\nstderr: ${stderr}\nstdout: ${stdout.slice(0, 4000)}`;
    assert.equal(code, 0, context);

    // ao-mcp connected and offered its tools.
    const init = lines.find((l) => l.type === 'system' && l.subtype === 'init');
    assert.deepEqual(init?.mcp_servers, [{ name: 'aof', status: 'connected' }], context);
    assert.ok((init!.tools as string[]).includes(TOOL), context);

    // The parent called the tool and got the child's answer as the tool result.
    const toolUse = lines
      .flatMap((l) => (l.type === 'assistant' ? l.message.content : []))
      .find((b: any) => b.type === 'tool_use');
    assert.equal(toolUse?.name, TOOL);
    const toolResult = lines
      .flatMap((l) => (l.type === 'user' ? l.message.content : []))
      .find((b: any) => b.type === 'tool_result');
    assert.equal(toolResult?.is_error ?? false, false, context);
    const seen = JSON.parse(typeof toolResult.content === 'string' ? toolResult.content : toolResult.content[0].text);
    assert.equal(seen.result, 'hi from child');
    assert.equal(seen.state, 'finished');
    assert.equal(seen.name, childName);

    const final = lines.find((l) => l.type === 'result');
    assert.equal(final?.is_error, false, context);
    assert.equal(final?.result, 'The child answered: hi from child');

    // The child ran as a real session of the runtime, in the MCP server's working directory (the parent's cwd).
    const session = await stack.client().sessions.get(childName);
    assert.equal(session.state, 'finished');
    assert.equal(session.runs[0]?.result, 'hi from child');
    assert.equal(session.project_dir, cwd);
  }
});
