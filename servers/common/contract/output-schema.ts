/**
 * Output schemas: the JSON Schema a session's answers must match (blueprints and sessions carry
 * one). Checked when a blueprint or session is created, used by the runtime on every answer.
 *
 * Each schema gets its own Ajv instance: a user's schema may carry an `$id`, and one Ajv refuses a
 * second schema under an id it has seen. Compiled validators are kept by the schema's text.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { unprocessable } from './problem.js';
import { fieldErrors } from './validation.js';

// ajv-formats is CommonJS with a default export; NodeNext sees the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const compiled = new Map<string, ValidateFunction>();
const MAX_CACHED = 200;

/** The validator of `schema`; throws Ajv's error when it is not valid JSON Schema. */
export function compileOutputSchema(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    // An unknown keyword (a typo such as `requird`) is an error, not a silently ignored rule; Ajv's
    // other strict checks refuse valid JSON Schema (`required` without `properties`), so they are off.
    const ajv = new Ajv2020({
      allErrors: true,
      strictSchema: true,
      strictNumbers: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      validateFormats: true,
    });
    addFormats(ajv);
    // Checked against the meta-schema first, so the errors (one per keyword) come with the failure.
    if (!ajv.validateSchema(schema))
      throw Object.assign(new Error(`schema is invalid: ${ajv.errorsText(ajv.errors)}`), { errors: ajv.errors });
    validate = ajv.compile(schema);
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, validate);
  }
  return validate;
}

/** Refuses (422 naming `field`) a schema that is not valid JSON Schema. */
export function checkOutputSchema(schema: object | null | undefined, field: string): void {
  if (schema === undefined || schema === null) return;
  try {
    compileOutputSchema(schema);
  } catch (error) {
    throw unprocessable(field, `is not a valid JSON Schema: ${schemaProblem(error)}`);
  }
}

/**
 * What is wrong with a schema, in the schema's own words (`type must be one of: ...`), from Ajv's
 * compile error: its meta-schema errors (one per keyword), or its strict-mode refusal.
 */
function schemaProblem(error: unknown): string {
  const { errors, message } = error as { errors?: ErrorObject[] | null; message?: string };
  if (errors?.length) {
    const byKeyword = new Map<string, string>();
    for (const e of fieldErrors('schema', errors)) {
      const where = e.field.replace(/^schema\.?/, '') || 'the schema';
      if (!byKeyword.has(where)) byKeyword.set(where, `${where} ${e.message}`);
    }
    return [...byKeyword.values()].join('; ');
  }
  const unknown = /unknown keyword: "([^"]+)"/.exec(message ?? '');
  if (unknown) return `unknown keyword '${unknown[1]}' (a typo? JSON Schema 2020-12 keywords only)`;
  return (message ?? String(error)).replace(/^strict mode: /, '');
}

export type OutputCheck = { valid: true; value: unknown } | { valid: false; errors: string[] };

/**
 * Parses an agent's answer as JSON and validates it against `schema`. The answer may be the JSON
 * alone or a fenced code block holding it (models often fence JSON despite being told not to).
 */
export function checkOutput(schema: object, text: string | null | undefined): OutputCheck {
  const value = parseAnswer(text ?? '');
  if (value === undefined)
    return { valid: false, errors: ['the answer is not JSON (expected only a JSON value, with no other text)'] };
  const validate = compileOutputSchema(schema);
  if (validate(value)) return { valid: true, value };
  return { valid: false, errors: describeErrors(validate.errors) };
}

function parseAnswer(text: string): unknown {
  const candidates = [text.trim()];
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n?```/i.exec(text);
  if (fenced) candidates.push(fenced[1]!.trim());
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      return JSON.parse(candidate);
    } catch {
      // try the next form
    }
  }
  return undefined;
}

/** Ajv's errors as lines a model (and a person) can act on: `/items/0/name must be string`. */
function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  const lines = (errors ?? []).map((error) => {
    const where = error.instancePath || '(the answer)';
    if (error.keyword === 'required')
      return `${where} must have the property '${String(error.params.missingProperty)}'`;
    if (error.keyword === 'additionalProperties')
      return `${where} must not have the property '${String(error.params.additionalProperty)}'`;
    if (error.keyword === 'enum')
      return `${where} must be one of: ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    return `${where} ${error.message ?? 'is invalid'}`;
  });
  return [...new Set(lines)].slice(0, 20);
}

/** What the agent is told on every run of a session with an output schema. */
export function outputInstruction(schema: object): string {
  return [
    'Your final answer must be a single JSON value and nothing else (no prose, no code fence),',
    'valid against this JSON Schema:',
    JSON.stringify(schema),
  ].join('\n');
}

/** The prompt of the one retry after an answer that did not validate. */
export function retryPrompt(errors: string[]): string {
  return [
    'Your final answer does not match the required JSON Schema:',
    ...errors.map((error) => `- ${error}`),
    'Answer again with only the corrected JSON value.',
  ].join('\n');
}

/** The run's error when the answer still does not validate. */
export function outputError(errors: string[]): string {
  return `The answer does not match the output schema: ${errors.join('; ')}`;
}
