/**
 * What a tool that starts a run (start, resume, fork, review) answers: at once when async (the run is
 * queued or running), else the run's outcome once it ends, waited for within the call's timeout.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionError, WaitTimeoutError, type AdviceSubject, type RunState, type Session } from '../../sdk/index.js';
import { followUp, lastRun, pendingOutcome, resultOutcome } from './format.js';
import type { Extra, ToolContext } from './tool.js';

/** Waits (bounded) for the session's run to end; a run still going then is a non-error answer. */
export async function waitForOutcome(
  { ao, maxChars, progressEveryMs }: ToolContext,
  session: Session,
  timeoutSeconds: number,
  extra: Extra,
  subject: AdviceSubject,
): Promise<CallToolResult> {
  const name = session.name;
  subject.waiting = true; // a session missing from now on was deleted while waiting
  const startedAt = Date.now();
  const deadline = startedAt + timeoutSeconds * 1000;
  const progressToken = extra._meta?.progressToken;
  let state: RunState = session.state;
  let ticks = 0;
  let lost: ConnectionError | undefined;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const slice = Math.min(remaining, progressEveryMs);
    try {
      const result = await ao().sessions.waitForResult(name, {
        timeoutMs: slice,
        reconnectMs: slice,
        signal: extra.signal,
      });
      return resultOutcome(result, 0, maxChars);
    } catch (error) {
      // A runtime restarting: keep trying (the SDK backs off) until the timeout.
      if (error instanceof ConnectionError && !extra.signal.aborted) {
        lost = error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))));
        continue;
      }
      if (!(error instanceof WaitTimeoutError)) throw error;
      lost = undefined;
      state = (error.state as RunState | undefined) ?? state;
    }
    if (progressToken !== undefined) {
      const waited = Math.round((Date.now() - startedAt) / 1000);
      await extra
        .sendNotification({
          method: 'notifications/progress',
          params: {
            progressToken,
            progress: ++ticks,
            message: `Session '${name}' is ${state} (waited ${waited} s of ${timeoutSeconds} s)`,
          },
        })
        .catch(() => undefined);
    }
  }
  if (lost) throw lost;
  return pendingOutcome(
    { name, state, run: lastRun(session) },
    `Session '${name}' is still ${state} after ${timeoutSeconds} s; it keeps working in the background — ${followUp(name)}`,
  );
}

/** The answer to an async start/resume: the run is queued or running. */
export function started(session: Session, verb: string): CallToolResult {
  const run = lastRun(session);
  return pendingOutcome(
    { name: session.name, state: session.state, run },
    `Session '${session.name}' ${verb} (run ${run ?? 1}, ${session.state}) and works in the background — ${followUp(session.name)}`,
  );
}
