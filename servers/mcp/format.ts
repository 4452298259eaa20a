/**
 * What the MCP tools answer with: text a model can act on, cut to a size it can take, and SDK errors
 * turned into tool errors that say what to do next (the SDK's advice, sdk/advice.ts, in the tools' terms).
 *
 * Every successful answer carries the same information twice: as text (`content`) and as
 * structured content. Clients differ in which one the model sees: Claude Code 2.1 hands the model
 * the structured content (as JSON) whenever there is some, and the text only for errors. So the
 * structured content is written for the model too: its `note` field says what to do next or why
 * the answer was cut, where the text would.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  advise,
  endedRunAdvice,
  ApiError,
  type AdviceSubject,
  type ClientTerms,
  type RunState,
  type Session,
  type SessionResult,
} from '../../sdk/index.js';

/** Results longer than this many characters are cut, with a note saying how to get the rest. */
export const DEFAULT_MAX_CHARS = 20_000;

/** The structured form of a run's outcome: start/resume (sync or async) and get_agent_session_result. */
export interface Outcome {
  [key: string]: unknown;
  name: string;
  run: number | null;
  state: RunState;
  /** The final answer (or the part of it from `offset`), null while there is none. */
  result: string | null;
  error: string | null;
  /** Where the part in `result` starts within the whole result. */
  offset: number;
  /** The whole result's length in characters. */
  total_chars: number;
  /** Where the next part starts when `result` was cut; null when it runs to the end. */
  next_offset: number | null;
  /** What to do next (a run still going, a cut result); null when there is nothing to add. */
  note: string | null;
}

/** A successful tool result: text for the model, plus structured content when the tool declares it. */
export function ok(text: string, structured?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured } : {}) };
}

/** A tool error (`isError: true`): the model reads the message; the server keeps going. */
export function toolError(message: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text: message }],
    isError: true,
    ...(structured ? { structuredContent: structured } : {}),
  };
}

/** A failure a tool has already explained: its message goes to the model as it is. */
export class ToolFailure extends Error {
  override name = 'ToolFailure';
}

/**
 * Runs a tool body; whatever it throws becomes a tool error with a message that says what to do.
 * Nothing a tool does can take the server down.
 */
export async function guarded(
  body: () => Promise<CallToolResult>,
  subject: AdviceSubject = {},
): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    return toolError(explain(error, subject));
  }
}

/** How the MCP tools name the next steps in the advice the SDK gives for each failure. */
export const MCP_TERMS: ClientTerms = {
  agent: 'Agent blueprint',
  startSession: () => 'start_agent_session',
  resumeSession: () => 'resume_agent_session',
  waitForSession: () => 'get_agent_session_status (wait_seconds)',
  sessionStatus: () => 'get_agent_session_status',
  sessionResult: () => 'get_agent_session_result',
  stopSession: () => 'stop_agent_session',
  sessionEvents: (name) => `\`ao-events ${name}\``,
  listSessions: 'list_agent_sessions',
  listAgents: 'list_agent_blueprints',
  activateAgent: (name) => `\`ao-activate-agent ${name}\``,
  projectDir: 'as project_dir',
  environment: " in this MCP server's environment",
};

/** The message for anything a tool throws: the SDK's advice for its errors, in the tools' terms. */
export function explain(error: unknown, subject: AdviceSubject = {}): string {
  if (error instanceof ToolFailure) return error.message;
  const advice = advise(error, MCP_TERMS, subject);
  if (advice) return advice.message;
  if (error instanceof Error) {
    if (error.name === 'AbortError') return 'The request was cancelled';
    return `Unexpected error: ${error.message}`;
  }
  return `Unexpected error: ${String(error)}`;
}

/** The problem code of an SDK error (`session-not-found`, ...), or undefined. */
export const problemCodeOf = (error: unknown): string | undefined =>
  error instanceof ApiError ? error.code : undefined;

/**
 * `text` from `offset`, at most `max` characters. A cut never splits a surrogate pair.
 */
export function page(text: string, offset: number, max: number): { part: string; offset: number; next: number | null } {
  const start = Math.min(Math.max(0, offset), text.length);
  let end = Math.min(text.length, start + max);
  if (end < text.length && end > start && isLowSurrogate(text.charCodeAt(end))) end--;
  return { part: text.slice(start, end), offset: start, next: end < text.length ? end : null };
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** The note appended to a cut result. */
export function truncationNote(name: string, total: number, next: number): string {
  return `… [truncated: ${total - next} more characters; the rest: get_agent_session_result with name="${name}" and offset=${next}; the full result: \`ao-get-result ${name}\` or GET /sessions/${name}/result]`;
}

/** The outcome of a session's run that has ended: text (the result, cut if long) and structure. */
export function resultOutcome(result: SessionResult, offset: number, max: number): CallToolResult {
  const full = result.result ?? '';
  const { part, offset: start, next } = page(full, offset, max);
  const cut = next === null ? null : truncationNote(result.name, full.length, next);
  const outcome: Outcome = {
    name: result.name,
    run: result.run,
    state: result.state,
    result: result.result === null ? null : part,
    error: result.error,
    offset: start,
    total_chars: full.length,
    next_offset: next,
    note: cut,
    // A session with an output schema: the validated answer as an object.
    ...('result_json' in result ? { result_json: result.result_json } : {}),
  };
  if (result.state !== 'finished') {
    const lines = [endedRunAdvice(result, MCP_TERMS)];
    // The CLI often repeats its error as the result text: show the answer only when it says more.
    if (part.trim() && part.trim() !== (result.error ?? '').trim()) lines.push('', 'Its last answer:', part);
    if (cut) lines.push(cut);
    return toolError(lines.join('\n'), { ...outcome, note: lines[0]! });
  }
  let text: string;
  if (full.length === 0) text = `(Session '${result.name}' finished run ${result.run} with an empty result)`;
  else if (start >= full.length)
    text = `(No more: the result of session '${result.name}' has ${full.length} characters, offset ${offset} is past its end)`;
  else text = part;
  if (cut) text += `\n\n${cut}`;
  if (!cut && (full.length === 0 || start >= full.length)) outcome.note = text;
  return ok(text, outcome);
}

/** The outcome of a run that has not ended yet (async start, a timed-out wait, a result asked too early). */
export function pendingOutcome(
  session: { name: string; state: RunState; run: number | null },
  text: string,
): CallToolResult {
  const outcome: Outcome = {
    name: session.name,
    run: session.run,
    state: session.state,
    result: null,
    error: null,
    offset: 0,
    total_chars: 0,
    next_offset: null,
    note: text,
  };
  return ok(text, outcome);
}

/**
 * The items of a list that fit in `max` characters of JSON (at least one), and how many were left
 * out: lists are cut like results, in the text and in the structured content alike.
 */
export function fitInChars<T>(items: T[], max: number): { shown: T[]; more: number } {
  let size = 0;
  let count = 0;
  for (const item of items) {
    size += JSON.stringify(item).length + 1;
    if (count > 0 && size > max) break;
    count++;
  }
  return { shown: items.slice(0, count), more: items.length - count };
}

/** The number of a session's last run. */
export const lastRun = (session: Session): number | null => session.runs.at(-1)?.number ?? null;

/** How to follow up a run that is still going. */
export function followUp(name: string): string {
  return `wait for it with get_agent_session_status (name="${name}", wait_seconds up to 300), then collect it with get_agent_session_result; stop it with stop_agent_session`;
}
