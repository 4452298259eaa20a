// biome-ignore-all lint/suspicious/noExplicitAny: a stream line is untyped JSON from the CLI; every field is checked before use
/**
 * OpenCode, headless: `opencode run --format json`, the prompt on stdin. It names its sessions
 * itself (`sessionID` on every line), resumes (`-s ID`) and forks (`-s ID --fork`), and reports a
 * cost per step. It prints no closing line: the result is made at the process's end.
 */
import { count, errorMessage, jsonLine, noUsage, opening, outputText, plus, raw, resultEvent } from './stream.js';
import type { CliAdapter, CliEvent, CliExit, Normaliser, Usage } from './types.js';

/** The agent aof defines for a blueprint's system prompt (OpenCode's prompt is its agent's). */
const AGENT = 'aof';

export const opencode: CliAdapter = {
  name: 'opencode',

  async command(run, context) {
    const mode = run.agent.permission_mode ?? context.defaultPermissionMode;
    // A title of its own, else OpenCode asks the model for one first.
    const args = ['run', '--format', 'json', '--pure', '--title', 'aof'];
    if (run.agent.model) args.push('-m', run.agent.model);
    if (run.conversation.started && run.conversation.id) args.push('-s', run.conversation.id);
    else if (run.conversation.fork_of) args.push('-s', run.conversation.fork_of, '--fork');
    // Tools its permissions would ask about are refused headless; bypassPermissions allows them.
    if (mode === 'bypassPermissions') args.push('--auto');
    const config: Record<string, any> = {};
    if (mode === 'plan') config.permission = { edit: 'deny', bash: 'deny', webfetch: 'deny' };
    if (run.agent.disallowed_tools.length) {
      config.tools = Object.fromEntries(run.agent.disallowed_tools.map((tool) => [tool, false]));
    }
    const instructions = [run.agent.system_prompt, context.outputInstruction].filter(Boolean).join('\n\n');
    if (instructions) {
      config.agent = { [AGENT]: { mode: 'primary', prompt: instructions } };
      args.push('--agent', AGENT);
    }
    const servers = { ...run.agent.mcp_servers, ...context.extraMcpServers };
    if (Object.keys(servers).length) config.mcp = opencodeMcp(servers);
    const env: Record<string, string> = {
      // Off: the models.dev catalogue, self-update, sharing, LSP downloads, Claude Code's files.
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_SHARE: '1',
      OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
      OPENCODE_DISABLE_CLAUDE_CODE: '1',
    };
    if (Object.keys(config).length) env.OPENCODE_CONFIG_CONTENT = JSON.stringify(config);
    return { args, env, files: [] };
  },

  normaliser(run) {
    return new OpenCodeNormaliser(run.prompt, run.agent.model ?? undefined);
  },

  noConversation(exit: CliExit | null, stderr: string, events: CliEvent[]) {
    return exit?.code === 1 && events.length === 0 && /session.*not ?found|NotFoundError/i.test(stderr);
  },
};

function opencodeMcp(servers: Record<string, Record<string, any>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, server] of Object.entries(servers)) {
    out[name] =
      server.type === 'http' || typeof server.url === 'string'
        ? { type: 'remote', url: server.url, ...(server.headers ? { headers: server.headers } : {}) }
        : {
            type: 'local',
            command: [server.command, ...(server.args ?? [])],
            ...(server.env ? { environment: server.env } : {}),
          };
  }
  return out;
}

/** One step's tokens in aof's terms. */
export function opencodeUsage(tokens: Record<string, any> | undefined): Usage {
  return {
    input_tokens: count(tokens?.input),
    output_tokens: count(tokens?.output) + count(tokens?.reasoning),
    cache_creation_input_tokens: count(tokens?.cache?.write),
    cache_read_input_tokens: count(tokens?.cache?.read),
  };
}

class OpenCodeNormaliser implements Normaliser {
  sessionId: string | undefined;
  result: Normaliser['result'];
  turns = 0;
  private usage: Usage | null = null;
  private cost = 0;
  private lastText: string | null = null;
  private error: string | undefined;

  constructor(
    private readonly prompt: string,
    readonly model: string | undefined,
  ) {}

  billedUsage(): Usage | null {
    return this.usage;
  }

  parse(line: string): CliEvent[] {
    const event = jsonLine(line);
    if (!event) return [];
    const events: CliEvent[] = [];
    if (!this.sessionId && typeof event.sessionID === 'string') {
      this.sessionId = event.sessionID;
      events.push(...opening('opencode', this.sessionId, this.model, this.prompt));
    }
    const part = event.part ?? {};
    switch (event.type) {
      case 'step_start':
        break;
      case 'text':
        if (typeof part.text === 'string') {
          this.lastText = part.text;
          events.push({ type: 'message', data: { role: 'assistant', text: part.text } });
        }
        break;
      case 'tool_use': {
        const id = String(part.callID ?? part.id ?? '');
        const tool = String(part.tool ?? 'unknown');
        const state = part.state ?? {};
        events.push({ type: 'pre_tool', data: { tool_use_id: id, tool, input: state.input ?? {} } });
        if (state.status === 'completed' || state.status === 'error') {
          const isError = state.status === 'error';
          const output = isError ? errorMessage(state.error) : outputText(state.output);
          events.push({ type: 'post_tool', data: { tool_use_id: id, tool, output, is_error: isError } });
        }
        break;
      }
      case 'step_finish':
        this.turns++;
        this.usage = plus(this.usage ?? noUsage(), opencodeUsage(part.tokens));
        if (typeof part.cost === 'number' && Number.isFinite(part.cost) && part.cost > 0) this.cost += part.cost;
        break;
      case 'error': {
        const data = event.error?.data;
        this.error = errorMessage(data?.message ?? event.error?.message ?? event.error?.name);
        events.push(raw('opencode', event));
        break;
      }
      default:
        events.push(raw('opencode', event));
    }
    return events;
  }

  /** OpenCode prints no result: the run's result is what its stream showed, once it has exited. */
  end(exit: CliExit): CliEvent[] {
    if (this.result || exit.signal || exit.code === null) return [];
    if (!this.sessionId && exit.code !== 0) return []; // it never started: the exit and stderr say why
    const isError = exit.code !== 0 || this.error !== undefined;
    this.result = { isError, text: isError ? null : this.lastText };
    return [
      resultEvent({
        isError,
        text: this.result.text,
        usage: this.usage,
        costUsd: this.usage ? this.cost : undefined,
        turns: this.turns,
        errors: isError ? [this.error ?? `OpenCode exited with code ${exit.code}`] : undefined,
      }),
    ];
  }
}
