// biome-ignore-all lint/suspicious/noExplicitAny: a stream line is untyped JSON from the CLI; every field is checked before use
import type { components } from '../../sdk/generated/runtime.js';
import { addUsage, noUsage } from '../common/usage.js';
import { raw } from './clis/stream.js';
import type { CliExit, Normaliser } from './clis/types.js';

type EventInput = components['schemas']['EventInput'];
type Usage = components['schemas']['Usage'];

/**
 * Turns Claude Code's stream-json output, one line at a time, into runtime events. It is
 * deterministic: parsing the same lines again yields the same events, which is how a restarted
 * runtime finds where it left off in a run's output. Claude Code's normaliser (clis/claude.ts).
 */
export class StreamParser implements Normaliser {
  private readonly toolNames = new Map<string, string>();
  /** Usage per model response (message id): Claude Code repeats it on the line of each content block. */
  private readonly billed = new Map<string, Usage>();
  /** The model Claude Code said it uses (its init line). */
  model: string | undefined;
  /** The `result` line's verdict once seen. */
  result: { isError: boolean; text: string | null } | undefined;
  /**
   * The account's usage or rate limit, once the CLI said it was hit: a `rate_limit_event` whose
   * status is `rejected` (a subscription: with its reset time), or an assistant line with
   * `error: "rate_limit"` (an API 429, any login).
   */
  private limit: { resetsAt: number | null; kind: string | null } | undefined;
  /** Claude Code's id of the conversation (its init line). */
  sessionId: string | undefined;

  constructor(private readonly prompt: string) {}

  parse(line: string): EventInput[] {
    let message: Record<string, any>;
    try {
      message = JSON.parse(line);
    } catch {
      return []; // not a protocol line (the CLI may print a warning to stdout)
    }
    if (!message || typeof message !== 'object') return [];
    switch (message.type) {
      case 'system':
        return message.subtype === 'init' ? this.init(message) : [];
      case 'assistant':
        return this.assistant(message);
      case 'user':
        return this.toolResults(message);
      case 'result':
        return [this.resultEvent(message)];
      case 'rate_limit_event':
        this.rateLimit(message.rate_limit_info);
        return [];
      case 'stream_event':
        return []; // partial messages (only with --include-partial-messages): the whole ones follow
      default:
        // A type aof has no shape for (a newer Claude Code's): kept as it came. `system` lines other
        // than `init` (hooks, tasks, status) are Claude Code's own notices and are left out.
        return [raw('claude', message)];
    }
  }

  /** Claude Code prints its own result line: its end brings nothing more. */
  end(_exit: CliExit): EventInput[] {
    return [];
  }

  private init(message: Record<string, any>): EventInput[] {
    const data: Extract<EventInput, { type: 'session_start' }>['data'] = {};
    if (typeof message.session_id === 'string') data.claude_session_id = this.sessionId = message.session_id;
    if (typeof message.model === 'string') data.model = this.model = message.model;
    if (typeof message.cwd === 'string') data.cwd = message.cwd;
    if (typeof message.permissionMode === 'string') data.permission_mode = message.permissionMode;
    if (typeof message.claude_code_version === 'string') data.claude_code_version = message.claude_code_version;
    if (Array.isArray(message.tools)) data.tools = message.tools.filter((t: unknown) => typeof t === 'string');
    if (Array.isArray(message.mcp_servers)) {
      data.mcp_servers = message.mcp_servers
        .filter((s: any) => s && typeof s.name === 'string')
        .map((s: any) => ({ name: s.name, status: String(s.status ?? 'unknown') }));
    }
    return [
      { type: 'session_start', data },
      { type: 'message', data: { role: 'user', text: this.prompt } },
    ];
  }

  /**
   * What the model responses seen so far were billed, each counted once; null before the first.
   * Claude Code writes an assistant line when a content block is complete, before the response's
   * final `message_delta`: the input and cache tokens are exact, the output tokens are what the
   * model had reported at the start of the response (a lower bound). The `result` line has the
   * exact totals; this is for runs that end without one.
   */
  billedUsage(): Usage | null {
    if (!this.billed.size) return null;
    const total = noUsage();
    for (const usage of this.billed.values()) addUsage(total, usage);
    return total;
  }

  /** How many model responses (turns) the stream has shown so far. */
  get turns(): number {
    return this.billed.size;
  }

  private rateLimit(info: Record<string, any> | undefined): void {
    if (info?.status !== 'rejected') return;
    const resetsAt = typeof info.resetsAt === 'number' && Number.isFinite(info.resetsAt) ? info.resetsAt * 1000 : null;
    this.limit = {
      resetsAt: resetsAt ?? this.limit?.resetsAt ?? null,
      kind: typeof info.rateLimitType === 'string' ? info.rateLimitType : (this.limit?.kind ?? null),
    };
  }

  private assistant(message: Record<string, any>): EventInput[] {
    if (message.error === 'rate_limit') this.limit ??= { resetsAt: null, kind: null };
    this.countUsage(message.message);
    const events: EventInput[] = [];
    for (const block of contentBlocks(message.message)) {
      if (block.type === 'text' && typeof block.text === 'string') {
        events.push({ type: 'message', data: { role: 'assistant', text: block.text } });
      } else if (block.type === 'tool_use') {
        const id = String(block.id ?? '');
        const tool = String(block.name ?? 'unknown');
        this.toolNames.set(id, tool);
        events.push({ type: 'pre_tool', data: { tool_use_id: id, tool, input: block.input ?? {} } });
      }
    }
    return events;
  }

  private countUsage(message: Record<string, any> | undefined): void {
    if (!message?.usage || typeof message.usage !== 'object' || typeof message.id !== 'string') return;
    const usage = normalizeUsage(message.usage);
    const seen = this.billed.get(message.id);
    if (seen) {
      // A later line of the same response may carry newer counts: keep the largest of each.
      for (const key of Object.keys(usage) as Array<keyof Usage>) usage[key] = Math.max(usage[key], seen[key]);
    }
    this.billed.set(message.id, usage);
  }

  private toolResults(message: Record<string, any>): EventInput[] {
    const events: EventInput[] = [];
    for (const block of contentBlocks(message.message)) {
      if (block.type !== 'tool_result') continue;
      const id = String(block.tool_use_id ?? '');
      const data: Extract<EventInput, { type: 'post_tool' }>['data'] = {
        tool_use_id: id,
        output: flattenContent(block.content),
        is_error: block.is_error === true,
      };
      const tool = this.toolNames.get(id);
      if (tool) data.tool = tool;
      events.push({ type: 'post_tool', data });
    }
    return events;
  }

  private resultEvent(message: Record<string, any>): EventInput {
    const isError = message.is_error === true || (typeof message.subtype === 'string' && message.subtype !== 'success');
    const text = typeof message.result === 'string' ? message.result : null;
    this.result = { isError, text };
    const data: Extract<EventInput, { type: 'result' }>['data'] = { is_error: isError, text };
    if (typeof message.subtype === 'string') data.subtype = message.subtype;
    if (Number.isInteger(message.num_turns)) data.num_turns = message.num_turns;
    if (Number.isInteger(message.duration_ms)) data.duration_ms = message.duration_ms;
    if (typeof message.total_cost_usd === 'number') data.total_cost_usd = message.total_cost_usd;
    if (message.usage && typeof message.usage === 'object') data.usage = normalizeUsage(message.usage);
    if (Array.isArray(message.errors)) data.errors = message.errors.map(String);
    if (isError && (this.limit || message.api_error_status === 429)) {
      const resetsAt = this.limit?.resetsAt;
      data.usage_limit = { resets_at: resetsAt ? new Date(resetsAt).toISOString() : null };
      if (this.limit?.kind) data.usage_limit.kind = this.limit.kind.slice(0, 100);
    }
    return { type: 'result', data };
  }
}

function contentBlocks(message: unknown): Array<Record<string, any>> {
  const content = (message as { content?: unknown } | undefined)?.content;
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter((b) => b && typeof b === 'object') : [];
}

function flattenContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((b) => (b && typeof b === 'object' && typeof b.text === 'string' ? b.text : b?.type ? `[${b.type}]` : ''))
      .join('\n');
  }
  return content === undefined || content === null ? '' : JSON.stringify(content);
}

function normalizeUsage(usage: Record<string, unknown>): Usage {
  const count = (key: string) => (typeof usage[key] === 'number' && usage[key] >= 0 ? Math.round(usage[key]) : 0);
  return {
    input_tokens: count('input_tokens'),
    output_tokens: count('output_tokens'),
    cache_creation_input_tokens: count('cache_creation_input_tokens'),
    cache_read_input_tokens: count('cache_read_input_tokens'),
  };
}
