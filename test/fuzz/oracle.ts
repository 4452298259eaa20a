import { PROBLEM_CODES, problemType } from '../../servers/common/contract/problem-types.js';
import { contractOperations, deletesCollection, operationAt } from './contract-operations.js';
import type { FuzzRequest } from './requests.js';
import type { FuzzResponse } from './sender.js';

/** Statuses that say "your input is wrong" and so must name the field (`errors[].field`). */
const INPUT_ERRORS = new Set([400, 413, 415, 422, 431]);
const FIELD = /^(body|path|query|header)(\.|$)/;
/** A URI: a scheme, a colon, something (`urn:aof:problem:...`, `https://...`). */
const URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

const OPERATIONS = contractOperations();

/**
 * What the fuzz requires of every answer, whatever was sent: an answer (the server is alive), never
 * a 5xx, and every 4xx an RFC 9457 problem with a `type`; input errors name a field, and when the
 * request was wrong in one known place, a field in that place. A path that ends with `/` reaches no
 * operation, least of all one that deletes a whole collection (`DELETE /sessions/` is a request for
 * one session whose name came out empty). Pure: returns the violations.
 */
export function checkResponse(req: FuzzRequest, res: FuzzResponse): string[] {
  if (res.unsendable) return [];
  if (res.error) return [`no answer: ${res.error}`];
  const problems: string[] = [];
  const { status } = res;
  if (status >= 500) problems.push(`status ${status}`);
  else if (status < 200 || (status >= 300 && status < 400)) problems.push(`unexpected status ${status}`);
  if (req.refusedAs && status !== PROBLEM_CODES[req.refusedAs])
    problems.push(`${req.mutation} was answered ${status}, not ${PROBLEM_CODES[req.refusedAs]} (${req.refusedAs})`);
  if (status < 400) {
    if (req.mustRefuse) problems.push(`${req.mutation} was let through with ${status}`);
    const slashed = trailingSlash(req);
    if (slashed)
      problems.push(
        `${req.method} ${slashed} ends with / and was answered ${status}${reachedCollection(req, slashed)}`,
      );
    return problems;
  }

  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json'))
    problems.push(`a ${status} with content type '${type}', not application/problem+json`);
  if (req.method === 'HEAD') return problems;
  const body = res.json;
  if (!body || typeof body !== 'object') return [...problems, `a ${status} whose body is not a JSON object`];
  if (typeof body.type !== 'string' || !URI.test(body.type))
    problems.push(`problem type ${JSON.stringify(body.type)} is not a URI`);
  if (body.status !== status) problems.push(`problem status ${body.status} differs from the response's ${status}`);
  if (req.refusedAs && body.type !== problemType(req.refusedAs))
    problems.push(`problem type ${JSON.stringify(body.type)}, not ${problemType(req.refusedAs)}`);
  if (typeof body.title !== 'string' || !body.title) problems.push('problem without a title');
  if (INPUT_ERRORS.has(status)) {
    const fields: unknown[] = Array.isArray(body.errors) ? body.errors.map((e: { field?: unknown }) => e?.field) : [];
    if (!fields.length) problems.push(`a ${status} without errors[].field`);
    for (const field of fields)
      if (typeof field !== 'string' || !FIELD.test(field))
        problems.push(`errors[].field ${JSON.stringify(field)} names no place in the request`);
    if (req.mutation === 'valid' && status !== 422) problems.push(`a valid request was refused with ${status}`);
    if (
      req.blame.length &&
      status !== 422 &&
      !fields.some((f) => typeof f === 'string' && req.blame.some((b) => within(f, b)))
    ) {
      problems.push(`a ${status} naming ${JSON.stringify(fields)}, not ${req.blame.join(' or ')} (what was wrong)`);
    }
  }
  return problems;
}

/** `field` is `place` or inside it, or `place` is inside `field` (`body` for a broken `body.x`). */
function within(field: string, place: string): boolean {
  return field === place || field.startsWith(`${place}.`) || place.startsWith(`${field}.`);
}

/** The request's path when it ends with `/` (and is not `/`). */
function trailingSlash(req: FuzzRequest): string | undefined {
  if (req.op === 'raw') return undefined;
  const path = req.target.split('?')[0] ?? '';
  return path.length > 1 && path.endsWith('/') ? path : undefined;
}

/** Says so when `path` without its `/` is an operation that deletes a whole collection. */
function reachedCollection(req: FuzzRequest, path: string): string {
  const reached = operationAt(OPERATIONS, req.api, req.method, path.slice(0, -1));
  return reached && deletesCollection(reached.op)
    ? `: it reached ${reached.op.operationId}, which deletes the whole collection`
    : '';
}
