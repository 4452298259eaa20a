#!/usr/bin/env node
// A small stand-in for the Claude Code CLI, for the tests whose point is the runtime (queues, leases,
// callbacks, limits, webhooks, runners, replicas, crash recovery, approvals) rather than the CLI. A run
// of it costs ~0.2 s of CPU where a run of the real CLI costs ~0.8 s (test/README.md says which tests
// use which).
//
// It does what the executor relies on, the way the pinned CLI does it (see
// /work/shared/notes/claude-code-headless.md and servers/executor/stream-parser.ts):
// - `-p --output-format stream-json --verbose`, the prompt on stdin; `--session-id ID`, `--resume ID`
//   (`--fork-session` with `--session-id`), `--model`, `--permission-mode`, `--append-system-prompt`;
// - asks the model at ANTHROPIC_BASE_URL (the tests' fake model, test/support/fake-model.ts, so a test
//   scripts the agent with the same responders), one POST /v1/messages (SSE) per turn;
// - runs the tools the model calls: Bash (`sh -c` in the cwd), Write, Read; any other tool is an error
//   result, as the CLI answers an unknown tool (tests of the model's MCP tools use the real CLI);
// - settles each call's permission as the CLI does: `--disallowedTools` rules deny it unasked, the
//   permission mode (bypassPermissions; acceptEdits for a Write in the cwd), `--allowedTools` rules and
//   a Read in the cwd allow it unasked; in approval mode (`--permission-prompt-tool mcp__SERVER__TOOL`
//   with that server in `--mcp-config`) anything else is asked of that MCP server (stdio, JSON-RPC 2.0:
//   initialize, notifications/initialized, tools/list, tools/call with `tool_name`, `input`,
//   `tool_use_id`), started at the first question; `{"behavior":"allow","updatedInput"}` runs the tool
//   with that input, `{"behavior":"deny","message"}` gives the model the message as an error result
//   and lists the call in the result's `permission_denials` (test/support/fake-agent-permissions.mjs).
//   Without a prompt tool a call the rules leave open runs (the CLI would deny it; the runtime's
//   default mode is bypassPermissions);
// - writes stream-json on stdout: the init line, one assistant line per content block (with the usage
//   of message_start), a user line per tool result, the result line (usage totals, turns, cost);
// - keeps the conversation in `<CLAUDE_CONFIG_DIR>/projects/<cwd folder>/<id>.jsonl`, written before the
//   init line, so that `--resume` finds it; a resume without it ends as the CLI does ("No conversation
//   found", exit 1);
// - an API error ends with `is_error:true` and exit code 1; as root, bypassPermissions without
//   IS_SANDBOX=1 is refused (exit 1), as the CLI refuses it.
// - FAKE_AGENT_TURN_MS=N: it waits N ms after a turn's tool results before asking the model again, as
//   the CLI takes its time between turns (tests of limits that stop a run "within one model turn").
// - warm, as the runtime's warm pool starts it (servers/executor/warm-process.ts,
//   /work/shared/notes/warm-start.md): `--input-format stream-json` reads stdin one JSON line at a time.
//   A `control_request` `initialize` is answered with a `control_response` (`success`, its request_id,
//   commands and models); `set_model` and `set_permission_mode` change the next turn's; any other is
//   answered with an error. Nothing is written, and no model asked, until a `user` line: each one is a
//   turn with its own init line and result line, in the conversation chosen at the start (`--session-id`,
//   `--resume`, `--fork-session` with `--session-id`), whose file is written at the first turn. A resume
//   of a conversation that is not there ends at the start, before initialize is answered ("No
//   conversation found", exit 1). The end of stdin ends the process once the current turn is done:
//   exit 0 when idle or after a good turn, 1 after a failed one.
// - CLAUDE_ENV_FILE: a script its Bash tool's commands source first (the runtime writes a warm
//   process's session variables there when a run takes it), as the CLI's do.
// - ANTHROPIC_BASE_URL must be on loopback, or, inside a test host's network namespace
//   (test/support/hosts.ts: its only routes lead to the root namespace's own addresses), a host end in
//   10.231.0.0/16.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { homedir, networkInterfaces } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { permissions } from './fake-agent-permissions.mjs';

const VERSION = '2.1.197 (fake agent)';
const started = Date.now();

function parseArgs(argv) {
  const options = { print: false };
  const valued = new Set([
    '--output-format',
    '--input-format',
    '--session-id',
    '--resume',
    '--permission-mode',
    '--append-system-prompt',
    '--system-prompt',
    '--mcp-config',
    '--permission-prompt-tool',
    '--model',
    '--allowedTools',
    '--disallowedTools',
  ]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-p' || arg === '--print') options.print = true;
    else if (arg === '--version' || arg === '-v') options.version = true;
    else if (arg === '--verbose') options.verbose = true;
    else if (arg === '--fork-session') options.forkSession = true;
    else if (valued.has(arg)) options[arg.slice(2)] = argv[++i];
    else if (!arg.startsWith('-')) options.prompt = arg;
    else {
      process.stderr.write(`error: unknown option '${arg}'\n`);
      process.exit(1);
    }
  }
  return options;
}

const out = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

function projectFolderName(realCwd) {
  const name = realCwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (name.length <= 200) return name;
  let hash = 0;
  for (let i = 0; i < realCwd.length; i++) hash = ((hash << 5) - hash + realCwd.charCodeAt(i)) | 0;
  return `${name.slice(0, 200)}-${Math.abs(hash).toString(36)}`;
}

function conversationFile(id) {
  const configDir = resolve(
    process.cwd(),
    process.env.CLAUDE_CONFIG_DIR ?? join(process.env.HOME || homedir(), '.claude'),
  );
  let real;
  try {
    real = realpathSync(process.cwd());
  } catch {
    real = process.cwd();
  }
  return join(configDir.normalize('NFC'), 'projects', projectFolderName(real), `${id}.jsonl`);
}

/** The messages of a saved conversation (its user and assistant lines). */
function loadConversation(path) {
  const messages = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line);
      if ((entry.type === 'user' || entry.type === 'assistant') && entry.message) messages.push(entry.message);
    } catch {
      // a line cut short by a kill
    }
  }
  return messages;
}

function finish(result, code) {
  out(result);
  return code;
}

/** The text of a stream-json `user` line's message: its content as a string, or its text blocks. */
function userText(message) {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .filter((block) => block?.type === 'text')
      .map((block) => String(block.text ?? ''))
      .join('\n');
  return '';
}

const ZERO_USAGE = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

/** The test hosts' subnet (test/support/hosts.ts). */
const TEST_HOSTS = /^10\.231\.\d{1,3}\.\d{1,3}$/;

/** Whether this process runs inside a test host's namespace: it has an address of the test hosts' subnet. */
function inTestHost() {
  return Object.values(networkInterfaces()).some((addresses) =>
    (addresses ?? []).some((a) => a.family === 'IPv4' && !a.internal && TEST_HOSTS.test(a.address)),
  );
}

/** One model turn: POST /v1/messages, read the SSE answer. */
async function ask(body) {
  // A stand-in for tests only: it talks to the fake model on loopback and to nothing else.
  const base = process.env.ANTHROPIC_BASE_URL ?? '';
  const host = URL.canParse(base) ? new URL(base).hostname : '';
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host) && !(inTestHost() && TEST_HOSTS.test(host)))
    throw new Error(`ANTHROPIC_BASE_URL must name the fake model on loopback, not '${base}'`);
  // node:http rather than fetch: fetch loads undici (~40 ms of CPU in every agent process).
  const { status, text } = await new Promise((resolvePost, rejectPost) => {
    const payload = JSON.stringify(body);
    const request = httpRequest(
      `${base.replace(/\/$/, '')}/v1/messages?beta=true`,
      {
        method: 'POST',
        // A connection per turn: a kept-alive one can be closed by the server while a tool call blocks
        // this process (spawnSync), and the next turn would be sent on it ("socket hang up").
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'x-api-key': process.env.ANTHROPIC_API_KEY ?? '',
          'anthropic-version': '2023-06-01',
        },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () =>
          resolvePost({ status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', rejectPost);
      },
    );
    request.on('error', rejectPost);
    request.end(payload);
  });
  if (status !== 200) return { error: { status, body: text } };
  const message = { id: '', content: [], usage: {}, stop_reason: null };
  const blocks = new Map();
  for (const chunk of text.split('\n\n')) {
    const dataLine = chunk.split('\n').find((l) => l.startsWith('data: '));
    if (!dataLine) continue;
    const event = JSON.parse(dataLine.slice(6));
    if (event.type === 'message_start') {
      message.id = event.message.id;
      message.model = event.message.model;
      message.usage = { ...event.message.usage };
    } else if (event.type === 'content_block_start') {
      blocks.set(event.index, { ...event.content_block, partial: '' });
    } else if (event.type === 'content_block_delta') {
      const block = blocks.get(event.index);
      if (event.delta.type === 'text_delta') block.text += event.delta.text;
      else if (event.delta.type === 'input_json_delta') block.partial += event.delta.partial_json;
    } else if (event.type === 'content_block_stop') {
      const { partial, ...block } = blocks.get(event.index);
      if (block.type === 'tool_use') block.input = partial ? JSON.parse(partial) : {};
      message.content.push(block);
    } else if (event.type === 'message_delta') {
      message.stop_reason = event.delta.stop_reason;
      message.finalUsage = { ...message.usage, ...event.usage };
    }
  }
  return { message };
}

const shellQuote = (value) => `'${value.replace(/'/g, `'\\''`)}'`;

/** Runs one tool call in the cwd; the text of its result and whether it failed. */
function runTool(name, input) {
  try {
    if (name === 'Bash') {
      // As the CLI's Bash tool: the CLAUDE_ENV_FILE script first, then the command.
      const envFile = process.env.CLAUDE_ENV_FILE;
      const prelude = envFile ? `[ -r ${shellQuote(envFile)} ] && . ${shellQuote(envFile)}\n` : '';
      const run = spawnSync('/bin/sh', ['-c', `${prelude}${String(input.command ?? '')}`], {
        cwd: process.cwd(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
      });
      const text = `${run.stdout ?? ''}${run.stderr ?? ''}`.replace(/\n$/, '');
      if (run.status !== 0) return { text: `Error: Exit code ${run.status}\n${text}`, isError: true };
      return { text, isError: false };
    }
    if (name === 'Write') {
      const path = isAbsolute(input.file_path) ? input.file_path : resolve(process.cwd(), input.file_path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, String(input.content ?? ''));
      return { text: `File created successfully at: ${path}`, isError: false };
    }
    if (name === 'Read') {
      const path = isAbsolute(input.file_path) ? input.file_path : resolve(process.cwd(), input.file_path);
      return { text: readFileSync(path, 'utf8'), isError: false };
    }
    return { text: `<tool_use_error>Error: No such tool available: ${name}</tool_use_error>`, isError: true };
  } catch (error) {
    return { text: `<tool_use_error>${error.message}</tool_use_error>`, isError: true };
  }
}

async function main(options) {
  if (options.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const warm = options['input-format'] === 'stream-json';
  const prompt = warm ? '' : (options.prompt ?? readFileSync(0, 'utf8'));
  const permissionMode = options['permission-mode'] ?? 'default';
  if (permissionMode === 'bypassPermissions' && process.getuid?.() === 0 && process.env.IS_SANDBOX !== '1') {
    process.stderr.write(
      '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n',
    );
    process.exitCode = 1;
    return;
  }
  let history = [];
  let sessionId = options['session-id'] ?? randomUUID();
  if (options.resume) {
    const source = conversationFile(options.resume);
    if (!existsSync(source)) {
      // At the start: a warm process never answers initialize.
      if (warm) process.stderr.write(`No conversation found with session ID: ${options.resume}\n`);
      process.exitCode = finish(
        {
          type: 'result',
          subtype: 'error_during_execution',
          duration_ms: Date.now() - started,
          duration_api_ms: 0,
          is_error: true,
          num_turns: 0,
          session_id: sessionId,
          total_cost_usd: 0,
          usage: { ...ZERO_USAGE },
          permission_denials: [],
          errors: [`No conversation found with session ID: ${options.resume}`],
        },
        1,
      );
      return;
    }
    history = loadConversation(source);
    if (!options.forkSession) sessionId = options.resume;
    else if (!options['session-id']) sessionId = randomUUID();
  }
  const conversation = new Conversation(sessionId, history, Boolean(options.resume && options.forkSession));
  const session = { model: options.model ?? 'claude-sonnet-4-5', permissionMode, cost: 0 };
  if (!warm) {
    process.exitCode = await turn(options, session, conversation, prompt);
    return;
  }
  // Warm: one JSON line at a time, each handled before the next is read; the end of stdin ends it.
  let code = 0;
  for await (const raw of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (!raw.trim()) continue;
    let line;
    try {
      line = JSON.parse(raw);
    } catch {
      process.stderr.write(`Error parsing streaming input line: ${raw}\n`);
      process.exitCode = 1;
      return;
    }
    if (line?.type === 'control_request') control(line, options, session);
    else if (line?.type === 'user') code = await turn(options, session, conversation, userText(line.message));
  }
  process.exitCode = code;
}

/** Answers a control request as the CLI does: initialize, set_model and set_permission_mode; any other is an error. */
function control(line, options, session) {
  const request = line.request ?? {};
  const requestId = line.request_id;
  const success = (response) =>
    out({ type: 'control_response', response: { subtype: 'success', request_id: requestId, response } });
  if (request.subtype === 'initialize') {
    success({
      commands: [],
      output_style: 'default',
      available_output_styles: ['default'],
      models: [{ value: 'default', displayName: 'Default', description: session.model }],
      account: { apiKeySource: 'ANTHROPIC_API_KEY' },
    });
  } else if (request.subtype === 'set_model') {
    session.model = request.model ?? session.model;
    success({});
  } else if (request.subtype === 'set_permission_mode') {
    session.permissionMode = request.mode;
    options['permission-mode'] = request.mode;
    permission.close();
    permission = permissions(options, VERSION);
    success({});
  } else {
    out({
      type: 'control_response',
      response: {
        subtype: 'error',
        request_id: requestId,
        error: `Unsupported control request subtype: ${request.subtype}`,
      },
    });
  }
}

/** The conversation's file, written from the first turn on (a fork's copy of its source first). */
class Conversation {
  constructor(sessionId, history, fork) {
    this.sessionId = sessionId;
    this.messages = [...history];
    this.fork = fork;
    this.file = undefined;
  }

  save(message) {
    this.messages.push(message);
    if (!this.file) {
      this.file = conversationFile(this.sessionId);
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      if (this.fork)
        for (const earlier of this.messages.slice(0, -1))
          appendFileSync(
            this.file,
            `${JSON.stringify({ type: earlier.role, message: earlier, cwd: process.cwd(), sessionId: this.sessionId })}\n`,
          );
    }
    appendFileSync(
      this.file,
      `${JSON.stringify({ type: message.role, message, cwd: process.cwd(), sessionId: this.sessionId, uuid: randomUUID() })}\n`,
    );
  }
}

/** One user message to its result: the init line, the model's turns and their tool calls, the result line. Answers the exit code it means. */
async function turn(options, session, conversation, prompt) {
  const turnStarted = Date.now();
  const { model, permissionMode } = session;
  const { sessionId } = conversation;
  const denials = [];
  conversation.save({ role: 'user', content: [{ type: 'text', text: prompt }] });
  const messages = conversation.messages;

  const tools = ['Bash', 'Read', 'Write'];
  out({
    type: 'system',
    subtype: 'init',
    cwd: process.cwd(),
    session_id: sessionId,
    tools,
    mcp_servers: [],
    model,
    permissionMode,
    slash_commands: [],
    apiKeySource: 'ANTHROPIC_API_KEY',
    claude_code_version: VERSION,
    output_style: 'default',
    agents: [],
    skills: [],
    plugins: [],
    uuid: randomUUID(),
  });

  // As the CLI's own system prompt says where it works (tests' responders read it).
  const system = [
    { type: 'text', text: `You are a fake agent for tests.\nPrimary working directory: ${process.cwd()}` },
  ];
  const appended = options['append-system-prompt'];
  if (appended) system.push({ type: 'text', text: appended });
  const total = { ...ZERO_USAGE };
  let turns = 0;
  let lastText = '';
  const pace = Number(process.env.FAKE_AGENT_TURN_MS ?? 0);
  for (;;) {
    if (turns > 0 && pace > 0) await sleep(pace);
    const answer = await ask({
      model,
      messages,
      system,
      tools: tools.map((name) => ({ name, description: name, input_schema: { type: 'object' } })),
      max_tokens: 32000,
      stream: true,
    });
    if (answer.error) {
      const text = `API Error: ${answer.error.status} ${answer.error.body}`;
      out({
        type: 'assistant',
        message: { id: randomUUID(), model: '<synthetic>', role: 'assistant', content: [{ type: 'text', text }] },
        session_id: sessionId,
        parent_tool_use_id: null,
        error: 'unknown',
      });
      return finish(
        {
          type: 'result',
          subtype: 'success',
          is_error: true,
          duration_ms: Date.now() - turnStarted,
          num_turns: turns + 1,
          result: text,
          session_id: sessionId,
          total_cost_usd: session.cost + cost(total),
          usage: total,
          permission_denials: denials,
          api_error_status: answer.error.status,
        },
        1,
      );
    }
    const { message } = answer;
    turns++;
    const usage = {
      input_tokens: message.usage.input_tokens ?? 0,
      output_tokens: message.usage.output_tokens ?? 0,
      cache_creation_input_tokens: message.usage.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: message.usage.cache_read_input_tokens ?? 0,
    };
    for (const block of message.content) {
      out({
        type: 'assistant',
        message: {
          id: message.id,
          type: 'message',
          role: 'assistant',
          model: message.model,
          content: [block],
          stop_reason: null,
          usage,
        },
        parent_tool_use_id: null,
        session_id: sessionId,
        uuid: randomUUID(),
      });
    }
    const final = { ...usage, ...(message.finalUsage ?? {}) };
    for (const key of Object.keys(total)) total[key] += final[key] ?? 0;
    conversation.save({ role: 'assistant', content: message.content });
    const calls = message.content.filter((b) => b.type === 'tool_use');
    const text = message.content.filter((b) => b.type === 'text').map((b) => b.text);
    if (text.length) lastText = text.join('\n');
    if (!calls.length) break;
    const results = [];
    const denied = new Map();
    for (const call of calls) {
      // Asked one at a time, before the call runs (in approval mode, of the permission prompt tool).
      const verdict = await permission.settle(call);
      if (verdict.behavior === 'deny') {
        denials.push({ tool_name: call.name, tool_use_id: call.id, tool_input: call.input ?? {} });
        denied.set(call.id, verdict.message);
        results.push({ type: 'tool_result', content: verdict.message, is_error: true, tool_use_id: call.id });
        continue;
      }
      const { text: output, isError } = runTool(call.name, verdict.input);
      results.push({ type: 'tool_result', tool_use_id: call.id, content: output, is_error: isError });
    }
    for (const result of results) {
      out({
        type: 'user',
        message: { role: 'user', content: [result] },
        parent_tool_use_id: null,
        session_id: sessionId,
        uuid: randomUUID(),
        ...(denied.has(result.tool_use_id) ? { tool_use_result: `Error: ${denied.get(result.tool_use_id)}` } : {}),
      });
    }
    conversation.save({ role: 'user', content: results });
  }
  // The CLI's total_cost_usd counts every turn of the process so far.
  session.cost += cost(total);
  return finish(
    {
      type: 'result',
      subtype: 'success',
      is_error: false,
      duration_ms: Date.now() - turnStarted,
      duration_api_ms: Date.now() - turnStarted,
      num_turns: turns,
      result: lastText,
      session_id: sessionId,
      total_cost_usd: session.cost,
      usage: total,
      permission_denials: denials,
      uuid: randomUUID(),
    },
    0,
  );
}

/** What Claude Sonnet 4.5 would cost: $3 per million input tokens, $15 per million output tokens. */
function cost(usage) {
  return (usage.input_tokens * 3 + usage.output_tokens * 15) / 1_000_000;
}

const options = parseArgs(process.argv.slice(2));
let permission = permissions(options, VERSION);
main(options)
  .catch((error) => {
    process.stderr.write(`fake agent: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(() => permission.close());
