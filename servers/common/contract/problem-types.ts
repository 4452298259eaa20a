/**
 * Every kind of problem the servers answer with, as the `<code>` of `urn:aof:problem:<code>`. The
 * contract lists the same codes (`ProblemCode` in openapi/registry.yaml); `satisfies` below makes
 * the compiler check that the two lists are the same, both ways.
 */
import type { components } from '../../../sdk/generated/registry.js';

export type ProblemCode = components['schemas']['ProblemCode'];

/** The status each code is usually sent with (agent-not-found is also 422 when a session names it). */
export const PROBLEM_CODES = {
  'invalid-request': 400,
  unauthorized: 401,
  'forbidden-host': 403,
  'forbidden-origin': 403,
  forbidden: 403,
  'out-of-scope': 403,
  'not-found': 404,
  'session-not-found': 404,
  'agent-not-found': 404,
  'approval-not-found': 404,
  'schedule-not-found': 404,
  'trigger-not-found': 404,
  'file-not-found': 404,
  'method-not-allowed': 405,
  'session-exists': 409,
  'agent-exists': 409,
  'session-busy': 409,
  'session-not-ended': 409,
  'run-not-last': 409,
  'run-ended': 409,
  'no-conversation': 409,
  'branch-exists': 409,
  'approval-answered': 409,
  conflict: 409,
  'lease-lost': 409,
  'runner-version': 409,
  'schedule-exists': 409,
  'trigger-exists': 409,
  'run-spec-version': 409,
  'no-worktree': 409,
  'branch-checked-out': 409,
  'merge-conflict': 409,
  'nothing-to-merge': 409,
  'push-refused': 409,
  'github-not-configured': 409,
  'pull-request-refused': 409,
  'login-link-invalid': 403,
  unsupported: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'project-dir-invalid': 422,
  'agent-inactive': 422,
  'parent-not-found': 422,
  'parent-cycle': 422,
  'webhook-not-allowed': 422,
  unprocessable: 422,
  'branch-not-found': 422,
  'remote-not-found': 422,
  'internal-error': 500,
  'github-unavailable': 502,
  'registry-unavailable': 503,
  'database-unavailable': 503,
  'service-unavailable': 503,
} as const satisfies Record<ProblemCode, number>;

/** The code of a problem raised without one: the generic kind for its status. */
const BY_STATUS: Record<number, ProblemCode> = {
  400: 'invalid-request',
  401: 'unauthorized',
  404: 'not-found',
  405: 'method-not-allowed',
  403: 'forbidden',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'unprocessable',
  503: 'service-unavailable',
};

export const PROBLEM_TYPE_PREFIX = 'urn:aof:problem:';

export function defaultProblemCode(status: number): ProblemCode {
  return BY_STATUS[status] ?? (status >= 500 ? 'internal-error' : 'invalid-request');
}

export const problemType = (code: ProblemCode) => `${PROBLEM_TYPE_PREFIX}${code}`;
