/**
 * Structured output in the runtime: a session's output schema (kept as JSON text, because nedb
 * refuses field names such as `$schema` or `$ref`), how a recorded answer moves its run, and the
 * parsed answer of a finished run.
 */
import { checkOutput, outputError, retryPrompt } from '../common/contract/output-schema.js';
import type { OutputRetry, StoredRun, StoredSession } from './session-store.js';
import { addUsage } from '../common/usage.js';

/** The session's output schema as an object, or null when it has none. */
export function outputSchemaOf(session: Pick<StoredSession, 'output_schema'>): object | null {
  return session.output_schema ? (JSON.parse(session.output_schema) as object) : null;
}

/** The schema as stored. */
export function storedOutputSchema(schema: object | null | undefined): string | null {
  return schema ? JSON.stringify(schema) : null;
}

/**
 * A successful answer that does not match the schema makes the run's outcome an error, with the
 * validation errors as its reason. A later answer in the same run (the retry) is judged afresh.
 */
export function judgeAnswer(session: StoredSession, run: StoredRun, text: string | null | undefined): void {
  const schema = outputSchemaOf(session);
  if (!schema || run.outcome !== 'success') return;
  const check = checkOutput(schema, text);
  if (check.valid) {
    run.error = null;
    return;
  }
  run.outcome = 'error';
  run.error = outputError(check.errors);
}

/** The answer of a finished run of a session with an output schema, parsed; null otherwise. */
export function resultJson(session: StoredSession, run: StoredRun): { result_json?: unknown } {
  const schema = outputSchemaOf(session);
  if (!schema) return {};
  if (run.state !== 'finished') return { result_json: null };
  const check = checkOutput(schema, run.result);
  return { result_json: check.valid ? check.value : null };
}

/**
 * The prompt of the one retry a run gets when its answer broke the output schema; null when the
 * answer is valid, was an error anyway, or the run already had its retry.
 */
export function retryFor(
  session: StoredSession,
  run: StoredRun,
  answer: { isError: boolean; text: string | null } | undefined,
): string | null {
  const schema = outputSchemaOf(session);
  if (!schema || run.retry || !answer || answer.isError) return null;
  const check = checkOutput(schema, answer.text);
  return check.valid ? null : retryPrompt(check.errors);
}

/** What the retry keeps of the first attempt, so the run's totals count both. */
export function startRetry(run: StoredRun, prompt: string, eventsBefore: number): OutputRetry {
  return {
    prompt,
    events_before: eventsBefore,
    usage: run.usage,
    cost_usd: run.cost_usd,
    num_turns: run.num_turns,
    duration_ms: run.duration_ms,
  };
}

/** After the retry's result: the run's usage, cost, turns and time are both attempts'. */
export function addFirstAttempt(run: StoredRun): void {
  const first = run.retry;
  if (!first) return;
  if (first.usage && run.usage) run.usage = addUsage({ ...run.usage }, first.usage);
  const add = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b);
  run.cost_usd = add(run.cost_usd, first.cost_usd);
  run.num_turns = add(run.num_turns, first.num_turns);
  run.duration_ms = add(run.duration_ms, first.duration_ms);
}
