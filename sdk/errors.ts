import type { FieldError, Problem, ProblemCode } from './types.js';

/** The two servers, as named in error messages. */
export type ServiceName = 'Agent Runtime' | 'Agent Registry';

/** Base class of every error the SDK throws on purpose. */
export class OrchestratorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface ApiErrorInit {
  service: ServiceName;
  method: string;
  url: string;
  status: number;
  /** The problem+json body, or one made up when the body was not a problem (a proxy's HTML page, say). */
  problem: Problem;
  headers?: Headers;
}

/**
 * The server answered with an error status. `message` is the problem's `detail`, which the servers
 * write to be read by people ("Agent 'x' not found", "body.name: must match pattern ...").
 */
export class ApiError extends OrchestratorError {
  readonly service: ServiceName;
  /** HTTP status, e.g. 404. */
  readonly status: number;
  /**
   * What went wrong, for a program to switch on: the `<code>` of the problem's
   * `urn:aof:problem:<code>` type, e.g. `'session-busy'` (see ProblemCode). Undefined when the
   * answer did not come from an aof server (a proxy's error page, say).
   */
  readonly code: ProblemCode | (string & {}) | undefined;
  /** The RFC 9457 problem details the server sent. */
  readonly problem: Problem;
  /** One entry per offending field, e.g. `{ field: 'body.name', message: 'is required' }`; may be empty. */
  readonly errors: FieldError[];
  readonly detail: string | undefined;
  /** The request that failed. */
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;

  constructor(init: ApiErrorInit) {
    super(init.problem.detail || init.problem.title || `${init.method} ${init.url} failed with status ${init.status}`);
    this.service = init.service;
    this.status = init.status;
    this.code = problemCode(init.problem.type);
    this.problem = init.problem;
    this.errors = init.problem.errors ?? [];
    this.detail = init.problem.detail;
    this.method = init.method;
    this.url = init.url;
    this.headers = init.headers ?? new Headers();
  }

  /** The subclass that matches `init.status`. */
  static from(init: ApiErrorInit): ApiError {
    const Class = errorClassFor(init.status);
    return new Class(init);
  }
}

/** 400, 413, 415 or 422: the request itself is wrong; `errors` names the fields. */
export class InvalidRequestError extends ApiError {}
/** 401: a bearer token is missing or wrong (AGENT_ORCHESTRATOR_API_TOKEN). */
export class UnauthorizedError extends ApiError {}
/**
 * 403: refused, e.g. a foreign Host or Origin header, or (`code` `'out-of-scope'`) an agent's credential
 * used outside its own subtree.
 */
export class ForbiddenError extends ApiError {}
/** 404: no such session, agent or route. */
export class NotFoundError extends ApiError {}
/** 409: the name is taken, or the session is in the wrong state for this. */
export class ConflictError extends ApiError {}
/** 5xx: the server failed; see its log. */
export class ServerError extends ApiError {}

export function errorClassFor(status: number): typeof ApiError {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return InvalidRequestError;
    case 401:
      return UnauthorizedError;
    case 403:
      return ForbiddenError;
    case 404:
      return NotFoundError;
    case 409:
      return ConflictError;
    default:
      return status >= 500 ? ServerError : ApiError;
  }
}

export const PROBLEM_TYPE_PREFIX = 'urn:aof:problem:';

/** `'session-busy'` from `'urn:aof:problem:session-busy'`; undefined for any other type. */
export function problemCode(type: string | undefined): string | undefined {
  return type?.startsWith(PROBLEM_TYPE_PREFIX) && type.length > PROBLEM_TYPE_PREFIX.length
    ? type.slice(PROBLEM_TYPE_PREFIX.length)
    : undefined;
}

/**
 * The server could not be reached (not running, wrong URL) or the connection broke.
 * `cause` is the original error, e.g. `TypeError('fetch failed')` whose own `cause.code` is `ECONNREFUSED`.
 */
export class ConnectionError extends OrchestratorError {
  readonly service: ServiceName;
  /** The base URL that was tried. */
  readonly url: string;
  /** The system error code when there is one: ECONNREFUSED, ENOTFOUND, ECONNRESET, ... */
  readonly code: string | undefined;
  declare readonly cause: unknown;

  constructor(service: ServiceName, url: string, cause: unknown, message?: string) {
    const code = errorCode(cause);
    const reason = code ?? innermostMessage(cause);
    super(message ?? `Cannot connect to ${service} at ${url}${reason ? ` (${reason})` : ''}`, { cause });
    this.service = service;
    this.url = url;
    this.code = code;
  }
}

/** `sessions.waitForResult()` ran out of time before the session's last run ended. */
export class WaitTimeoutError extends OrchestratorError {
  readonly session: string;
  readonly timeoutMs: number;
  /** The last state seen. */
  readonly state: string | undefined;

  constructor(session: string, timeoutMs: number, state: string | undefined) {
    super(`Session '${session}' has not ended after ${seconds(timeoutMs)}${state ? ` (it is ${state})` : ''}`);
    this.session = session;
    this.timeoutMs = timeoutMs;
    this.state = state;
  }
}

/** 2000 → `2 s`, 1300 → `1.3 s`: the unit people give timeouts in. */
const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;

/** Walks `cause` chains (fetch wraps the socket error) for a `code` like ECONNREFUSED. */
function errorCode(error: unknown): string | undefined {
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
    const inner = (e as { errors?: unknown }).errors; // AggregateError from happy-eyeballs connects
    if (Array.isArray(inner)) {
      const found = inner.map(errorCode).find(Boolean);
      if (found) return found;
    }
  }
  return undefined;
}

function innermostMessage(error: unknown): string | undefined {
  let message: string | undefined;
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const m = (e as { message?: unknown }).message;
    if (typeof m === 'string' && m) message = m;
  }
  return message;
}
