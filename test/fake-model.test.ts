// Drives the real, pinned Claude Code CLI against the fake Messages API (test/support/fake-model.ts).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { claudeChildEnv, runClaude as runCli, TEST_MODEL, type CliRun } from './support/claude-env.js';
import { describeRequest, startFakeModel, type FakeModel } from './support/fake-model.js';

const echoMcpServer = fileURLToPath(new URL('./support/echo-mcp-server.mjs', import.meta.url));

describe('fake model + real Claude Code CLI', function () {
  this.timeout(30000);

  let fake: FakeModel;
  let cwd: string;
  let configDir: string;

  before(async () => {
    fake = await startFakeModel();
  });
  after(async () => {
    await fake.close();
  });
  beforeEach(async () => {
    fake.requests.length = 0;
    fake.respond((req) => ({ text: `ECHO: ${req.lastUserText}` }));
    cwd = await mkdtemp(path.join(tmpdir(), 'aof-fake-cwd-'));
    configDir = await mkdtemp(path.join(tmpdir(), 'aof-fake-cfg-'));
  });
  afterEach(async () => {
    await rm(cwd, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
  });

  function runClaude(
    prompt: string,
    extraArgs: string[] = [],
    sessionArgs = ['--session-id', randomUUID()],
  ): Promise<CliRun> {
    const args = [
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      TEST_MODEL,
      '--permission-mode',
      'bypassPermissions',
      ...sessionArgs,
      ...extraArgs,
    ];
    return runCli(args, { cwd, env: claudeChildEnv(fake.url, configDir), prompt });
  }

  // (a) and (e) share a run: a run of the CLI costs ~0.9 s of CPU.
  it('(a, e) returns the scripted text as a successful result; --append-system-prompt lands in the request system', async () => {
    fake.respond((req) => ({ text: `Hello! You said: ${req.lastUserText}` }));
    const marker = `APPENDED-${randomUUID()}`;
    const run = await runClaude('say hi', ['--append-system-prompt', marker]);

    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.lines[0]?.type, 'system');
    assert.equal(run.lines[0]?.subtype, 'init');
    assert.equal(run.lines.at(-1), run.result);
    assert.equal(run.result?.subtype, 'success');
    assert.equal(run.result?.is_error, false);
    assert.equal(run.result?.result, 'Hello! You said: say hi');
    assert.ok((run.result?.total_cost_usd as number) > 0, 'the fake usage yields a cost');
    assert.equal(fake.requests.length, 1);
    const req = describeRequest(fake.requests[0]!, 0);
    assert.equal(req.lastUserText, 'say hi');
    assert.ok(req.system.includes(marker));
    assert.ok(Array.isArray(fake.requests[0]!.system), 'system is an array of text blocks');
  });

  it('(b) runs the Write tool, then answers after seeing the tool_result', async () => {
    const target = path.join(cwd, 'hello.txt');
    fake.respond((req) =>
      req.toolResults.length === 0
        ? {
            text: 'Writing the file.',
            toolUse: { name: 'Write', input: { file_path: target, content: 'written by the fake\n' } },
          }
        : { text: `Done (${req.toolResults[0]!.is_error ? 'error' : 'ok'}): ${req.toolResults[0]!.text}` },
    );
    const run = await runClaude('write hello.txt');

    assert.equal(run.code, 0, run.stderr);
    const write = fake.requests[0]!.tools?.find((t) => t.name === 'Write');
    assert.deepEqual((write!.input_schema as { required: string[] }).required, ['file_path', 'content']);
    assert.equal(await readFile(target, 'utf8'), 'written by the fake\n');

    assert.equal(fake.requests.length, 2);
    const second = describeRequest(fake.requests[1]!, 1);
    assert.equal(second.toolResults.length, 1);
    assert.equal(second.toolResults[0]!.tool_use_id, 'toolu_fake_1');
    assert.equal(second.toolResults[0]!.is_error, false);
    assert.equal(second.lastMessage?.role, 'user');

    const toolUse = run.lines.find((l) => l.type === 'assistant' && JSON.stringify(l).includes('"tool_use"'));
    assert.ok(toolUse, 'an assistant line with the tool_use block');
    assert.ok(run.lines.some((l) => l.type === 'user' && JSON.stringify(l).includes('toolu_fake_1')));
    assert.equal(run.result?.is_error, false);
    assert.equal(run.result?.num_turns, 2);
    assert.match(run.result?.result as string, /^Done \(ok\): /);
  });

  it('(c) an API error makes the CLI fail with is_error', async () => {
    fake.respond(() => ({ error: { status: 500, message: 'fake overload' } }));
    const run = await runClaude('fail please');

    assert.equal(run.code, 1);
    assert.equal(fake.requests.length, 1, 'no retries with CLAUDE_CODE_MAX_RETRIES=0');
    assert.equal(run.result?.is_error, true);
    assert.equal(run.result?.subtype, 'success');
    assert.equal(run.result?.api_error_status, 500);
    assert.match(run.result?.result as string, /fake overload/);
  });

  it('(d) --resume sends the earlier conversation', async () => {
    const sessionId = randomUUID();
    const first = await runClaude('first prompt', [], ['--session-id', sessionId]);
    assert.equal(first.code, 0, first.stderr);

    const second = await runClaude('second prompt', [], ['--resume', sessionId]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.result?.session_id, sessionId);
    assert.equal(second.result?.result, 'ECHO: second prompt');

    const body = JSON.stringify(fake.requests.at(-1)!.messages);
    assert.ok(body.includes('first prompt'), 'earlier prompt resent');
    assert.ok(body.includes('ECHO: first prompt'), 'earlier answer resent');
    assert.equal(describeRequest(fake.requests.at(-1)!, 1).lastUserText, 'second prompt');
  });

  it('(f) a stdio MCP server tool is offered and called as mcp__echo__echo', async () => {
    const mcpConfig = JSON.stringify({ mcpServers: { echo: { command: process.execPath, args: [echoMcpServer] } } });
    fake.respond((req) =>
      req.toolResults.length === 0
        ? { toolUse: { name: 'mcp__echo__echo', input: { text: 'ping-42' } } }
        : { text: `MCP said: ${req.toolResults[0]!.text}` },
    );
    const run = await runClaude('use the echo tool', ['--mcp-config', mcpConfig, '--strict-mcp-config']);

    assert.equal(run.code, 0, run.stderr);
    const init = run.lines[0]!;
    assert.deepEqual(init.mcp_servers, [{ name: 'echo', status: 'connected' }]);
    assert.ok((init.tools as string[]).includes('mcp__echo__echo'));
    assert.ok(describeRequest(fake.requests[0]!, 0).toolNames.includes('mcp__echo__echo'));
    assert.equal(run.result?.result, 'MCP said: ping-42');
  });

  it('close() does not hang on a delayed reply', async () => {
    const slow = await startFakeModel({ responder: () => ({ text: 'late', delayMs: 60_000 }) });
    const started = Date.now();
    const pending = fetch(`${slow.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ model: TEST_MODEL, messages: [{ role: 'user', content: 'x' }] }),
    }).catch((err: Error) => err);
    while (slow.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    await slow.close();
    assert.ok((await pending) instanceof Error, 'the pending client request is cut');
    assert.ok(Date.now() - started < 5000);
  });
});
