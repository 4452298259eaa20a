/**
 * aof-sdk: launch, steer, watch and collect Claude Code agent sessions.
 *
 * ```ts
 * import { Orchestrator, NotFoundError } from 'aof-sdk';
 * const ao = new Orchestrator();
 * ```
 */
export { Orchestrator } from './orchestrator.js';
export {
  Sessions,
  type DiffOptions,
  type EventsStreamOptions,
  type ListOptions,
  type StreamOptions,
  type WaitOptions,
} from './resources/sessions.js';
export { Agents } from './resources/agents.js';
export { Approvals } from './resources/approvals.js';
export { Tokens, type Role, type Token, type TokenCreated } from './resources/tokens.js';
export { Audit, type AuditEntry, type AuditOutcome, type AuditPage, type AuditQuery } from './resources/audit.js';
export {
  Schedules,
  type Firing,
  type FiringOutcome,
  type Schedule,
  type ScheduleCreate,
  type ScheduleDetail,
} from './resources/schedules.js';
export { Triggers, type Trigger, type TriggerCreate, type TriggerDelivery } from './resources/triggers.js';
export { EventStream } from './event-stream.js';
export {
  DEFAULT_REGISTRY_URL,
  DEFAULT_RUNTIME_URL,
  ENV,
  resolveConfig,
  type FetchFunction,
  type OrchestratorOptions,
  type ResolvedConfig,
} from './config.js';
export {
  ApiError,
  ConflictError,
  ConnectionError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  OrchestratorError,
  ServerError,
  UnauthorizedError,
  WaitTimeoutError,
  errorClassFor,
  problemCode,
  PROBLEM_TYPE_PREFIX,
  type ApiErrorInit,
  type ServiceName,
} from './errors.js';
export { advise, endedRunAdvice, URL_VARIABLES, type Advice, type AdviceSubject, type ClientTerms } from './advice.js';
export { formatUsd, formatUsdTicks } from './money.js';
export { describePrincipal } from './principal.js';
export { isValidName, NAME_RULE } from './generated/rules.js';
export type * from './types.js';
