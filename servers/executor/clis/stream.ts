// biome-ignore-all lint/suspicious/noExplicitAny: a stream line is untyped JSON from the CLI; every field is checked before use
/** What the CLIs' normalisers share: reading a line, counting tokens, finding an error's message. */
import type { CliName, EventInput, RawEvent, Usage } from './types.js';

/** A stream line as JSON; null when it is not a JSON object (a CLI may print a warning to stdout). */
export function jsonLine(line: string): Record<string, any> | null {
  try {
    const value = JSON.parse(line);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** The largest event kept whole in a `raw` event (its JSON text); a larger one keeps the start of its text. */
export const MAX_RAW_CHARS = 32 * 1024;

/** An event the CLI printed that aof has no shape for, kept as it came (the start of it, when large). */
export function raw(cli: CliName, event: unknown): RawEvent {
  const text = JSON.stringify(event) ?? 'null';
  if (text.length <= MAX_RAW_CHARS) return { type: 'raw', data: { cli, event } };
  return { type: 'raw', data: { cli, event: text.slice(0, MAX_RAW_CHARS), truncated: true } };
}

/** A non-negative whole count, 0 for anything else. */
export function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0;
}

export const noUsage = (): Usage => ({
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});

const KEYS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

export function plus(a: Usage, b: Usage): Usage {
  const sum = noUsage();
  for (const key of KEYS) sum[key] = a[key] + b[key];
  return sum;
}

/** `a - b`, never below 0 (a CLI's running total, less what it had before this run). */
export function minus(a: Usage, b: Usage): Usage {
  const diff = noUsage();
  for (const key of KEYS) diff[key] = Math.max(0, a[key] - b[key]);
  return diff;
}

export const isZero = (usage: Usage) => KEYS.every((key) => usage[key] === 0);

/**
 * The message of an API error as a CLI passes it on: often the API's JSON body as text
 * (`{"error":{"message":...}}`), sometimes wrapped (`[API Error: {...}]`); the inner message when there is one.
 */
export function errorMessage(text: unknown): string {
  if (typeof text !== 'string') return text === undefined || text === null ? 'unknown error' : JSON.stringify(text);
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) {
    try {
      const body = JSON.parse(text.slice(start, end + 1));
      const inner = body?.error?.message ?? body?.message;
      if (typeof inner === 'string' && inner) return inner;
    } catch {
      // not JSON: the text as it is
    }
  }
  return text.trim() || 'unknown error';
}

type SessionStart = Extract<EventInput, { type: 'session_start' }>;
type Result = Extract<EventInput, { type: 'result' }>;

/** A run's opening events: which conversation of which CLI, and the prompt. */
export function opening(cli: CliName, sessionId: string | undefined, model: string | undefined, prompt: string) {
  const data: SessionStart['data'] & { cli: CliName; cli_session_id?: string } = { cli };
  if (sessionId) data.cli_session_id = sessionId;
  if (model) data.model = model;
  const events: EventInput[] = [
    { type: 'session_start', data },
    { type: 'message', data: { role: 'user', text: prompt } },
  ];
  return events;
}

export function resultEvent(fields: {
  isError: boolean;
  text: string | null;
  usage: Usage | null;
  costUsd?: number | undefined;
  turns: number;
  durationMs?: number | undefined;
  errors?: string[] | undefined;
}): Result {
  const data: Result['data'] = {
    is_error: fields.isError,
    text: fields.text,
    subtype: fields.isError ? 'error' : 'success',
  };
  data.num_turns = Math.min(fields.turns, 1_000_000);
  if (fields.durationMs !== undefined) data.duration_ms = count(fields.durationMs);
  if (fields.usage) data.usage = fields.usage;
  if (fields.costUsd !== undefined && Number.isFinite(fields.costUsd) && fields.costUsd >= 0)
    data.total_cost_usd = fields.costUsd;
  if (fields.errors?.length) data.errors = fields.errors;
  return { type: 'result', data };
}

/** A tool's output as text. */
export function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (output === undefined || output === null) return '';
  if (Array.isArray(output))
    return output.map((part: any) => (typeof part?.text === 'string' ? part.text : JSON.stringify(part))).join('\n');
  return JSON.stringify(output);
}
