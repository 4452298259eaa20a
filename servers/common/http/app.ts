import { performance } from 'node:perf_hooks';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { contractRouter, ContractViolation, type AfterOperation, type Authorize, type Handlers } from './operations.js';
import { HttpProblem } from '../contract/problem.js';
import { securityGuard, type SecurityOptions } from './security.js';
import type { OpenApiDocument } from '../contract/openapi-document.js';
import type { Logger } from '../logger.js';
import { contract, registryDocument, runtimeDocument } from '../contract/contract.js';
import type { ServerMetrics } from '../telemetry/metrics.js';
import type { Tracing } from '../telemetry/tracing.js';
import { type RequestContext, requestIdOf, withRequest } from '../request-context.js';

export const BODY_LIMIT_BYTES = 2 * 1024 * 1024;
export const BODY_LIMIT = `${BODY_LIMIT_BYTES / 1024 / 1024}mb`;

export interface AppOptions<Ops> {
  api: 'registry' | 'runtime';
  handlers: Handlers<Ops>;
  security: SecurityOptions;
  /** Who may make which request (the caller is `principalOf(input.ctx)`); everyone may when absent. */
  authorize?: Authorize;
  /** Told of every routed request once handled (the runtime's audit log). */
  afterOperation?: AfterOperation;
  logger: Logger;
  /** Counts requests by operation and status, with their latency. */
  metrics?: ServerMetrics | undefined;
  /** One server span per request, when traces are on. */
  tracing?: Tracing | undefined;
  /** Served after the security checks and before the API (the dashboard's files, the registry proxy). */
  extras?: Koa.Middleware[];
}

/** A Koa app serving one OpenAPI document: security, JSON parsing, validation and problem+json errors. */
export function createApp<Ops>(options: AppOptions<Ops>): Koa {
  const document: OpenApiDocument = options.api === 'registry' ? registryDocument : runtimeDocument;
  const app = new Koa();
  const router = contractRouter<Ops>(
    options.api,
    document,
    contract,
    options.handlers,
    options.authorize,
    options.afterOperation,
  );

  app.use(observeRequests(options.logger, options.metrics, options.tracing));
  app.use(problemResponses(options.logger));
  app.use(securityGuard(options.security));
  for (const extra of options.extras ?? []) app.use(extra);
  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: BODY_LIMIT,
      jsonStrict: true,
      onError(error) {
        const status = (error as { status?: number }).status;
        if (status === 413) {
          throw new HttpProblem(413, `The request body is larger than ${BODY_LIMIT}`, {
            errors: [{ field: 'body', message: `is larger than ${BODY_LIMIT}` }],
          });
        }
        if (status === 415) {
          // The parser raises 415 only for a Content-Encoding it cannot decode.
          throw new HttpProblem(415, error.message, {
            errors: [{ field: 'header.content-encoding', message: 'is not supported' }],
          });
        }
        throw new HttpProblem(400, `The request body is not valid JSON: ${error.message}`, {
          errors: [{ field: 'body', message: 'is not valid JSON' }],
        });
      },
    }),
  );
  app.use(router.routes());
  app.use((ctx) => {
    const methods = new Set(router.match(ctx.path, ctx.method).path.flatMap((layer) => layer.methods));
    if (methods.size) {
      ctx.set('Allow', [...methods].join(', '));
      throw new HttpProblem(405, `${ctx.method} is not allowed on ${ctx.path}; use ${[...methods].join(', ')}`);
    }
    // A path never ends with `/`: the usual cause is a name that came out empty (`$URL/sessions/$NAME`).
    const hint = ctx.path.length > 1 && ctx.path.endsWith('/') ? ' (no path ends with /: is a name missing?)' : '';
    throw new HttpProblem(404, `No route ${ctx.method} ${ctx.path}${hint}`);
  });

  app.on('error', (error: NodeJS.ErrnoException) => {
    // A client that goes away while a stream is open is not a server error.
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
    // Nor is a body that is not well-formed HTTP (a broken chunk): the client got a 400.
    if (error.code?.startsWith('HPE_')) return;
    options.logger.error('unhandled', error);
  });
  return app;
}

/**
 * Gives each request an id (the caller's `X-Request-Id` when well-formed), sent back in that header and
 * added to every log line written while handling it; then counts it by operation and status.
 */
function observeRequests(
  logger: Logger,
  metrics: ServerMetrics | undefined,
  tracing: Tracing | undefined,
): Koa.Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const span = tracing?.requestSpan(ctx.method, ctx.path, ctx.get('traceparent') || undefined);
    const requestId = requestIdOf(ctx.get('x-request-id') || undefined);
    ctx.set('X-Request-Id', requestId);
    const context: RequestContext = { requestId, ...(span ? { traceId: span.traceId } : {}) };
    try {
      await withRequest(context, next);
    } finally {
      // Routed requests are named by their operationId; the rest (files, 404s) share one label.
      const operation = (ctx as { _matchedRouteName?: string })._matchedRouteName ?? 'other';
      const seconds = (performance.now() - started) / 1000;
      metrics?.observeRequest(operation, ctx.status, seconds);
      span?.end({
        route: (ctx as { _matchedRoute?: string })._matchedRoute,
        status: ctx.status,
        operation,
        requestId,
      });
      logger.request?.({
        request_id: requestId,
        trace_id: context.traceId,
        session: context.session,
        method: ctx.method,
        path: ctx.path,
        operation,
        status: ctx.status,
        duration_ms: Math.round(seconds * 1e4) / 10,
      });
    }
  };
}

function problemResponses(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (caught) {
      let problem: HttpProblem;
      if (caught instanceof HttpProblem) {
        problem = caught;
      } else if (isHttpError(caught) && caught.status < 500) {
        // Errors raised by Koa and the router themselves (405 and the like).
        problem = new HttpProblem(caught.status, caught.message);
        if (caught.headers) ctx.set(caught.headers);
      } else {
        const what = caught instanceof ContractViolation ? 'contract violation' : 'internal error';
        logger.error(`${what} on ${ctx.method} ${ctx.path}`, caught);
        problem = new HttpProblem(500, 'The server failed to handle this request; see its log');
      }
      ctx.status = problem.status;
      ctx.type = 'application/problem+json';
      ctx.body = problem.toJSON(ctx.path);
    }
  };
}

function isHttpError(value: unknown): value is { status: number; message: string; headers?: Record<string, string> } {
  return typeof value === 'object' && value !== null && typeof (value as { status?: unknown }).status === 'number';
}
