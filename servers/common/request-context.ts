import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What a log line written while handling an HTTP request says about it. */
export interface RequestContext {
  /** The request's id: the caller's `X-Request-Id` when well-formed, else a new UUID; sent back in that header. */
  requestId: string;
  /** The trace of the request's server span, when traces are on. */
  traceId?: string;
  /** The contract's operationId, once the request is routed. */
  operation?: string;
  /** The session the request is about (the runtime's `/sessions/{name}/...`). */
  session?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The request being handled here, if any (also in the work it started and awaits). */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

export function withRequest<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** A proxy's or a client's id is kept when it is short and plain (it goes into logs and a header). */
const GIVEN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(given: string | undefined): string {
  return given && GIVEN_ID.test(given) ? given : randomUUID();
}

/** Names the routed operation (and, on the runtime, the session it is about) in the request's context. */
export function noteOperation(operation: string, session: string | undefined): void {
  const context = storage.getStore();
  if (!context) return;
  context.operation = operation;
  if (session !== undefined) context.session = session;
}
