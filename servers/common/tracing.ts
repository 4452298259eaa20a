/**
 * OpenTelemetry traces, exported over OTLP (HTTP, JSON) by the OpenTelemetry JS SDK. Off unless the
 * standard variables turn them on: `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * set, and neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`. The exporter reads the
 * other OTEL_* variables itself (headers, timeout, batch delay).
 */
import { createHash } from 'node:crypto';
import { ROOT_CONTEXT, type Context, type Tracer, trace, TraceFlags } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator } from '@opentelemetry/sdk-trace-base';

export interface Tracing {
  tracer: Tracer;
  /** Starts a span under ids chosen by the caller (a run's, derived from the stored run, see `runIds`). */
  withIds<T>(ids: { traceId: string; spanId: string }, start: () => T): T;
  /** Sends what is buffered and stops. */
  close(): Promise<void>;
}

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').every((e) => e.trim() === 'none')) return false;
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Ids that a span takes while `next` is set (spans start synchronously), random ones otherwise. */
class PresetIds extends RandomIdGenerator {
  next: { traceId: string; spanId: string } | undefined;
  override generateTraceId = (): string => this.next?.traceId ?? new RandomIdGenerator().generateTraceId();
  override generateSpanId = (): string => this.next?.spanId ?? new RandomIdGenerator().generateSpanId();
}

/** Tracing for one server (`service.name`: OTEL_SERVICE_NAME, else `name`), or undefined when off. */
export function startTracing(name: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (!tracingEnabled(env)) return undefined;
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
    close: () => provider.shutdown(),
  };
}

/**
 * The trace and span ids of a run, derived from what is stored about it, so that every process (the
 * runtime that starts it, the runner that runs it, the replica that records its end) names the same
 * span: each run is a trace of its own, its span the root.
 */
export function runIds(
  session: { name: string; created_at: string },
  run: number,
): { traceId: string; spanId: string } {
  const digest = createHash('sha256').update(`${session.name}\0${session.created_at}\0${run}`).digest('hex');
  return { traceId: digest.slice(0, 32), spanId: digest.slice(32, 48) };
}

/** The W3C `traceparent` of a run's span: what its agent gets as TRACEPARENT, so its own spans nest under it. */
export function runTraceparent(session: { name: string; created_at: string }, run: number): string {
  const { traceId, spanId } = runIds(session, run);
  return `00-${traceId}-${spanId}-01`;
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
