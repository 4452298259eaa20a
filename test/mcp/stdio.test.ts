// ao-mcp over stdio: the built bin, launched by the MCP SDK's client the way Claude Code or Claude
// Desktop would launch it, configured only by the environment.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { TestStack } from '../support/stack.js';
import { aoMcpBin, stdioClient } from './support/mcp-client.js';
import { scriptedModel, toolSuite, type SuiteContext } from './support/tool-suite.js';

describe('mcp: stdio transport (ao-mcp)', function () {
  this.timeout(60_000);
  const ctx = {} as SuiteContext;
  let stderr: () => string;

  before(async () => {
    ctx.stack = await TestStack.start({ agent: 'fake' });
    ctx.stack.fake.respond(scriptedModel);
    ({ client: ctx.client, stderr } = await stdioClient(ctx.stack.clientEnv, { cwd: ctx.stack.projectDir }));
  });
  after(async () => {
    await ctx.client?.close();
    await ctx.stack?.close();
  });

  it('identifies itself as aof and gives instructions', () => {
    assert.equal(ctx.client.getServerVersion()?.name, 'aof');
    assert.match(ctx.client.getInstructions() ?? '', /start_agent_session/);
  });

  toolSuite(ctx);

  it('logged to stderr only (stdout carried nothing but the protocol)', () => {
    // Any stray stdout line would have broken the client's JSON-RPC parsing above.
    assert.match(stderr(), /aof MCP server ready on stdio/);
  });

  it('exits by itself when the client closes stdin, after answering what it was asked', async () => {
    const server = spawn(process.execPath, [aoMcpBin], { env: ctx.stack.clientEnv, stdio: ['pipe', 'pipe', 'ignore'] });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      server.once('exit', (code, signal) => resolve([code, signal])),
    );
    let out = '';
    server.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'aof-test', version: '0' } },
    };
    // Its answer is still written after stdin ends; then it exits on its own (no signal sent to it).
    server.stdin.end(`${JSON.stringify(initialize)}\n`);
    assert.deepEqual(await exited, [0, null]);
    assert.equal(JSON.parse(out.trim().split('\n')[0]!).result.serverInfo.name, 'aof');
  });
});
