/**
 * Spans of runs (OpenTelemetry GenAI conventions): one `invoke_agent {blueprint}` span per run, with
 * `aof.session` and `aof.run`, from its start to its end; one `execute_tool {tool}` child span per tool
 * call, from its `pre_tool` to its `post_tool` event; a child session's run links to the run of its
 * parent that was going when the child was made. Every id comes from the stored run (tracing.ts
 * `runIds`), so the span the agent's TRACEPARENT names is the one exported at the run's end, by
 * whichever process records it.
 */
import { type Link, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import type { Logger } from '../common/logger.js';
import { runIds } from '../common/telemetry/trace-ids.js';
import { type Tracing, underSpan } from '../common/telemetry/tracing.js';
import type { RunObserver } from './runtime-metrics.js';
import type { Event, StoredRun, StoredSession } from './session-store.js';

/** Tool calls whose end is awaited, at most (the oldest are forgotten: their span then starts at its end). */
const MAX_OPEN_TOOLS = 10_000;

export class RunTracing implements RunObserver {
  private readonly openTools = new Map<string, { at: string; tool: string }>();

  constructor(
    private readonly tracing: Tracing,
    private readonly findSession: (name: string) => Promise<StoredSession | null>,
    private readonly logger: Logger,
  ) {}

  started(): void {}
  firstEvent(): void {}

  recorded(session: StoredSession, run: StoredRun, events: Event[]): void {
    for (const event of events) {
      const data = event.data as { tool_use_id?: string; tool?: string; is_error?: boolean };
      if (!data.tool_use_id) continue;
      const key = `${session.name}\0${data.tool_use_id}`;
      if (event.type === 'pre_tool') {
        if (this.openTools.size >= MAX_OPEN_TOOLS) this.openTools.delete(this.openTools.keys().next().value!);
        this.openTools.set(key, { at: event.at, tool: data.tool ?? 'unknown' });
      } else if (event.type === 'post_tool') {
        const opened = this.openTools.get(key);
        this.openTools.delete(key);
        const tool = data.tool ?? opened?.tool ?? 'unknown';
        const span = this.tracing.tracer.startSpan(
          `execute_tool ${tool}`,
          {
            kind: SpanKind.INTERNAL,
            startTime: new Date(opened?.at ?? event.at),
            attributes: {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': tool,
              'gen_ai.tool.call.id': data.tool_use_id,
              'aof.session': session.name,
              'aof.run': run.number,
            },
          },
          underSpan(runIds(session, run.number)),
        );
        if (data.is_error) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end(new Date(event.at));
      }
    }
  }

  ended(session: StoredSession, run: StoredRun): void {
    this.endRun(session, run).catch((error: Error) =>
      this.logger.warn(`tracing: no span for run ${run.number} of session '${session.name}': ${error.message}`, {
        session: session.name,
        run: run.number,
      }),
    );
  }

  private async endRun(session: StoredSession, run: StoredRun): Promise<void> {
    const links: Link[] = [];
    if (session.parent) {
      const parent = await this.findSession(session.parent);
      const parentRun = parent && [...parent.runs].reverse().find((r) => r.queued_at <= session.created_at);
      if (parent && parentRun)
        links.push({
          context: { ...runIds(parent, parentRun.number), traceFlags: TraceFlags.SAMPLED, isRemote: true },
          attributes: { 'aof.session': parent.name, 'aof.run': parentRun.number },
        });
    }
    const blueprint = session.agent ?? 'claude-code';
    const usage = run.usage;
    const model = session.model ?? session.blueprint?.model;
    const span = this.tracing.withIds(runIds(session, run.number), () =>
      this.tracing.tracer.startSpan(
        `invoke_agent ${blueprint}`,
        {
          kind: SpanKind.INTERNAL,
          startTime: new Date(run.started_at ?? run.queued_at),
          links,
          attributes: {
            'gen_ai.operation.name': 'invoke_agent',
            'gen_ai.provider.name': 'anthropic',
            'gen_ai.agent.name': blueprint,
            ...(model ? { 'gen_ai.request.model': model } : {}),
            ...(session.claude_session_id ? { 'gen_ai.conversation.id': session.claude_session_id } : {}),
            ...(usage
              ? { 'gen_ai.usage.input_tokens': usage.input_tokens, 'gen_ai.usage.output_tokens': usage.output_tokens }
              : {}),
            'aof.session': session.name,
            'aof.run': run.number,
            'aof.state': run.state,
            ...(session.parent ? { 'aof.parent': session.parent } : {}),
          },
        },
        ROOT_CONTEXT,
      ),
    );
    if (run.state !== 'finished') span.setStatus({ code: SpanStatusCode.ERROR, message: run.error ?? run.state });
    span.end(new Date(run.ended_at ?? Date.now()));
  }
}
