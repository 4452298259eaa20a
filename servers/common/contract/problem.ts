/** An error that becomes an RFC 9457 problem+json response. Thrown where it arises, rendered in one place. */
import {
  defaultProblemCode,
  PROBLEM_CODES,
  PROBLEM_TYPE_PREFIX,
  problemType,
  type ProblemCode,
} from './problem-types.js';

export type { ProblemCode } from './problem-types.js';

export interface FieldError {
  field: string;
  message: string;
}

const TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Request body too large',
  415: 'Unsupported media type',
  422: 'Unprocessable request',
  500: 'Internal server error',
  502: 'Bad gateway',
  503: 'Service unavailable',
};

export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  /** What went wrong, for programs: one of the contract's ProblemCode values. */
  readonly code: ProblemCode;
  /** `urn:aof:problem:<code>`. */
  readonly type: string;
  /** For a refusal: the operationId refused (set where requests are routed, servers/common/http/operations.ts). */
  operation: string | undefined;

  /** `type` is kept for callers written before codes: a `urn:aof:problem:<code>` type sets the code. */
  constructor(
    status: number,
    detail: string,
    options: { errors?: FieldError[]; code?: ProblemCode; type?: string; title?: string } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.title = options.title ?? TITLES[status] ?? 'Error';
    this.errors = options.errors;
    const fromType = options.type?.startsWith(PROBLEM_TYPE_PREFIX)
      ? (options.type.slice(PROBLEM_TYPE_PREFIX.length) as ProblemCode)
      : undefined;
    this.code = options.code ?? (fromType && fromType in PROBLEM_CODES ? fromType : defaultProblemCode(status));
    this.type = problemType(this.code);
  }

  toJSON(instance?: string) {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...(this.operation ? { operation: this.operation } : {}),
      ...(this.errors?.length ? { errors: this.errors } : {}),
    };
  }
}

export const invalid = (field: string, message: string, code?: ProblemCode) =>
  new HttpProblem(400, `${field}: ${message}`, { errors: [{ field, message }], ...(code ? { code } : {}) });
export const notFound = (detail: string, code?: ProblemCode) => new HttpProblem(404, detail, code ? { code } : {});
export const conflict = (detail: string, code?: ProblemCode) => new HttpProblem(409, detail, code ? { code } : {});
export const unprocessable = (field: string, message: string, code?: ProblemCode) =>
  new HttpProblem(422, `${field}: ${message}`, { errors: [{ field, message }], ...(code ? { code } : {}) });
