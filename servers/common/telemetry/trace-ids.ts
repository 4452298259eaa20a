/**
 * What decides whether traces are on, and the ids of a run's span: plain functions, so that a process
 * with traces off never loads the OpenTelemetry SDK (tracing.ts is imported only when they are on).
 */
import { createHash } from 'node:crypto';

/**
 * On when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').every((e) => e.trim() === 'none')) return false;
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
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
