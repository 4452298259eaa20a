/**
 * What `ao-new` and `ao-resume` share: waiting for the run they started, showing its tool calls
 * on stderr while it works, and printing its outcome.
 */
import { clause } from '../../sdk/advice.js';
import type { Orchestrator, Session, SessionResult } from '../../sdk/index.js';
import { CLI_TERMS, CliError, stringOption, type Context, type Options } from './cli.js';
import { formatToolCall } from './format.js';

/** Options of every command that waits for a run. */
export const WAIT_OPTIONS = [
  {
    name: 'verbose',
    type: 'boolean',
    description: 'Show the tool calls on stderr as they happen (the default when stderr is a terminal)',
  },
  { name: 'quiet', type: 'boolean', description: 'Never show tool calls' },
  {
    name: 'timeout',
    type: 'string',
    value: 'SECONDS',
    description: 'Stop waiting after this long (the run keeps going); exit 1',
  },
] as const;

/** Options both ao-new and ao-resume take besides the prompt. */
export const RUN_OPTIONS = [
  {
    name: 'async',
    type: 'boolean',
    description: 'Return as soon as the run is queued; check it with ao-status, collect it with ao-get-result',
  },
  ...WAIT_OPTIONS,
] as const;

/** How a command waits, from WAIT_OPTIONS; checked before anything is created. */
export interface WaitSettings {
  async: boolean;
  timeoutMs: number | undefined;
  progress: boolean;
}

/** Checks and reads the wait options; a bad value is a usage error before any request. */
export function waitSettings(flags: Options): WaitSettings {
  return {
    async: flags.async === true,
    timeoutMs: parseTimeout(flags),
    progress: !flags.quiet && (flags.verbose === true || process.stderr.isTTY === true),
  };
}

/** After the session was created or resumed: wait (unless --async) and print the outcome. */
export async function finishRun(
  ctx: Context,
  ao: Orchestrator,
  session: Session,
  settings: WaitSettings,
): Promise<void> {
  const name = session.name;
  const run = session.runs.at(-1)?.number ?? 1;
  if (settings.async) {
    if (ctx.json) ctx.outJson(session);
    else
      ctx.out(
        `Session '${name}' ${session.state} (run ${run}) — check it with ao-status ${name}, collect it with ao-get-result ${name}`,
      );
    return;
  }
  await printResult(ctx, await waitForRun(ctx, ao, name, run, settings));
}

function parseTimeout(options: Options): number | undefined {
  const raw = stringOption(options, 'timeout');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(seconds) || seconds <= 0)
    throw new CliError(`--timeout must be a number of seconds greater than 0, not '${raw}'`, 'usage');
  return Math.round(seconds * 1000);
}

/** How long a wait keeps retrying a runtime that does not answer (the SDK's default). */
const RECONNECT_MS = 300_000;

/**
 * Waits for run `run` to end. With progress (--verbose, or stderr a terminal), follows the
 * session's events and prints each tool call as it starts; otherwise (and when the event stream
 * breaks) long-polls the status, which rides out a runtime restart. Ctrl-C stops waiting, not the run.
 */
export async function waitForRun(
  ctx: Context,
  ao: Orchestrator,
  name: string,
  run: number,
  settings: WaitSettings,
): Promise<SessionResult> {
  ctx.about({ session: name, waiting: true });
  const controller = new AbortController();
  const onInterrupt = () =>
    controller.abort(
      new CliError(
        `Stopped waiting; session '${name}' keeps running — check it with ao-status ${name}, stop it with ao-stop ${name}`,
        'interrupted',
      ),
    );
  process.once('SIGINT', onInterrupt);
  const { WaitTimeoutError } = await import('../../sdk/index.js');
  // Explained like the SDK's own timeout, by the advice for it.
  const timer =
    settings.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => controller.abort(new WaitTimeoutError(name, settings.timeoutMs!, undefined)),
          settings.timeoutMs,
        );
  const sdk = await import('../../sdk/index.js');
  // On a terminal (or with --verbose): say when the runtime stops answering, and until when the wait
  // keeps retrying; say when it answers again.
  let retryingUntil: Date | undefined;
  const unreachable = (error: unknown, until = new Date(Date.now() + RECONNECT_MS)) => {
    if (!settings.progress || retryingUntil) return;
    retryingUntil = until;
    const why =
      error instanceof sdk.ConnectionError ? clause(error.message) : 'Lost the connection to the Agent Runtime';
    ctx.note(
      `${why}; retrying until ${until.toLocaleTimeString()} — Ctrl-C stops waiting; session '${name}' keeps running`,
    );
  };
  const reachable = () => {
    if (!settings.progress || !retryingUntil) return;
    retryingUntil = undefined;
    ctx.note(`The Agent Runtime answers again; still waiting for session '${name}'`);
  };
  try {
    if (settings.progress) {
      try {
        const events = ao.sessions.events(name, { signal: controller.signal, onRetry: (error) => unreachable(error) });
        for await (const event of events) {
          reachable();
          if (event.run !== run) continue;
          if (event.type === 'pre_tool') ctx.note(`→ ${formatToolCall(event.data.tool, event.data.input)}`);
          if (event.type === 'session_stop') break;
        }
        return await ao.sessions.result(name);
      } catch (error) {
        if (controller.signal.aborted) throw controller.signal.reason;
        // The event stream broke for good: the status long-poll below still gets the outcome.
        if (!(error instanceof sdk.ConnectionError)) throw error;
      }
    }
    return await ao.sessions.waitForResult(name, {
      signal: controller.signal,
      reconnectMs: RECONNECT_MS,
      onUnreachable: unreachable,
      onReachable: reachable,
    });
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onInterrupt);
  }
}

/**
 * The result text on stdout, exit 0, for a finished run; the error on stderr, exit 1, for a failed
 * or stopped one. With --json, stdout gets the SessionResult either way.
 */
export async function printResult(ctx: Context, result: SessionResult): Promise<void> {
  if (ctx.json) ctx.outJson(result);
  if (result.state === 'finished') {
    // A session with an output schema: the validated object, as JSON (with --json: in `result_json`).
    if (!ctx.json)
      ctx.out('result_json' in result ? JSON.stringify(result.result_json, null, 2) : (result.result ?? ''));
    return;
  }
  const { endedRunAdvice } = await import('../../sdk/index.js');
  ctx.error(
    new CliError(endedRunAdvice(result, CLI_TERMS), result.state, { session: result.name, state: result.state }),
  );
}
