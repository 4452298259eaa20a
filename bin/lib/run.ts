/**
 * What `ao-new` and `ao-resume` share: waiting for the run they started, showing its tool calls
 * on stderr while it works, and printing its outcome.
 */
import type { Orchestrator, Session, SessionResult } from '../../sdk/index.js';
import { CliError, stringOption, type Context, type Options } from './cli.js';
import { formatToolCall } from './format.js';

/** Options of every command that waits for a run. */
export const WAIT_OPTIONS = [
  { name: 'verbose', type: 'boolean', description: 'Show the tool calls on stderr as they happen (the default when stderr is a terminal)' },
  { name: 'quiet', type: 'boolean', description: 'Never show tool calls' },
  { name: 'timeout', type: 'string', value: 'SECONDS', description: 'Stop waiting after this long (the run keeps going); exit 1' },
] as const;

/** Options both ao-new and ao-resume take besides the prompt. */
export const RUN_OPTIONS = [
  { name: 'async', type: 'boolean', description: 'Return as soon as the run is queued; check it with ao-status, collect it with ao-get-result' },
  ...WAIT_OPTIONS,
] as const;

/** After the session was created or resumed: wait (unless --async) and print the outcome. */
export async function finishRun(ctx: Context, ao: Orchestrator, session: Session, options: Options): Promise<void> {
  const name = session.name;
  const run = session.runs.at(-1)?.number ?? 1;
  if (options.async) {
    if (ctx.json) ctx.outJson(session);
    else ctx.out(`Session '${name}' ${session.state} (run ${run}) — check it with ao-status ${name}, collect it with ao-get-result ${name}`);
    return;
  }
  printResult(ctx, await waitForRun(ctx, ao, name, run, options));
}

function parseTimeout(options: Options): number | undefined {
  const raw = stringOption(options, 'timeout');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--timeout must be a number of seconds greater than 0, not '${raw}'`, 'usage');
  return Math.round(seconds * 1000);
}

/**
 * Waits for run `run` to end, as WAIT_OPTIONS say. With progress (--verbose, or stderr a terminal),
 * follows the session's events and prints each tool call as it starts; otherwise long-polls the
 * status. Ctrl-C stops waiting, not the run.
 */
export async function waitForRun(ctx: Context, ao: Orchestrator, name: string, run: number, flags: Options): Promise<SessionResult> {
  const options = {
    timeoutMs: parseTimeout(flags),
    progress: !flags.quiet && (flags.verbose === true || process.stderr.isTTY === true),
  };
  const controller = new AbortController();
  const onInterrupt = () => controller.abort(new CliError(
    `Stopped waiting; session '${name}' keeps running — check it with ao-status ${name}, stop it with ao-stop ${name}`,
    'interrupted',
  ));
  process.once('SIGINT', onInterrupt);
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(new CliError(
    `Session '${name}' has not ended after ${options.timeoutMs! / 1000} s — it keeps running; check it with ao-status ${name} and collect it with ao-get-result ${name}`,
    'timeout',
  )), options.timeoutMs);
  try {
    if (options.progress) {
      try {
        for await (const event of ao.sessions.events(name, { signal: controller.signal })) {
          if (event.run !== run) continue;
          if (event.type === 'pre_tool') ctx.note(`→ ${formatToolCall(event.data.tool, event.data.input)}`);
          if (event.type === 'session_stop') break;
        }
        return await ao.sessions.result(name);
      } catch (error) {
        if (controller.signal.aborted) throw controller.signal.reason;
        const sdk = await import('../../sdk/index.js');
        // The event stream broke for good: the status long-poll below still gets the outcome.
        if (!(error instanceof sdk.ConnectionError)) throw await sessionGone(error, name);
      }
    }
    return await ao.sessions.waitForResult(name, { signal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw await sessionGone(error, name);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onInterrupt);
  }
}

async function sessionGone(error: unknown, name: string): Promise<unknown> {
  const { NotFoundError } = await import('../../sdk/index.js');
  if (error instanceof NotFoundError) return new CliError(`Session '${name}' was deleted while waiting for it`, 'not_found');
  return error;
}

/**
 * The result text on stdout, exit 0, for a finished run; the error on stderr, exit 1, for a failed
 * or stopped one. With --json, stdout gets the SessionResult either way.
 */
export function printResult(ctx: Context, result: SessionResult): void {
  if (ctx.json) ctx.outJson(result);
  if (result.state === 'finished') {
    // A session with an output schema: the validated object, as JSON (with --json: in `result_json`).
    if (!ctx.json) ctx.out('result_json' in result ? JSON.stringify(result.result_json, null, 2) : result.result ?? '');
    return;
  }
  const verb = result.state === 'stopped' ? 'was stopped' : 'failed';
  ctx.error(new CliError(
    `Session '${result.name}' ${verb}: ${result.error ?? 'no reason given'} — see its events with ao-events ${result.name}; continue it with ao-resume ${result.name} -p PROMPT`,
    result.state,
    { session: result.name, state: result.state },
  ));
}
