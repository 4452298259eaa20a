// ao-mcp over stdio: the built bin, launched by the MCP SDK's client the way Claude Code or Claude
// Desktop would launch it, configured only by the environment.
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { TestStack } from '../support/stack.js';
import { call, stdioClient } from './support/mcp-client.js';
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

  it('exits when the client closes stdin', async () => {
    const { client } = await stdioClient(ctx.stack.clientEnv);
    const answer = await call(client, 'list_agent_sessions');
    assert.equal(answer.isError, false);
    const t0 = Date.now();
    await client.close();
    assert.ok(Date.now() - t0 < 1_500, `closed in ${Date.now() - t0} ms (no SIGTERM needed)`);
  });
});

describe('mcp: stdio transport with an unreachable runtime and registry', function () {
  this.timeout(30_000);
  let client: Client;

  before(async () => {
    const { deadUrl } = await import('../support/servers.js');
    const [runtime, registry] = [await deadUrl(), await deadUrl()];
    ({ client } = await stdioClient({
      ...(process.env as Record<string, string>),
      AGENT_ORCHESTRATOR_SESSION_API_URL: runtime,
      AGENT_ORCHESTRATOR_AGENT_API_URL: registry,
    }));
  });
  after(async () => client?.close());

  it('answers every tool with a tool error that says how to start the servers', async () => {
    const calls: Array<[string, Record<string, unknown>]> = [
      ['list_agent_sessions', {}],
      ['start_agent_session', { name: 'x', prompt: 'y' }],
      ['start_agent_session', { name: 'x', prompt: 'y', async: true }],
      ['resume_agent_session', { name: 'x', prompt: 'y' }],
      ['get_agent_session_status', { name: 'x', wait_seconds: 5 }],
      ['get_agent_session_result', { name: 'x' }],
      ['stop_agent_session', { name: 'x' }],
      ['delete_all_agent_sessions', {}],
    ];
    for (const [name, args] of calls) {
      const answer = await call(client, name, args);
      assert.equal(answer.isError, true, name);
      assert.match(
        answer.text,
        /^Cannot connect to Agent Runtime at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) — start it with `npm start` in the aof repository \(or `aof up`\), or set AGENT_ORCHESTRATOR_SESSION_API_URL in this MCP server's environment to where it runs$/,
        name,
      );
    }
    const agents = await call(client, 'list_agent_blueprints');
    assert.equal(agents.isError, true);
    assert.match(agents.text, /^Cannot connect to Agent Registry at .* set AGENT_ORCHESTRATOR_AGENT_API_URL/);
  });

  it('reports a malformed URL variable as a tool error, not a dead server', async () => {
    const { client: bad } = await stdioClient({
      ...(process.env as Record<string, string>),
      AGENT_ORCHESTRATOR_SESSION_API_URL: 'not a url',
    });
    try {
      const answer = await call(bad, 'list_agent_sessions');
      assert.equal(answer.isError, true);
      assert.match(answer.text, /AGENT_ORCHESTRATOR_SESSION_API_URL\) is not a URL: 'not a url'/);
    } finally {
      await bad.close();
    }
  });
});
