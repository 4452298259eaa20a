/**
 * OpenTelemetry traces, exported over OTLP (HTTP, JSON) by the OpenTelemetry JS SDK. Imported only
 * when `tracingEnabled()` (trace-ids.ts) says the standard variables turn them on; the exporter reads
 * the other OTEL_* variables itself (headers, timeout, batch delay).
 */
import {
  ROOT_CONTEXT,
  type Context,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator } from '@opentelemetry/sdk-trace-base';

/** A server span of one HTTP request; `end` names it by its route once routed. */
export interface RequestSpan {
  /** The trace the request's span is in (the log lines written while handling it name it). */
  traceId: string;
  end(fields: { route: string | undefined; status: number; operation: string; requestId: string }): void;
}

export interface Tracing {
  tracer: Tracer;
  /** Starts the server span of a request, under the caller's `traceparent` when well-formed. */
  requestSpan(method: string, path: string, traceparent: string | undefined): RequestSpan;
  /** Starts a span under ids chosen by the caller (a run's, derived from the stored run, see `runIds`). */
  withIds<T>(ids: { traceId: string; spanId: string }, start: () => T): T;
  /** Sends what is buffered and stops. */
  close(): Promise<void>;
}

/** Ids that a span takes while `next` is set (spans start synchronously), random ones otherwise. */
class PresetIds extends RandomIdGenerator {
  next: { traceId: string; spanId: string } | undefined;
  override generateTraceId = (): string => this.next?.traceId ?? new RandomIdGenerator().generateTraceId();
  override generateSpanId = (): string => this.next?.spanId ?? new RandomIdGenerator().generateSpanId();
}

/** Tracing for one server (`service.name`: OTEL_SERVICE_NAME, else `name`). */
export function startTracing(name: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  const ids = new PresetIds();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || name }),
    idGenerator: ids,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  const tracer = provider.getTracer('aof');
  return {
    tracer,
    withIds(preset, start) {
      ids.next = preset;
      try {
        return start();
      } finally {
        ids.next = undefined;
      }
    },
    requestSpan(method, path, traceparent) {
      const span = tracer.startSpan(
        method,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } },
        parentFromHeader(traceparent),
      );
      return {
        traceId: span.spanContext().traceId,
        end({ route, status, operation, requestId }) {
          if (route) span.updateName(`${method} ${route}`).setAttribute('http.route', route);
          span.setAttributes({
            'http.response.status_code': status,
            'aof.operation': operation,
            'aof.request_id': requestId,
          });
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    close: () => provider.shutdown(),
  };
}

/** A context whose parent is the given span (a run's, which is exported when the run ends). */
export function underSpan(ids: { traceId: string; spanId: string }): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { ...ids, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

/** The parent named by a request's `traceparent` header, when well-formed. */
export function parentFromHeader(header: string | undefined): Context {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header?.trim() ?? '');
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16) & 1,
    isRemote: true,
  });
}
