// biome-ignore-all lint/suspicious/noExplicitAny: a stream line is untyped JSON from the CLI; every field is checked before use
/**
 * Google's Gemini CLI, headless: `gemini -p '' -o stream-json`, the prompt on stdin (`-p` is
 * appended to it). aof names the conversation (`--session-id UUID`) and resumes it (`-r UUID`); it
 * has no headless fork.
 *
 * Its settings come only from files (a system settings file must be root's, in root's directories),
 * so each session gets a Gemini home of its own (GEMINI_CLI_HOME, in the session's dir): the user's
 * settings with aof's on top, and links to the user's login files. Its conversations live there too.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { count, errorMessage, jsonLine, opening, outputText, raw, resultEvent } from './stream.js';
import type { CliAdapter, CliEvent, CliExit, CliFile, CliRun, Normaliser, Usage } from './types.js';

/** The user's files in ~/.gemini that log the CLI in (a Google login, an API key in its .env). */
const LOGIN_FILES = ['oauth_creds.json', 'google_accounts.json', 'mcp-oauth-tokens.json', '.env'];

/** aof's permission modes as Gemini's approval modes (headless, `default` offers no shell or write tools). */
const APPROVAL_MODE: Record<string, string> = {
  bypassPermissions: 'yolo',
  acceptEdits: 'auto_edit',
  default: 'default',
  plan: 'plan',
};

/** Exit codes the CLI documents: 42 is bad input, e.g. a session id it does not have. */
const EXIT_INPUT = 42;

export const gemini: CliAdapter = {
  name: 'gemini',

  async command(run, context) {
    const mode = run.agent.permission_mode ?? context.defaultPermissionMode;
    const args = ['-p', '', '-o', 'stream-json', '--skip-trust', '--approval-mode', APPROVAL_MODE[mode] ?? 'default'];
    if (run.agent.model) args.push('-m', run.agent.model);
    const id = run.conversation.id;
    if (id) args.push(...(run.conversation.started ? ['-r', id] : ['--session-id', id]));
    const userDir = join(context.env.GEMINI_CLI_HOME || context.env.HOME || '', '.gemini');
    const ownDir = join(context.sessionDir, '.gemini');
    const userSettings = await readFile(join(userDir, 'settings.json'), 'utf8')
      .then((text) => JSON.parse(text) as Record<string, unknown>)
      .catch(() => ({}));
    const files: CliFile[] = [
      {
        path: join(ownDir, 'settings.json'),
        content: `${JSON.stringify(geminiSettings(userSettings, run, context.extraMcpServers ?? {}), null, 2)}\n`,
      },
      ...LOGIN_FILES.map((name) => ({ path: join(ownDir, name), linkTo: join(userDir, name) })),
    ];
    const env: Record<string, string> = {
      GEMINI_CLI_HOME: context.sessionDir,
      // Else it re-executes itself once to raise its heap limit (slower; some starts stalled).
      GEMINI_CLI_NO_RELAUNCH: 'true',
    };
    const instructions = [run.agent.system_prompt, context.outputInstruction].filter(Boolean).join('\n\n');
    if (instructions) {
      const systemPath = join(context.runDir, 'gemini-system.md');
      files.push({ path: systemPath, content: instructions });
      env.GEMINI_SYSTEM_MD = systemPath;
    }
    return { args, env, files };
  },

  normaliser(run) {
    return new GeminiNormaliser(run.prompt, run.agent.model ?? undefined);
  },

  noConversation(exit: CliExit | null, stderr: string) {
    return exit?.code === EXIT_INPUT && /Invalid session identifier/i.test(stderr);
  },
};

/**
 * The session's settings: the user's, with aof's on top: no usage statistics or telemetry (else it
 * reports to Google's servers), no update checks, the blueprint's tool lists and MCP servers.
 */
export function geminiSettings(
  user: Record<string, any>,
  run: Pick<CliRun, 'agent'>,
  extraMcpServers: Record<string, unknown>,
): Record<string, unknown> {
  const servers = { ...run.agent.mcp_servers, ...extraMcpServers } as Record<string, Record<string, any>>;
  const section = (name: string) => (user[name] && typeof user[name] === 'object' ? user[name] : {});
  return {
    ...user,
    general: { ...section('general'), enableAutoUpdate: false, enableAutoUpdateNotification: false },
    privacy: { ...section('privacy'), usageStatisticsEnabled: false },
    telemetry: { ...section('telemetry'), enabled: false },
    tools: {
      ...section('tools'),
      ...(run.agent.allowed_tools.length ? { allowed: run.agent.allowed_tools } : {}),
      ...(run.agent.disallowed_tools.length ? { exclude: run.agent.disallowed_tools } : {}),
    },
    ...(Object.keys(servers).length ? { mcpServers: { ...section('mcpServers'), ...geminiMcpServers(servers) } } : {}),
  };
}

function geminiMcpServers(servers: Record<string, Record<string, any>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, server] of Object.entries(servers)) {
    out[name] =
      server.type === 'http' || typeof server.url === 'string'
        ? { httpUrl: server.url, ...(server.headers ? { headers: server.headers } : {}) }
        : { command: server.command, args: server.args ?? [], ...(server.env ? { env: server.env } : {}), trust: true };
  }
  return out;
}

/** Gemini's stats in aof's terms: its input counts the cached tokens too. */
export function geminiUsage(stats: Record<string, any> | undefined): Usage {
  const cached = count(stats?.cached);
  return {
    input_tokens: Math.max(0, count(stats?.input_tokens) - cached),
    output_tokens: count(stats?.output_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

class GeminiNormaliser implements Normaliser {
  sessionId: string | undefined;
  result: Normaliser['result'];
  turns = 0;
  private usage: Usage | null = null;
  /** The assistant's text so far since the last other event: Gemini streams it in pieces (`delta`). */
  private pending = '';
  private lastText: string | null = null;
  private lastError: string | undefined;
  private readonly toolNames = new Map<string, string>();

  constructor(
    private readonly prompt: string,
    public model: string | undefined,
  ) {}

  billedUsage(): Usage | null {
    return this.usage;
  }

  parse(line: string): CliEvent[] {
    const event = jsonLine(line);
    if (!event) return [];
    if (event.type === 'message' && event.role === 'assistant' && typeof event.content === 'string') {
      if (!this.pending) this.turns++;
      this.pending += event.content;
      return [];
    }
    return [...this.flush(), ...this.other(event)];
  }

  end(_exit: CliExit): CliEvent[] {
    return this.flush();
  }

  private flush(): CliEvent[] {
    if (!this.pending) return [];
    const text = this.pending;
    this.pending = '';
    this.lastText = text;
    return [{ type: 'message', data: { role: 'assistant', text } }];
  }

  private other(event: Record<string, any>): CliEvent[] {
    switch (event.type) {
      case 'init': {
        if (typeof event.session_id === 'string') this.sessionId = event.session_id;
        if (typeof event.model === 'string') this.model = event.model;
        // The prompt comes as its own `message` line.
        return opening('gemini', this.sessionId, this.model, this.prompt).slice(0, 1);
      }
      case 'message':
        return event.role === 'user' && typeof event.content === 'string'
          ? [{ type: 'message', data: { role: 'user', text: event.content } }]
          : [raw('gemini', event)];
      case 'tool_use': {
        const id = String(event.tool_id ?? '');
        const tool = String(event.tool_name ?? 'unknown');
        this.toolNames.set(id, tool);
        return [{ type: 'pre_tool', data: { tool_use_id: id, tool, input: event.parameters ?? {} } }];
      }
      case 'tool_result': {
        const id = String(event.tool_id ?? '');
        const isError = event.status !== 'success';
        const output =
          isError && event.error ? errorMessage(event.error.message ?? event.error) : outputText(event.output);
        const data: Extract<CliEvent, { type: 'post_tool' }>['data'] = { tool_use_id: id, output, is_error: isError };
        const tool = this.toolNames.get(id);
        if (tool) data.tool = tool;
        return [{ type: 'post_tool', data }];
      }
      case 'error':
        if (typeof event.message === 'string') this.lastError = errorMessage(event.message);
        return [raw('gemini', event)];
      case 'result': {
        const isError = event.status !== 'success';
        const error = isError
          ? errorMessage(event.error?.message ?? this.lastError ?? 'Gemini CLI reported an error')
          : null;
        this.usage = event.stats ? geminiUsage(event.stats) : this.usage;
        this.result = { isError, text: isError ? null : this.lastText };
        return [
          resultEvent({
            isError,
            text: this.result.text,
            usage: this.usage,
            turns: this.turns,
            durationMs: event.stats?.duration_ms,
            errors: error ? [error] : undefined,
          }),
        ];
      }
      default:
        return [raw('gemini', event)];
    }
  }
}
