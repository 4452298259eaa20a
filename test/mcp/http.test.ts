// ao-mcp over Streamable HTTP: the MCP SDK's real client against startMcpHttp (in process) and
// against `ao-mcp --http` (the bin), behind the same Host/Origin/token guard as the servers.
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Orchestrator } from '../../sdk/index.js';
import { isLoopback, mcpUrl, startMcpHttp, type RunningMcpHttp } from '../../servers/mcp/http.js';
import { eventually } from '../support/processes.js';
import { deadUrl, rawRequest, testLogger } from '../support/servers.js';
import { TestStack } from '../support/stack.js';
import { call, httpClient, startHttpBin } from './support/mcp-client.js';
import { scriptedModel, toolSuite, type SuiteContext } from './support/tool-suite.js';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('mcp: Streamable HTTP transport', function () {
  this.timeout(60_000);
  const ctx = {} as SuiteContext;
  let mcp: RunningMcpHttp;

  before(async () => {
    ctx.stack = await TestStack.start({ agent: 'fake' });
    ctx.stack.fake.respond(scriptedModel);
    mcp = await startMcpHttp({
      url: new URL('http://127.0.0.1:0/mcp'),
      orchestrator: ctx.stack.client(),
      defaultProjectDir: ctx.stack.projectDir,
      progressIntervalMs: 500,
      logger: testLogger('mcp'),
    });
    ctx.client = await httpClient(mcp.endpoint);
  });
  after(async () => {
    await ctx.client?.close();
    await mcp?.close();
    await ctx.stack?.close();
  });

  toolSuite(ctx);

  it('sends progress notifications while a sync start waits', async () => {
    const progress: string[] = [];
    const answer = await call(
      ctx.client,
      'start_agent_session',
      { name: 'progress', prompt: 'slow with progress' },
      {
        onprogress: (p) => progress.push(p.message ?? ''),
      },
    );
    assert.equal(answer.text, 'done: slow with progress');
    assert.ok(progress.length >= 2, `progress: ${JSON.stringify(progress)}`);
    assert.match(progress[0]!, /^Session 'progress' is (queued|running) \(waited \d+ s of 300 s\)$/);
  });

  it('a client that goes away mid-wait leaves the session running to its end', async () => {
    const client = await httpClient(mcp.endpoint);
    const pending = call(client, 'start_agent_session', { name: 'abandoned', prompt: 'slow, abandoned' }).catch(
      (error: Error) => error,
    );
    // Mid-wait: the run has reached the model, which answers 2.5 s later.
    await eventually('the run to reach the model', () =>
      ctx.stack.fake.requests.some((body) => JSON.stringify(body.messages).includes('slow, abandoned')),
    );
    await client.close();
    await pending;
    const result = await ctx.stack.client().sessions.waitForResult('abandoned', { timeoutMs: 20_000 });
    assert.equal(result.result, 'done: slow, abandoned');
  });

  it('cuts a long list in the text and in the structured content alike, with a note', async () => {
    const small = await startMcpHttp({
      url: new URL('http://127.0.0.1:0/mcp'),
      orchestrator: ctx.stack.client(),
      maxChars: 250,
      logger: testLogger('mcp'),
    });
    const client = await httpClient(small.endpoint);
    try {
      const list = await call(client, 'list_agent_sessions');
      assert.equal(list.structured.total, 2);
      assert.deepEqual(
        list.structured.sessions.map((s: { name: string }) => s.name),
        ['abandoned'],
      );
      assert.equal(list.structured.note, '1 more session of this page not shown — ask for a smaller limit (1)');
      assert.equal(list.structured.next_cursor, null, 'no cursor that would skip what was cut');
      assert.match(
        list.text,
        /^2 sessions:\n- abandoned: .*\n… 1 more session of this page not shown — ask for a smaller limit \(1\)$/,
      );
    } finally {
      await client.close();
      await small.close();
    }
  });

  it('answers GET and DELETE on the endpoint with 405 (stateless), other paths with 404, /health with 200', async () => {
    const get = await rawRequest(mcp.url, { path: '/mcp', headers: { accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await rawRequest(mcp.url, { method: 'DELETE', path: '/mcp' })).status, 405);
    const other = await rawRequest(mcp.url, { method: 'POST', path: '/other', headers: MCP_HEADERS, body: INITIALIZE });
    assert.equal(other.status, 404);
    assert.match(other.json.detail, /the MCP endpoint is \/mcp/);
    const health = await rawRequest(mcp.url, { path: '/health' });
    assert.deepEqual(health.json, { status: 'ok', service: 'aof-mcp', version: '0.1.0', endpoint: '/mcp' });
  });

  it('refuses a foreign Host header (DNS rebinding) and a foreign Origin with 403', async () => {
    const port = new URL(mcp.url).port;
    const host = await rawRequest(mcp.url, {
      method: 'POST',
      path: '/mcp',
      headers: { ...MCP_HEADERS, host: `evil.example:${port}` },
      body: INITIALIZE,
    });
    assert.equal(host.status, 403);
    assert.equal(host.json.errors[0].field, 'header.host');
    const origin = await rawRequest(mcp.url, {
      method: 'POST',
      path: '/mcp',
      headers: { ...MCP_HEADERS, origin: 'http://evil.example' },
      body: INITIALIZE,
    });
    assert.equal(origin.status, 403);
    assert.equal(origin.json.errors[0].field, 'header.origin');
    for (const ok of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      const response = await rawRequest(mcp.url, {
        method: 'POST',
        path: '/mcp',
        headers: { ...MCP_HEADERS, host: ok, origin: `http://${ok}` },
        body: INITIALIZE,
      });
      assert.equal(response.status, 200, ok);
    }
  });

  it('the MCP client reports a refused connection as an error', async () => {
    const port = new URL(mcp.url).port;
    await assert.rejects(httpClient(mcp.endpoint, { origin: 'http://evil.example' }), /403/);
    await assert.rejects(httpClient(`http://127.0.0.1:${port}/elsewhere`), /404/);
  });
});

describe('mcp: Streamable HTTP with a token (ao-mcp --http)', function () {
  this.timeout(60_000);
  const token = 'mcp-test-token-0123';
  let stack: TestStack;
  let server: Awaited<ReturnType<typeof startHttpBin>>;

  before(async () => {
    stack = await TestStack.start({ agent: 'fake', token });
    stack.fake.respond(scriptedModel);
    server = await startHttpBin({ ...stack.clientEnv, AGENT_ORCHESTRATOR_MCP_URL: 'http://127.0.0.1:8766/mcp' }, [
      '--port',
      '0',
      '--project-dir',
      stack.projectDir,
    ]);
  });
  after(async () => {
    await server?.stop();
    await stack?.close();
  });

  it('listens on 127.0.0.1 at /mcp, on the port given', () => {
    assert.match(server.endpoint, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.notEqual(new URL(server.endpoint).port, '8766');
  });

  it('needs the bearer token: none or a wrong one is 401, and the token never comes back', async () => {
    const none = await rawRequest(server.endpoint, {
      method: 'POST',
      path: '/mcp',
      headers: MCP_HEADERS,
      body: INITIALIZE,
    });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    const wrong = await rawRequest(server.endpoint, {
      method: 'POST',
      path: '/mcp',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}x` },
      body: INITIALIZE,
    });
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(wrong.text, new RegExp(token));
    await assert.rejects(httpClient(server.endpoint), /401/);
  });

  it('with the token, runs a session end to end (and passes the token on to the runtime)', async () => {
    const client = await httpClient(server.endpoint, { authorization: `Bearer ${token}` });
    try {
      const answer = await call(client, 'start_agent_session', { name: 'tokened', prompt: 'with a token' });
      assert.equal(answer.isError, false, answer.text);
      assert.equal(answer.text, 'ECHO: with a token');
      const session = await stack.client().sessions.get('tokened');
      assert.equal(session.project_dir, stack.projectDir);
    } finally {
      await client.close();
    }
  });

  it('a wrong runtime token is a tool error that says which variable to set', async () => {
    const mcp = await startMcpHttp({
      url: new URL('http://127.0.0.1:0/mcp'),
      orchestrator: new Orchestrator({
        runtimeUrl: stack.runtimeUrl,
        registryUrl: stack.registry.url,
        token: 'not-it',
      }),
      logger: testLogger('mcp'),
    });
    const client = await httpClient(mcp.endpoint);
    try {
      const answer = await call(client, 'list_agent_sessions');
      assert.equal(answer.isError, true);
      assert.match(
        answer.text,
        /^Agent Runtime refused the request: .* — set AGENT_ORCHESTRATOR_API_TOKEN in this MCP server's environment/,
      );
    } finally {
      await client.close();
      await mcp.close();
    }
  });
});

describe('mcp: Streamable HTTP with an unreachable runtime', () => {
  let mcp: RunningMcpHttp;
  let client: Client;

  before(async () => {
    mcp = await startMcpHttp({
      url: new URL('http://localhost:0'),
      orchestrator: new Orchestrator({ runtimeUrl: await deadUrl(), registryUrl: await deadUrl(), token: null }),
      logger: testLogger('mcp'),
    });
    client = await httpClient(mcp.endpoint);
  });
  after(async () => {
    await client?.close();
    await mcp?.close();
  });

  it('serves /mcp by default when the URL has no path', () => {
    assert.match(mcp.endpoint, /^http:\/\/localhost:\d+\/mcp$/);
  });

  it('answers with tool errors and keeps serving', async () => {
    for (let i = 0; i < 2; i++) {
      const answer = await call(client, 'start_agent_session', { name: 'x', prompt: 'y' });
      assert.equal(answer.isError, true);
      assert.match(
        answer.text,
        /^Cannot connect to Agent Runtime at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) — start it with `npm start`/,
      );
    }
    const agents = await call(client, 'list_agent_blueprints');
    assert.match(agents.text, /^Cannot connect to Agent Registry/);
  });
});

describe('mcp: HTTP configuration', () => {
  it('reads AGENT_ORCHESTRATOR_MCP_URL (default http://127.0.0.1:8766/mcp); --port replaces the port', () => {
    assert.equal(mcpUrl({}).href, 'http://127.0.0.1:8766/mcp');
    assert.equal(
      mcpUrl({ AGENT_ORCHESTRATOR_MCP_URL: 'http://localhost:9000/tools' }).href,
      'http://localhost:9000/tools',
    );
    assert.equal(mcpUrl({}, 0).port, '0');
    assert.throws(() => mcpUrl({ AGENT_ORCHESTRATOR_MCP_URL: 'nope' }), /AGENT_ORCHESTRATOR_MCP_URL is not a URL/);
    assert.throws(() => mcpUrl({ AGENT_ORCHESTRATOR_MCP_URL: 'https://127.0.0.1:1/mcp' }), /must be an http:\/\/ URL/);
  });

  it('listens on loopback only', async () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '192.168.1.2', 'example.com', '[::]']) assert.ok(!isLoopback(host), host);
    await assert.rejects(
      startMcpHttp({
        url: new URL('http://0.0.0.0:0/mcp'),
        orchestrator: new Orchestrator(),
        logger: testLogger('mcp'),
      }),
      /listens on loopback only .* not '0\.0\.0\.0' — fix AGENT_ORCHESTRATOR_MCP_URL/,
    );
  });

  it('ao-mcp refuses a non-loopback URL and bad flags with a message and exit code 1', async () => {
    const { execFile } = await import('node:child_process');
    const { aoMcpBin } = await import('./support/mcp-client.js');
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [aoMcpBin, ...args],
          { env: { ...process.env, ...env }, timeout: 10_000 },
          (error, _stdout, stderr) => {
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr });
          },
        );
      });
    const nonLoopback = await run(['--http'], { AGENT_ORCHESTRATOR_MCP_URL: 'http://0.0.0.0:0/mcp' });
    assert.equal(nonLoopback.code, 1);
    assert.match(nonLoopback.stderr, /^ao-mcp: The MCP server listens on loopback only/m);
    const badPort = await run(['--http', '--port', 'x']);
    assert.equal(badPort.code, 1);
    assert.match(badPort.stderr, /--port must be a port number \(0 to 65535\), not 'x'/);
    const portWithoutHttp = await run(['--port', '1']);
    assert.match(portWithoutHttp.stderr, /--port applies to --http only/);
    const unknown = await run(['--bogus']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Unknown option --bogus/);
  });
});
