/**
 * The session tools: list the sessions, start, resume and fork one (waiting for its answer unless
 * async), follow it (status, result), stop and delete it.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { AdviceSubject, Limits, RunState } from '../../sdk/index.js';
import { RUN_STATES } from '../../sdk/generated/rules.js';
import {
  fitInChars,
  followUp,
  guarded,
  lastRun,
  ok,
  pendingOutcome,
  problemCodeOf,
  resultOutcome,
  ToolFailure,
} from './format.js';
import { started, waitForOutcome } from './run-outcome.js';
import { defineTool } from './tool.js';
import {
  asyncFlag,
  NAME_PATTERN,
  NAME_RULE,
  NOTE,
  outcomeSchema,
  prompt,
  sessionName,
  timeoutSeconds,
} from './tool-schemas.js';

/** The limits start_agent_session's inputs set, as the contract's `limits`. */
function teamLimits(args: {
  max_cost_usd?: number | undefined;
  max_turns?: number | undefined;
  run_timeout_seconds?: number | undefined;
}): { limits?: Limits } {
  const limits: Limits = {};
  if (args.max_cost_usd !== undefined) limits.max_cost_usd = args.max_cost_usd;
  if (args.max_turns !== undefined) limits.max_turns = args.max_turns;
  if (args.run_timeout_seconds !== undefined) limits.timeout_seconds = args.run_timeout_seconds;
  return Object.keys(limits).length ? { limits } : {};
}

export const listAgentSessions = defineTool({
  name: 'list_agent_sessions',
  title: 'List agent sessions',
  description:
    'Lists the agent sessions in the Agent Runtime, a page at a time, most recently active first: name, state (queued, running, finished, failed, stopped), number of runs, blueprint and project directory. Pass next_cursor back as cursor for the next page.',
  inputSchema: z.strictObject({
    state: z.enum(RUN_STATES).optional().describe('Only sessions whose last run is in this state (default: all)'),
    prefix: z.string().min(1).max(60).optional().describe('Only sessions whose name starts with this'),
    limit: z.number().int().min(1).max(500).optional().describe('Sessions per page (default 50)'),
    cursor: z.string().min(1).optional().describe('The next_cursor of the previous page'),
  }),
  outputSchema: z.object({
    sessions: z.array(
      z.object({
        name: z.string(),
        state: z.enum(RUN_STATES),
        runs: z.number().int(),
        blueprint: z.string().nullable(),
        project_dir: z.string(),
        created_at: z.string(),
        updated_at: z.string(),
      }),
    ),
    total: z.number().int(),
    next_cursor: z.string().nullable(),
    note: NOTE,
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args, { ao, maxChars }) =>
    guarded(async () => {
      const page = await ao().sessions.list({
        state: args.state,
        prefix: args.prefix,
        limit: args.limit ?? 50,
        cursor: args.cursor,
      });
      const all = page.sessions.map((s) => ({
        name: s.name,
        state: s.state,
        runs: s.runs,
        blueprint: s.agent,
        project_dir: s.project_dir,
        created_at: s.created_at,
        updated_at: s.updated_at,
      }));
      const { shown, more } = fitInChars(all, maxChars);
      // Cut to fit: the next page would skip what was cut, so offer a smaller page instead of the cursor.
      const nextCursor = more ? null : page.next_cursor;
      const note = more
        ? `${more} more session${more === 1 ? '' : 's'} of this page not shown — ask for a smaller limit (${shown.length})`
        : nextCursor
          ? 'more sessions on the next page — call again with cursor = next_cursor'
          : null;
      const lines = shown.map(
        (s) =>
          `- ${s.name}: ${s.state}, ${s.runs} run${s.runs === 1 ? '' : 's'}${s.blueprint ? `, blueprint ${s.blueprint}` : ''}, in ${s.project_dir}, updated ${s.updated_at}`,
      );
      if (note) lines.push(`… ${note}${nextCursor ? ` (${nextCursor})` : ''}`);
      const total = args.state ? page.counts[args.state] : Object.values(page.counts).reduce((a, b) => a + b, 0);
      const text = all.length
        ? `${all.length === total ? '' : `${all.length} of `}${total} session${total === 1 ? '' : 's'}:\n${lines.join('\n')}`
        : `No sessions${args.state ? ` in state ${args.state}` : ''}${args.prefix ? ` named ${args.prefix}…` : ''} — start one with start_agent_session`;
      return ok(text, { sessions: shown, total, next_cursor: nextCursor, note: note ?? (all.length ? null : text) });
    }),
});

export const startAgentSession = defineTool({
  name: 'start_agent_session',
  title: 'Start an agent session',
  description: ({ projectRoot }) =>
    [
      'Starts a new named Claude Code agent session that works on `prompt` in a project directory, and (unless async) waits for it and returns its final answer.',
      'The session keeps its conversation: continue it later with resume_agent_session. Names are unique; an existing name is an error.',
      `Sessions work in ${projectRoot} unless project_dir says otherwise.`,
    ].join(' '),
  inputSchema: ({ projectRoot }) =>
    z.strictObject({
      name: sessionName(`A new, unique session name (${NAME_RULE}), e.g. "fix-tests"`),
      prompt: prompt('The task for the agent, as you would type it to Claude Code'),
      blueprint: z
        .string()
        .regex(NAME_PATTERN, { error: `Invalid blueprint name: use ${NAME_RULE}` })
        .max(60, { error: `Invalid blueprint name: use ${NAME_RULE}` })
        .optional()
        .describe('Start from this agent blueprint (see list_agent_blueprints); default: plain Claude Code'),
      project_dir: z
        .string()
        .min(1)
        .max(4096)
        .optional()
        .describe(
          `Directory the agent works in: an absolute path, or relative to ${projectRoot} (the default). It must exist on the Agent Runtime's machine.`,
        ),
      worktree: z
        .boolean()
        .optional()
        .describe(
          "Work in a git worktree of its own on branch aof/<name>, so that parallel sessions never edit the same checkout (default: the blueprint's setting, else false). The project directory must be in a git repository.",
        ),
      checkpoint: z
        .boolean()
        .optional()
        .describe(
          "With worktree: commit what the worktree holds at the end of every run, one commit per run, so each run can be reviewed and reverted on its own (default: the blueprint's setting, else false)",
        ),
      output_schema: z
        .record(z.string(), z.unknown())
        .optional()
        .describe(
          "A JSON Schema the agent's final answer must match (overrides the blueprint's). The agent is told to answer with JSON only; an answer that does not match gets one retry, then the run fails with the validation errors. The result then carries result_json, the parsed answer.",
        ),
      async: asyncFlag,
      timeout_seconds: timeoutSeconds,
      callback: z
        .boolean()
        .optional()
        .describe(
          'Report back when its run ends: the parent session (yours, when you run inside one) is resumed with the outcome. Use with async: true, then end your turn.',
        ),
      no_parent: z
        .boolean()
        .optional()
        .describe('Start it on its own: not as a child of the session this server runs in'),
      max_cost_usd: z
        .number()
        .positive()
        .optional()
        .describe('Budget in USD for the session and everything it starts; it is stopped when crossed'),
      max_turns: z.number().int().positive().optional().describe('Model turns allowed per run'),
      run_timeout_seconds: z.number().int().positive().optional().describe('Stop a run that goes on longer than this'),
    }),
  outputSchema: outcomeSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (args, context, extra) => {
    const projectDir = resolve(context.projectRoot, args.project_dir ?? '.');
    const subject: AdviceSubject = { session: args.name, agent: args.blueprint, projectDir };
    return guarded(async () => {
      const session = await context.ao().sessions.create({
        name: args.name,
        prompt: args.prompt,
        project_dir: projectDir,
        ...(args.blueprint ? { agent: args.blueprint } : {}),
        ...(args.no_parent ? { parent: null } : {}),
        ...(args.callback ? { callback: true } : {}),
        ...teamLimits(args),
        ...(args.output_schema ? { output_schema: args.output_schema } : {}),
        ...(args.worktree !== undefined ? { worktree: args.worktree } : {}),
        ...(args.checkpoint !== undefined ? { checkpoint: args.checkpoint } : {}),
      });
      return args.async
        ? started(session, 'started')
        : waitForOutcome(context, session, args.timeout_seconds, extra, subject);
    }, subject);
  },
});

export const resumeAgentSession = defineTool({
  name: 'resume_agent_session',
  title: 'Resume an agent session',
  description:
    'Continues an existing agent session (same conversation, same project directory) with a new prompt, and (unless async) waits for the run and returns its final answer. The session must have ended its last run (finished, failed or stopped).',
  inputSchema: z.strictObject({
    name: sessionName('The session to continue (see list_agent_sessions)'),
    prompt: prompt('What the agent should do next'),
    async: asyncFlag,
    timeout_seconds: timeoutSeconds,
  }),
  outputSchema: outcomeSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (args, context, extra) => {
    const subject: AdviceSubject = { session: args.name, resuming: true };
    return guarded(async () => {
      const session = await context.ao().sessions.resume(args.name, { prompt: args.prompt });
      return args.async
        ? started(session, 'resumed')
        : waitForOutcome(context, session, args.timeout_seconds, extra, subject);
    }, subject);
  },
});

export const forkAgentSession = defineTool({
  name: 'fork_agent_session',
  title: 'Fork an agent session',
  description: [
    'Starts a new session `name` that continues the conversation of session `source` as it stands, with `prompt` as its first turn, and (unless async) waits for it and returns its final answer.',
    'The source is left untouched, and later turns of either are not seen by the other: fork one session twice to try two approaches from the same starting point.',
    'The source must have ended its last run (finished, failed or stopped).',
  ].join(' '),
  inputSchema: z.strictObject({
    source: sessionName('The session to fork (see list_agent_sessions)'),
    name: sessionName(`A new, unique name for the fork (${NAME_RULE})`),
    prompt: prompt("The fork's first turn"),
    async: asyncFlag,
    timeout_seconds: timeoutSeconds,
  }),
  outputSchema: outcomeSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (args, context, extra) => {
    const subject: AdviceSubject = { session: args.source, forking: true };
    return guarded(async () => {
      const session = await context
        .ao()
        .sessions.fork(args.source, { name: args.name, prompt: args.prompt })
        .catch((error: unknown) => {
          // The advice names the source; a taken name is the fork's.
          if (problemCodeOf(error) === 'session-exists')
            throw new ToolFailure(`Session '${args.name}' already exists — pick another name for the fork`);
          throw error;
        });
      return args.async
        ? started(session, 'forked')
        : waitForOutcome(context, session, args.timeout_seconds, extra, { session: args.name });
    }, subject);
  },
});

export const getAgentSessionStatus = defineTool({
  name: 'get_agent_session_status',
  title: 'Get an agent session status',
  description:
    "A session's state: queued, running, finished, failed or stopped. With wait_seconds, waits up to that long for a queued or running session to end, answering as soon as it does (cheaper than polling). A session stopped on the account's usage limit says when the runtime resumes it (resume_at); a run the stall watchdog found silent says so (reason).",
  inputSchema: z.strictObject({
    name: sessionName('The session (see list_agent_sessions)'),
    wait_seconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(0)
      .describe(
        'Wait up to this many seconds (0 to 300, default 0: answer at once) for the session to leave queued/running',
      ),
  }),
  outputSchema: z.object({
    name: z.string(),
    state: z.enum(RUN_STATES),
    reason: z.string().optional().describe('Why, when the last run ended on the usage limit or stalled'),
    resume_at: z
      .string()
      .nullable()
      .optional()
      .describe('When the runtime resumes a session stopped on the usage limit by itself (null: it will not)'),
    note: NOTE,
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args, { ao }, extra) =>
    guarded(
      async () => {
        const { name, state, reason, usage_limit } = await ao().sessions.status(args.name, {
          wait: args.wait_seconds || undefined,
          signal: extra.signal,
        });
        const next: Record<RunState, string> = {
          queued: `Session '${name}' is queued (waiting for a free slot)${args.wait_seconds ? ` after waiting ${args.wait_seconds} s` : ''} — ${followUp(name)}`,
          running: `Session '${name}' is running${args.wait_seconds ? ` after waiting ${args.wait_seconds} s` : ''} — ${followUp(name)}`,
          finished: `Session '${name}' finished — collect its answer with get_agent_session_result; continue it with resume_agent_session`,
          failed: `Session '${name}' failed — see why with get_agent_session_result; continue it with resume_agent_session`,
          stopped: `Session '${name}' was stopped — see its last answer with get_agent_session_result; continue it with resume_agent_session`,
        };
        if (usage_limit)
          next.stopped = usage_limit.resume_at
            ? `Session '${name}' ${reason} — the runtime resumes it by itself then (same conversation); nothing to do`
            : `Session '${name}' ${reason}`;
        else if (reason) next[state] = `${next[state]} (${reason})`;
        return ok(next[state], {
          name,
          state,
          ...(reason ? { reason } : {}),
          ...(usage_limit ? { resume_at: usage_limit.resume_at } : {}),
          note: next[state],
        });
      },
      { session: args.name },
    ),
});

export const getAgentSessionResult = defineTool({
  name: 'get_agent_session_result',
  title: 'Get an agent session result',
  description: ({ maxChars }) =>
    `The final answer of a session's last run, once it has ended. Answers over ${maxChars} characters come in parts: pass the next_offset of one answer as offset to get the next part.`,
  inputSchema: z.strictObject({
    name: sessionName('The session (see list_agent_sessions)'),
    offset: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Start at this character of the result (default 0); for the parts of a long result'),
  }),
  outputSchema: outcomeSchema,
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args, { ao, maxChars }) =>
    guarded(
      async () => {
        try {
          return resultOutcome(await ao().sessions.result(args.name), args.offset, maxChars);
        } catch (error) {
          if (problemCodeOf(error) !== 'session-not-ended') throw error;
        }
        // The last run has not ended yet: not an error, an answer saying how to wait.
        const session = await ao().sessions.get(args.name);
        return pendingOutcome(
          { name: session.name, state: session.state, run: lastRun(session) },
          `Session '${session.name}' is ${session.state}: no result yet — ${followUp(session.name)}`,
        );
      },
      { session: args.name },
    ),
});

export const stopAgentSession = defineTool({
  name: 'stop_agent_session',
  title: 'Stop an agent session',
  description:
    "Stops a session's active run (the Claude Code process and everything it started). The session and its conversation stay: resume_agent_session continues it. Stopping a session that is not running changes nothing.",
  inputSchema: z.strictObject({
    name: sessionName('The session to stop (see list_agent_sessions)'),
  }),
  outputSchema: z.object({
    name: z.string(),
    state: z.enum(RUN_STATES),
    run: z.number().int().nullable(),
    note: NOTE,
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: (args, { ao }) =>
    guarded(
      async () => {
        const before = (await ao().sessions.status(args.name)).state;
        const session = await ao().sessions.stop(args.name);
        const run = lastRun(session);
        const text =
          before === 'queued' || before === 'running'
            ? `Session '${session.name}' stopped (run ${run ?? 1} was ${before}; now ${session.state}) — continue it with resume_agent_session`
            : `Session '${session.name}' was not running (its last run ${before === 'stopped' ? 'was already stopped' : before}); nothing to stop`;
        return ok(text, { name: session.name, state: session.state, run, note: text });
      },
      { session: args.name },
    ),
});

export const deleteAgentSession = defineTool({
  name: 'delete_agent_session',
  title: 'Delete an agent session',
  description:
    'Deletes one session with its history, stopping its run first if one is active. Other sessions are kept. Cannot be undone.',
  inputSchema: z.strictObject({
    name: sessionName('The session to delete (see list_agent_sessions)'),
  }),
  outputSchema: z.object({ deleted: z.string(), note: NOTE }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  handler: (args, { ao }) =>
    guarded(
      async () => {
        await ao().sessions.delete(args.name);
        return ok(`Deleted session '${args.name}'`, { deleted: args.name, note: null });
      },
      { session: args.name },
    ),
});

export const deleteAllAgentSessions = defineTool({
  name: 'delete_all_agent_sessions',
  title: 'Delete all agent sessions',
  description:
    'Stops every running session and deletes every session with its history, in the whole Agent Runtime (not only the ones you started). Cannot be undone.',
  inputSchema: z.strictObject({}),
  outputSchema: z.object({ deleted: z.array(z.string()), total: z.number().int(), note: NOTE }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: (_args, { ao, maxChars }) =>
    guarded(async () => {
      const deleted = await ao().sessions.clean();
      const { shown, more } = fitInChars(deleted, maxChars);
      const text = deleted.length
        ? `Deleted ${deleted.length} session${deleted.length === 1 ? '' : 's'} (running ones were stopped first): ${shown.join(', ')}${more ? ` and ${more} more` : ''}`
        : 'There were no sessions to delete';
      return ok(text, { deleted: shown, total: deleted.length, note: deleted.length ? null : text });
    }),
});
