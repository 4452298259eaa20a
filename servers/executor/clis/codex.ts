// biome-ignore-all lint/suspicious/noExplicitAny: a stream line is untyped JSON from the CLI; every field is checked before use
/**
 * OpenAI's Codex CLI, headless: `codex exec --json`, the prompt on stdin (`-`). It names a thread
 * itself (`thread.started`), resumes (`exec resume ID`) and forks (`exec fork ID`, a new thread id).
 * It never asks for approval in exec; what it may do is its sandbox (`sandbox_mode`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { count, errorMessage, jsonLine, minus, noUsage, opening, outputText, raw, resultEvent } from './stream.js';
import type { CliAdapter, CliEvent, CliRun, Normaliser, Usage } from './types.js';

/** aof's permission modes as Codex sandboxes. `default` (ask before anything) is read-only: headless, nobody is asked. */
const SANDBOX: Record<string, string> = {
  bypassPermissions: 'danger-full-access',
  acceptEdits: 'workspace-write',
  default: 'read-only',
  plan: 'read-only',
};

/** A TOML value (Codex's `-c key=value`): JSON strings, arrays and inline tables are TOML too. */
function toml(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(toml).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, v]) => `${JSON.stringify(key)}=${toml(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function mcpServer(server: Record<string, any>): Record<string, unknown> {
  if (server.type === 'http' || typeof server.url === 'string') {
    return { url: server.url, ...(server.headers ? { http_headers: server.headers } : {}) };
  }
  return { command: server.command, args: server.args ?? [], ...(server.env ? { env: server.env } : {}) };
}

export const codex: CliAdapter = {
  name: 'codex',

  async command(run: CliRun, context) {
    const mode = run.agent.permission_mode ?? context.defaultPermissionMode;
    const args = ['exec', '--json', '--skip-git-repo-check', '--disable', 'plugins'];
    // Off: usage analytics (else it also looks up its plugin catalogue and update hosts).
    args.push('-c', 'analytics.enabled=false', '-c', `sandbox_mode=${toml(SANDBOX[mode] ?? 'read-only')}`);
    args.push('-c', 'approval_policy="never"');
    if (run.agent.model) args.push('-m', run.agent.model);
    const instructions = [run.agent.system_prompt, context.outputInstruction].filter(Boolean).join('\n\n');
    if (instructions) args.push('-c', `developer_instructions=${toml(instructions)}`);
    const servers = { ...run.agent.mcp_servers, ...context.extraMcpServers };
    for (const [name, server] of Object.entries(servers)) {
      args.push('-c', `mcp_servers.${name}=${toml(mcpServer(server as Record<string, any>))}`);
    }
    // A resumed or forked thread's usage is its running total: what it had before is not this run's.
    let continued: string | null = null;
    if (run.conversation.started && run.conversation.id) {
      continued = run.conversation.id;
      args.push('resume', continued);
    } else if (run.conversation.fork_of) {
      continued = run.conversation.fork_of;
      args.push('fork', continued);
    }
    args.push('-');
    const priorUsage = continued ? await threadUsage(codexHome(context.env), continued) : null;
    return { args, env: {}, files: [], priorUsage };
  },

  normaliser(run, options) {
    return new CodexNormaliser(run.prompt, run.agent.model ?? undefined, options?.priorUsage ?? null);
  },

  noConversation(exit, stderr) {
    return exit !== null && exit.code !== 0 && /no rollout found for thread id/i.test(stderr);
  },
};

/** Codex's usage (`turn.completed`) in aof's terms: its input counts the cached tokens too. */
export function codexUsage(usage: Record<string, any> | undefined): Usage {
  if (!usage || typeof usage !== 'object') return noUsage();
  const cached = count(usage.cached_input_tokens);
  return {
    input_tokens: Math.max(0, count(usage.input_tokens) - cached),
    output_tokens: count(usage.output_tokens),
    cache_creation_input_tokens: count(usage.cache_write_input_tokens),
    cache_read_input_tokens: cached,
  };
}

/**
 * The thread's usage so far, from its rollout file (`$CODEX_HOME/sessions/.../rollout-*-ID.jsonl`):
 * the total of its last `token_count`. Codex reports a thread's running total, so a resumed run's own
 * usage is the total at its end less this.
 */
export function rolloutUsage(rollout: string): Usage | null {
  let total: Record<string, any> | undefined;
  for (const line of rollout.split('\n')) {
    if (!line.includes('"token_count"')) continue;
    const entry = jsonLine(line);
    const info = entry?.payload?.type === 'token_count' ? entry.payload.info : undefined;
    if (info?.total_token_usage) total = info.total_token_usage;
  }
  return total ? codexUsage(total) : null;
}

/** Where Codex keeps its threads. */
export const codexHome = (env: NodeJS.ProcessEnv) => env.CODEX_HOME || join(env.HOME ?? '', '.codex');

/** The usage a thread has been billed so far (its rollout file under `home`/sessions/Y/M/D/), null when not found. */
export async function threadUsage(home: string, threadId: string): Promise<Usage | null> {
  const suffix = `-${threadId}.jsonl`;
  const newestFirst = async (dir: string) =>
    (await readdir(dir).catch(() => [] as string[]))
      .sort()
      .reverse()
      .map((name) => join(dir, name));
  for (const year of await newestFirst(join(home, 'sessions'))) {
    for (const month of await newestFirst(year)) {
      for (const day of await newestFirst(month)) {
        const file = (await newestFirst(day)).find((path) => path.endsWith(suffix));
        if (file) return rolloutUsage(await readFile(file, 'utf8').catch(() => ''));
      }
    }
  }
  return null;
}

class CodexNormaliser implements Normaliser {
  sessionId: string | undefined;
  result: Normaliser['result'];
  turns = 0;
  private usage: Usage | null = null;
  private lastText: string | null = null;
  private lastError: string | undefined;
  private readonly started = new Set<string>();

  constructor(
    private readonly prompt: string,
    readonly model: string | undefined,
    private readonly prior: Usage | null,
  ) {}

  billedUsage(): Usage | null {
    return this.usage;
  }

  parse(line: string): CliEvent[] {
    const event = jsonLine(line);
    if (!event) return [];
    switch (event.type) {
      case 'thread.started':
        if (typeof event.thread_id !== 'string') return [raw('codex', event)];
        this.sessionId = event.thread_id;
        return opening('codex', this.sessionId, this.model, this.prompt);
      case 'turn.started':
        return [];
      case 'item.started':
        return this.item(event.item, false);
      case 'item.updated':
        return [];
      case 'item.completed':
        return this.item(event.item, true);
      case 'turn.completed':
        return [this.turnEnd(event.usage, null)];
      case 'turn.failed':
        return [this.turnEnd(event.usage, errorMessage(event.error?.message ?? this.lastError))];
      case 'error':
        // A stream error (Codex may retry after one); the turn's failure follows with its message.
        this.lastError = errorMessage(event.message);
        return [raw('codex', event)];
      default:
        return [raw('codex', event)];
    }
  }

  end(exit: { code: number | null; signal: string | null }): CliEvent[] {
    if (this.result || exit.signal || exit.code === null || exit.code === 0 || !this.lastError) return [];
    return [this.turnEnd(undefined, this.lastError)];
  }

  private turnEnd(usage: Record<string, any> | undefined, error: string | null): CliEvent {
    this.turns++;
    if (usage) this.usage = this.prior ? minus(codexUsage(usage), this.prior) : codexUsage(usage);
    this.result = { isError: error !== null, text: error === null ? this.lastText : null };
    return resultEvent({
      isError: error !== null,
      text: this.result.text,
      usage: this.usage,
      turns: this.turns,
      errors: error === null ? undefined : [error],
    });
  }

  private item(item: Record<string, any> | undefined, done: boolean): CliEvent[] {
    if (!item || typeof item !== 'object') return [];
    const id = String(item.id ?? '');
    switch (item.type) {
      case 'agent_message':
        if (!done || typeof item.text !== 'string') return [];
        this.lastText = item.text;
        return [{ type: 'message', data: { role: 'assistant', text: item.text } }];
      case 'reasoning':
        return [];
      case 'command_execution':
        return this.tool(id, 'shell', { command: item.command }, done, {
          output: outputText(item.aggregated_output),
          isError: item.status === 'failed' || (typeof item.exit_code === 'number' && item.exit_code !== 0),
        });
      case 'file_change':
        return this.tool(id, 'file_change', { changes: item.changes ?? [] }, done, {
          output: (item.changes ?? []).map((c: any) => `${c?.kind ?? 'change'} ${c?.path ?? ''}`).join('\n'),
          isError: item.status === 'failed',
        });
      case 'mcp_tool_call':
        return this.tool(id, `mcp__${item.server}__${item.tool}`, item.arguments ?? {}, done, {
          output: item.error?.message ?? outputText(item.result?.content ?? item.result),
          isError: item.status === 'failed' || Boolean(item.error),
        });
      case 'web_search':
        return this.tool(id, 'web_search', { query: item.query }, done, { output: '', isError: false });
      default:
        // A warning (`error` item), a to-do list, anything newer: kept as it came.
        return done ? [raw('codex', item)] : [];
    }
  }

  private tool(
    id: string,
    tool: string,
    input: unknown,
    done: boolean,
    outcome: { output: string; isError: boolean },
  ): CliEvent[] {
    const events: CliEvent[] = [];
    if (!this.started.has(id)) {
      this.started.add(id);
      events.push({ type: 'pre_tool', data: { tool_use_id: id, tool, input } });
    }
    if (done) {
      events.push({
        type: 'post_tool',
        data: { tool_use_id: id, tool, output: outcome.output, is_error: outcome.isError },
      });
    }
    return events;
  }
}
