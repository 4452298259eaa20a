// How the fake agent (fake-agent.mjs) settles whether a tool call may run, as the pinned Claude Code CLI
// settles it (measured on 2.1.197 against the fake model):
// - a `--disallowedTools` rule that names the call denies it, asking nobody: the model reads
//   "Permission to use Bash with command CMD has been denied.";
// - bypassPermissions, an `--allowedTools` rule, acceptEdits for a Write in the cwd, and a Read in the cwd
//   let it run, asking nobody;
// - anything else, in approval mode (`--permission-prompt-tool mcp__SERVER__TOOL`), is asked of that
//   MCP server from `--mcp-config` (a file or inline JSON), started at the first question and kept for
//   the run: stdio, newline-delimited JSON-RPC 2.0 (initialize, notifications/initialized, tools/list,
//   then one tools/call per question with `tool_name`, `input`, `tool_use_id`, as the CLI sends them).
//   Its answer is JSON text: `{"behavior":"allow","updatedInput":{...}}` runs the tool with that input,
//   `{"behavior":"deny","message":"..."}` gives the model the message as an error result.
// A rule is a tool name (`Bash`) or a Bash command (`Bash(npm test)`) or prefix (`Bash(rm:*)`).
//
// A hand-written client rather than @modelcontextprotocol/sdk's: importing the SDK's client costs
// ~0.23 s of CPU, as much as a whole run of the fake agent, whose point is to be cheap.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';

/** The tools whose permission is settled here (the fake agent's tools; any other is an unknown tool). */
const TOOLS = new Set(['Bash', 'Read', 'Write']);

/** `--allowedTools` / `--disallowedTools`: rules split on commas and spaces outside parentheses. */
export function parseRules(value) {
  const rules = [];
  let current = '';
  let depth = 0;
  for (const char of value ?? '') {
    if (char === '(') depth++;
    else if (char === ')') depth = Math.max(0, depth - 1);
    if (depth === 0 && (char === ',' || /\s/.test(char))) {
      if (current) rules.push(current);
      current = '';
    } else current += char;
  }
  if (current) rules.push(current);
  return rules.map((rule) => {
    const match = /^([^(]+)\((.*)\)$/.exec(rule);
    return match ? { tool: match[1], content: match[2] } : { tool: rule, content: null };
  });
}

function matches(rule, name, input) {
  if (rule.tool !== name) return false;
  if (rule.content === null) return true;
  if (name !== 'Bash') return false;
  const command = String(input.command ?? '').trim();
  if (rule.content.endsWith(':*')) {
    const prefix = rule.content.slice(0, -2);
    return command === prefix || command.startsWith(`${prefix} `);
  }
  return command === rule.content;
}

const inside = (dir, path) => {
  const full = isAbsolute(path) ? path : resolve(dir, path);
  return full === dir || full.startsWith(dir.endsWith(sep) ? dir : dir + sep);
};

/** The MCP servers of `--mcp-config` (a file, or the JSON itself). */
function mcpServers(config) {
  const text = config.trim().startsWith('{') ? config : readFileSync(config, 'utf8');
  return JSON.parse(text).mcpServers ?? {};
}

/** A stdio MCP server: a child process speaking newline-delimited JSON-RPC 2.0. */
class StdioServer {
  constructor(name, config) {
    this.name = name;
    this.nextId = 0;
    this.pending = new Map();
    this.closed = false;
    this.child = spawn(config.command, config.args ?? [], {
      cwd: process.cwd(),
      env: { ...process.env, ...(config.env ?? {}) },
      // The CLI keeps a server's stderr in its own logs, never on its output.
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let buffered = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffered += chunk;
      let end = buffered.indexOf('\n');
      while (end >= 0) {
        const line = buffered.slice(0, end).trim();
        buffered = buffered.slice(end + 1);
        if (line) this.receive(line);
        end = buffered.indexOf('\n');
      }
    });
    const gone = (why) => {
      this.closed = true;
      for (const { reject } of this.pending.values()) reject(new Error(`MCP server "${name}" ${why}`));
      this.pending.clear();
    };
    this.child.on('error', (error) => gone(`could not start: ${error.message}`));
    this.child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    this.child.stdin.on('error', () => {});
  }

  receive(line) {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    const waiter = message.id !== undefined && this.pending.get(message.id);
    if (!waiter) return; // a notification, or a request to the client (none is expected)
    this.pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error.message ?? JSON.stringify(message.error)));
    else waiter.resolve(message.result);
  }

  send(message) {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  }

  request(method, params) {
    if (this.closed) return Promise.reject(new Error(`MCP server "${this.name}" is not running`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ id, method, params });
    });
  }

  async connect(version) {
    await this.request('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'claude-code', version },
    });
    this.send({ method: 'notifications/initialized' });
    return (await this.request('tools/list', {})).tools ?? [];
  }

  close() {
    this.closed = true;
    this.child.stdin.end();
    // The server ends when its stdin does; the agent does not wait for it.
    this.child.unref();
    this.child.stdout.destroy();
  }
}

/**
 * What settles the permission of the fake agent's tool calls, from its options (the CLI's flags).
 * `settle(call)` resolves to `{ behavior: 'allow', input }` or `{ behavior: 'deny', message }`.
 */
export function permissions(options, version) {
  const mode = options['permission-mode'] ?? 'default';
  const allowed = parseRules(options.allowedTools);
  const disallowed = parseRules(options.disallowedTools);
  const promptTool = options['permission-prompt-tool'];
  const cwd = process.cwd();
  let server;
  let started;
  let tool;

  /** The prompt tool's server, started and initialized at the first question. */
  const prompter = () => {
    server ??= (async () => {
      const [, serverName, ...rest] = promptTool.split('__');
      const toolName = rest.join('__');
      if (!promptTool.startsWith('mcp__') || !serverName || !toolName)
        throw new Error(`--permission-prompt-tool must name an MCP tool (mcp__SERVER__TOOL), not '${promptTool}'`);
      const config = options['mcp-config'] ? mcpServers(options['mcp-config'])[serverName] : undefined;
      if (!config?.command) throw new Error(`MCP server "${serverName}" is not in --mcp-config`);
      started = new StdioServer(serverName, config);
      const tools = await started.connect(version);
      if (!tools.some((t) => t.name === toolName)) throw new Error(`MCP tool ${promptTool} not found`);
      tool = toolName;
      return started;
    })();
    return server;
  };

  const ask = async (call, input) => {
    let answer;
    try {
      const mcp = await prompter();
      const result = await mcp.request('tools/call', {
        name: tool,
        arguments: { tool_name: call.name, input, tool_use_id: call.id },
        _meta: { 'claudecode/toolUseId': call.id },
      });
      const text = (result.content ?? []).find((block) => block.type === 'text')?.text ?? '';
      if (result.isError) throw new Error(text || 'the tool answered with an error');
      answer = JSON.parse(text);
    } catch (error) {
      return { behavior: 'deny', message: `Permission prompt tool ${promptTool} failed: ${error.message}` };
    }
    if (answer?.behavior === 'allow') return { behavior: 'allow', input: answer.updatedInput ?? input };
    if (answer?.behavior === 'deny') return { behavior: 'deny', message: String(answer.message ?? '') };
    return { behavior: 'deny', message: `Permission prompt tool ${promptTool} answered neither allow nor deny` };
  };

  return {
    async settle(call) {
      const input = call.input ?? {};
      if (!TOOLS.has(call.name)) return { behavior: 'allow', input };
      if (disallowed.some((rule) => matches(rule, call.name, input))) {
        const what = call.name === 'Bash' ? `${call.name} with command ${input.command}` : call.name;
        return { behavior: 'deny', message: `Permission to use ${what} has been denied.` };
      }
      const unasked =
        mode === 'bypassPermissions' ||
        allowed.some((rule) => matches(rule, call.name, input)) ||
        (call.name === 'Read' && inside(cwd, String(input.file_path ?? ''))) ||
        (call.name === 'Write' && mode === 'acceptEdits' && inside(cwd, String(input.file_path ?? '')));
      if (unasked || !promptTool) return { behavior: 'allow', input };
      return ask(call, input);
    },

    /** Ends the prompt tool's server, if one was started. */
    close() {
      started?.close();
    },
  };
}
