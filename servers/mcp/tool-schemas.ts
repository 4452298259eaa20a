/**
 * The schema pieces several tools share. Their descriptions and error messages are what the model
 * reads: the inputs (a session name, a prompt, async and its timeout) and the answers (a run's
 * outcome, the note on what to do next).
 */
import { z } from 'zod';
import { NAME_RULE as CONTRACT_NAME, RUN_STATES } from '../../sdk/generated/rules.js';

export const NAME_PATTERN = new RegExp(CONTRACT_NAME.pattern);
export const NAME_RULE = "1 to 60 letters, digits, '_' or '-', starting with a letter or digit";
const DEFAULT_TIMEOUT_SECONDS = 300;
const MAX_TIMEOUT_SECONDS = 3600;

/* ---------- Input schemas: their descriptions are what the model reads ---------- */

const required = (what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined ? `${what} is required` : `${what} must be a string`,
});

export const sessionName = (description: string) =>
  z
    .string(required('name'))
    .regex(NAME_PATTERN, { error: `Invalid session name: use ${NAME_RULE}` })
    .max(60, { error: `Invalid session name: use ${NAME_RULE}` })
    .describe(description);

export const prompt = (description: string) =>
  z
    .string(required('prompt'))
    .max(1_000_000, { error: 'prompt is longer than 1,000,000 characters' })
    .regex(/\S/, { error: 'prompt is empty: say what the agent should do' })
    .describe(description);

export const asyncFlag = z
  .boolean()
  .default(false)
  .describe(
    'false (default): wait for the run to end and return its result. true: return at once while the session works in the background; follow it with get_agent_session_status and get_agent_session_result.',
  );

export const timeoutSeconds = z
  .number()
  .int()
  .min(1)
  .max(MAX_TIMEOUT_SECONDS)
  .default(DEFAULT_TIMEOUT_SECONDS)
  .describe(
    `Without async: how long to wait for the result, in seconds (1 to ${MAX_TIMEOUT_SECONDS}, default ${DEFAULT_TIMEOUT_SECONDS}). When it runs out the session keeps working; the answer then says how to follow it up.`,
  );

/* ---------- Output schemas (structured content; Claude Code shows the model this, not the text) ---------- */

export const NOTE = z
  .string()
  .nullable()
  .describe('What to do next, or why the answer was cut; null when there is nothing to add');

export const outcomeSchema = z.object({
  name: z.string(),
  run: z.number().int().nullable().describe('The run number: 1 for the first, then 2, 3, ...'),
  state: z.enum(RUN_STATES),
  result: z
    .string()
    .nullable()
    .describe("Claude's final answer, or the part of it from `offset`; null while the run has not ended"),
  error: z.string().nullable().describe('Why the run failed or was stopped'),
  offset: z.number().int(),
  total_chars: z.number().int(),
  next_offset: z
    .number()
    .int()
    .nullable()
    .describe('Where the rest starts when `result` was cut (pass it as offset to get_agent_session_result)'),
  note: NOTE,
  result_json: z
    .unknown()
    .optional()
    .describe(
      'Only for a session with an output_schema: the answer parsed as JSON and valid against the schema (null unless finished)',
    ),
});
