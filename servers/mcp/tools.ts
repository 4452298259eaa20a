/**
 * The orchestrator as MCP tools: each tool is a few SDK calls (`ao.sessions.*`, `ao.agents.*`)
 * between a zod input schema (what the model reads) and text a model can act on.
 */
import { resolve } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import {
  ConnectionError,
  WaitTimeoutError,
  type AdviceSubject,
  type Limits,
  type Orchestrator,
  type RunState,
  type Session,
} from '../../sdk/index.js';
import {
  DEFAULT_MAX_CHARS,
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
import { APPROVAL_TOOL_NAMES, registerApprovalTools } from './approval-tools.js';
import { AUDIT_TOOL_NAMES, registerAuditTool } from './audit-tool.js';
import { registerScheduleTools, SCHEDULE_TOOL_NAMES } from './schedule-tools.js';
import { NAME_RULE as CONTRACT_NAME, RUN_STATES } from '../../sdk/generated/rules.js';

export interface ToolOptions {
  /** The SDK client, or a factory called on first use (so a bad URL variable becomes a tool error, not a dead server). */
  orchestrator: Orchestrator | (() => Orchestrator);
  /** Where sessions work unless a call names a project_dir (relative ones resolve against it). Default: process.cwd(). */
  defaultProjectDir?: string | undefined;
  /** Results and lists longer than this many characters are cut with a note. Default 20,000. */
  maxChars?: number | undefined;
  /** While a sync start/resume waits, a progress notification this often (when the client asked for them). Default 15 s. */
  progressIntervalMs?: number | undefined;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const NAME_PATTERN = new RegExp(CONTRACT_NAME.pattern);
const NAME_RULE = "1 to 60 letters, digits, '_' or '-', starting with a letter or digit";
const DEFAULT_TIMEOUT_SECONDS = 300;
const MAX_TIMEOUT_SECONDS = 3600;

/* ---------- Input schemas: their descriptions are what the model reads ---------- */

const required = (what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined ? `${what} is required` : `${what} must be a string`,
});

const sessionName = (description: string) =>
  z
    .string(required('name'))
    .regex(NAME_PATTERN, { error: `Invalid session name: use ${NAME_RULE}` })
    .max(60, { error: `Invalid session name: use ${NAME_RULE}` })
    .describe(description);

const prompt = (description: string) =>
  z
    .string(required('prompt'))
    .max(1_000_000, { error: 'prompt is longer than 1,000,000 characters' })
    .regex(/\S/, { error: 'prompt is empty: say what the agent should do' })
    .describe(description);

const asyncFlag = z
  .boolean()
  .default(false)
  .describe(
    'false (default): wait for the run to end and return its result. true: return at once while the session works in the background; follow it with get_agent_session_status and get_agent_session_result.',
  );

const timeoutSeconds = z
  .number()
  .int()
  .min(1)
  .max(MAX_TIMEOUT_SECONDS)
  .default(DEFAULT_TIMEOUT_SECONDS)
  .describe(
    `Without async: how long to wait for the result, in seconds (1 to ${MAX_TIMEOUT_SECONDS}, default ${DEFAULT_TIMEOUT_SECONDS}). When it runs out the session keeps working; the answer then says how to follow it up.`,
  );

/* ---------- Output schemas (structured content; Claude Code shows the model this, not the text) ---------- */

const NOTE = z
  .string()
  .nullable()
  .describe('What to do next, or why the answer was cut; null when there is nothing to add');

const outcomeSchema = z.object({
  name: z.string(),
  run: z.number().int().nullable().describe('The run number: 1 for the first, then 2, 3, ...'),
  state: z.enum(RUN_STATES),
  result: z
    .string()
    .nullable()
    .describe("Claude's final answer, or the part of it from `offset`; null while the run has not ended"),
  error: z.string().nullable().describe('Why the run failed or was stopped'),
  offset: z.number().int(),
  total_chars: z.number().int(),
  next_offset: z
    .number()
    .int()
    .nullable()
    .describe('Where the rest starts when `result` was cut (pass it as offset to get_agent_session_result)'),
  note: NOTE,
  result_json: z
    .unknown()
    .optional()
    .describe(
      'Only for a session with an output_schema: the answer parsed as JSON and valid against the schema (null unless finished)',
    ),
});

export const TOOL_NAMES = [
  'list_agent_blueprints',
  'list_agent_sessions',
  'start_agent_session',
  'resume_agent_session',
  'fork_agent_session',
  'get_agent_session_status',
  'get_agent_session_result',
  'stop_agent_session',
  'delete_agent_session',
  'delete_all_agent_sessions',
  'get_agent_usage',
  'get_agent_session_changes',
  'merge_agent_session',
  'merge_agent_children',
  'open_pull_request',
  'review_agent_session',
  ...APPROVAL_TOOL_NAMES,
  ...AUDIT_TOOL_NAMES,
  ...SCHEDULE_TOOL_NAMES,
] as const;

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

const usageSums = {
  runs: z.number().int(),
  usage: z.object({
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    cache_creation_input_tokens: z.number().int(),
    cache_read_input_tokens: z.number().int(),
  }),
  cost_usd: z.number(),
  duration_ms: z.number().int(),
  wall_ms: z.number().int().describe('Wall time of the runs, start to end (to now for a run still going)'),
  estimated: z.boolean().describe('A run is still going: its tokens and cost so far are an estimate'),
};

/** Registers the orchestrator tools (TOOL_NAMES) on `server`. */
export function registerTools(server: McpServer, options: ToolOptions): void {
  let client: Orchestrator | undefined;
  const ao = (): Orchestrator =>
    (client ??= typeof options.orchestrator === 'function' ? options.orchestrator() : options.orchestrator);
  const projectRoot = options.defaultProjectDir ?? process.cwd();
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const progressEveryMs = options.progressIntervalMs ?? 15_000;

  /** Waits (bounded) for the session's run to end; a run still going then is a non-error answer. */
  async function waitForOutcome(
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
  function started(session: Session, verb: string): CallToolResult {
    const run = lastRun(session);
    return pendingOutcome(
      { name: session.name, state: session.state, run },
      `Session '${session.name}' ${verb} (run ${run ?? 1}, ${session.state}) and works in the background — ${followUp(session.name)}`,
    );
  }

  server.registerTool(
    'list_agent_blueprints',
    {
      title: 'List agent blueprints',
      description:
        'Lists the agent blueprints in the Agent Registry: named presets (agent CLI: claude, codex, gemini or opencode; system prompt, model, tools, MCP servers, permission mode) that start_agent_session can start a session from (its `blueprint` input). Only active blueprints can start sessions.',
      inputSchema: z.strictObject({
        status: z.enum(['active', 'inactive']).optional().describe('Only blueprints with this status (default: all)'),
      }),
      outputSchema: z.object({
        agents: z.array(
          z.object({
            name: z.string(),
            description: z.string(),
            status: z.enum(['active', 'inactive']),
            cli: z.string().describe('The agent CLI its sessions run on'),
            model: z.string().nullable(),
            permission_mode: z.string().nullable(),
          }),
        ),
        total: z.number().int(),
        note: NOTE,
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      guarded(async () => {
        const all = (await ao().agents.list({ status: args.status })).map((a) => ({
          name: a.name,
          description: a.description,
          status: a.status,
          cli: a.cli ?? 'claude',
          model: a.model ?? null,
          permission_mode: a.permission_mode ?? null,
        }));
        const { shown, more } = fitInChars(all, maxChars);
        const note = more ? `${more} more blueprint${more === 1 ? '' : 's'} not shown — filter with status` : null;
        const lines = shown.map((a) => {
          const settings = [
            a.cli !== 'claude' && `cli ${a.cli}`,
            a.model && `model ${a.model}`,
            a.permission_mode && `permission mode ${a.permission_mode}`,
          ]
            .filter(Boolean)
            .join(', ');
          return `- ${a.name} (${a.status}): ${a.description}${settings ? ` [${settings}]` : ''}`;
        });
        if (note) lines.push(`… ${note}`);
        const text = all.length
          ? `${all.length} agent blueprint${all.length === 1 ? '' : 's'}:\n${lines.join('\n')}`
          : `No agent blueprints${args.status ? ` with status ${args.status}` : ''} — sessions can still start without one`;
        return ok(text, { agents: shown, total: all.length, note: note ?? (all.length ? null : text) });
      }),
  );

  server.registerTool(
    'list_agent_sessions',
    {
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
    },
    (args) =>
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
  );

  server.registerTool(
    'start_agent_session',
    {
      title: 'Start an agent session',
      description: [
        'Starts a new named Claude Code agent session that works on `prompt` in a project directory, and (unless async) waits for it and returns its final answer.',
        'The session keeps its conversation: continue it later with resume_agent_session. Names are unique; an existing name is an error.',
        `Sessions work in ${projectRoot} unless project_dir says otherwise.`,
      ].join(' '),
      inputSchema: z.strictObject({
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
        run_timeout_seconds: z
          .number()
          .int()
          .positive()
          .optional()
          .describe('Stop a run that goes on longer than this'),
      }),
      outputSchema: outcomeSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (args, extra) => {
      const projectDir = resolve(projectRoot, args.project_dir ?? '.');
      const subject: AdviceSubject = { session: args.name, agent: args.blueprint, projectDir };
      return guarded(async () => {
        const session = await ao().sessions.create({
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
        return args.async ? started(session, 'started') : waitForOutcome(session, args.timeout_seconds, extra, subject);
      }, subject);
    },
  );

  server.registerTool(
    'resume_agent_session',
    {
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
    },
    (args, extra) => {
      const subject: AdviceSubject = { session: args.name, resuming: true };
      return guarded(async () => {
        const session = await ao().sessions.resume(args.name, { prompt: args.prompt });
        return args.async ? started(session, 'resumed') : waitForOutcome(session, args.timeout_seconds, extra, subject);
      }, subject);
    },
  );

  server.registerTool(
    'fork_agent_session',
    {
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
    },
    (args, extra) => {
      const subject: AdviceSubject = { session: args.source, forking: true };
      return guarded(async () => {
        const session = await ao()
          .sessions.fork(args.source, { name: args.name, prompt: args.prompt })
          .catch((error: unknown) => {
            // The advice names the source; a taken name is the fork's.
            if (problemCodeOf(error) === 'session-exists')
              throw new ToolFailure(`Session '${args.name}' already exists — pick another name for the fork`);
            throw error;
          });
        return args.async
          ? started(session, 'forked')
          : waitForOutcome(session, args.timeout_seconds, extra, { session: args.name });
      }, subject);
    },
  );

  server.registerTool(
    'get_agent_session_status',
    {
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
    },
    (args, extra) =>
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
  );

  server.registerTool(
    'get_agent_session_result',
    {
      title: 'Get an agent session result',
      description: `The final answer of a session's last run, once it has ended. Answers over ${maxChars} characters come in parts: pass the next_offset of one answer as offset to get the next part.`,
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
    },
    (args) =>
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
  );

  server.registerTool(
    'stop_agent_session',
    {
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
    },
    (args) =>
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
  );

  server.registerTool(
    'delete_agent_session',
    {
      title: 'Delete an agent session',
      description:
        'Deletes one session with its history, stopping its run first if one is active. Other sessions are kept. Cannot be undone.',
      inputSchema: z.strictObject({
        name: sessionName('The session to delete (see list_agent_sessions)'),
      }),
      outputSchema: z.object({ deleted: z.string(), note: NOTE }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      guarded(
        async () => {
          await ao().sessions.delete(args.name);
          return ok(`Deleted session '${args.name}'`, { deleted: args.name, note: null });
        },
        { session: args.name },
      ),
  );

  server.registerTool(
    'get_agent_usage',
    {
      title: 'Get token usage and cost',
      description:
        "Tokens, cost (Claude Code's own estimate) and time of the sessions' runs: per session (most expensive first), per agent blueprint, per UTC day, and the total. Computed by the Agent Runtime: use its numbers as they are.",
      inputSchema: z.strictObject({
        sessions: z
          .array(
            z
              .string()
              .regex(NAME_PATTERN, { error: `Invalid session name: use ${NAME_RULE}` })
              .max(60),
          )
          .max(200)
          .optional()
          .describe('Only these sessions (default: all)'),
        blueprint: z
          .string()
          .regex(NAME_PATTERN, { error: `Invalid blueprint name: use ${NAME_RULE}` })
          .max(60)
          .optional()
          .describe('Only sessions started from this blueprint'),
      }),
      outputSchema: z.object({
        totals: z.object({ sessions: z.number().int(), ...usageSums }),
        sessions: z.array(
          z.object({
            name: z.string(),
            agent: z.string().nullable(),
            state: z.enum(RUN_STATES),
            first_run_at: z.string(),
            last_run_at: z.string(),
            ...usageSums,
          }),
        ),
        agents: z.array(z.object({ agent: z.string().nullable(), sessions: z.number().int(), ...usageSums })),
        days: z.array(z.object({ day: z.string(), sessions: z.number().int(), ...usageSums })),
        note: NOTE,
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      guarded(async () => {
        const report = await ao().sessions.usage({ agent: args.blueprint, sessions: args.sessions });
        const { shown, more } = fitInChars(report.sessions, maxChars / 2);
        const tokens = (u: {
          input_tokens: number;
          output_tokens: number;
          cache_creation_input_tokens: number;
          cache_read_input_tokens: number;
        }) => u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
        const t = report.totals;
        const note = more
          ? `${more} more (cheaper) session${more === 1 ? '' : 's'} not shown — name the sessions to see them`
          : null;
        const lines = [
          `Total: ${t.sessions} session${t.sessions === 1 ? '' : 's'}, ${t.runs} run${t.runs === 1 ? '' : 's'}, ${tokens(t.usage)} tokens (input ${t.usage.input_tokens}, output ${t.usage.output_tokens}, cache write ${t.usage.cache_creation_input_tokens}, cache read ${t.usage.cache_read_input_tokens}), $${t.cost_usd.toFixed(4)}${t.estimated ? ' so far (estimate: runs are still going)' : ''}`,
          ...shown.map(
            (s) =>
              `- ${s.name}${s.agent ? ` (blueprint ${s.agent})` : ''}: ${s.state}, ${s.runs} run${s.runs === 1 ? '' : 's'}, ${tokens(s.usage)} tokens, $${s.cost_usd.toFixed(4)}${s.estimated ? ' so far (estimate)' : ''}`,
          ),
          ...(note ? [`… ${note}`] : []),
        ];
        return ok(lines.join('\n'), { ...report, sessions: shown, note });
      }),
  );

  server.registerTool(
    'delete_all_agent_sessions',
    {
      title: 'Delete all agent sessions',
      description:
        'Stops every running session and deletes every session with its history, in the whole Agent Runtime (not only the ones you started). Cannot be undone.',
      inputSchema: z.strictObject({}),
      outputSchema: z.object({ deleted: z.array(z.string()), total: z.number().int(), note: NOTE }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    () =>
      guarded(async () => {
        const deleted = await ao().sessions.clean();
        const { shown, more } = fitInChars(deleted, maxChars);
        const text = deleted.length
          ? `Deleted ${deleted.length} session${deleted.length === 1 ? '' : 's'} (running ones were stopped first): ${shown.join(', ')}${more ? ` and ${more} more` : ''}`
          : 'There were no sessions to delete';
        return ok(text, { deleted: shown, total: deleted.length, note: deleted.length ? null : text });
      }),
  );

  server.registerTool(
    'get_agent_session_changes',
    {
      title: "Review a session's changes",
      description:
        "What a session changed in its own git worktree (sessions started with worktree: true), against the commit its branch was made from: its commits, what it left uncommitted and new files. Gives the changed files with lines added and deleted, and the unified patch (cut to fit; ask for one file to see it whole); for a session started with checkpoint: true, also its checkpoint commits, one per run. Use it to review a child's work before merging it with merge_agent_session (or all children with merge_agent_children).",
      inputSchema: z.strictObject({
        name: sessionName('The session whose changes to show (see list_agent_sessions)'),
        file: z.string().min(1).max(4096).optional().describe('Only this changed file (its path in the repository)'),
        stat: z.boolean().optional().describe('The file list and counts only, no patch (default false)'),
      }),
      outputSchema: z.object({
        name: z.string(),
        branch: z.string(),
        base_commit: z.string(),
        uncommitted: z.boolean(),
        files: z.array(
          z.object({
            path: z.string(),
            old_path: z.string().optional(),
            status: z.string(),
            additions: z.number().int(),
            deletions: z.number().int(),
            binary: z.boolean(),
            in_patch: z.string(),
          }),
        ),
        files_total: z.number().int(),
        additions: z.number().int(),
        deletions: z.number().int(),
        patch: z.string().nullable(),
        checkpoints: z
          .array(
            z.object({
              run: z.number().int(),
              commit: z.string(),
              additions: z.number().int(),
              deletions: z.number().int(),
              files: z.array(z.string()),
            }),
          )
          .optional()
          .describe('The checkpoint commits, one per run that changed something (sessions with checkpoint)'),
        note: NOTE,
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      guarded(
        async () => {
          const [changes, checkpointList] = await Promise.all([
            ao().sessions.diff(args.name, {
              file: args.file,
              stat: args.stat === true,
              maxBytes: Math.max(1024, maxChars),
            }),
            args.file === undefined
              ? ao()
                  .sessions.checkpoints(args.name)
                  .catch(() => null)
              : null,
          ]);
          const { name } = args;
          const checkpoints = checkpointList?.checkpoints.length
            ? checkpointList.checkpoints.map((c) => ({
                run: c.run,
                commit: c.commit,
                additions: c.additions,
                deletions: c.deletions,
                files: c.files.map((f) => f.path),
              }))
            : undefined;
          const summary = `${changes.files_total} file${changes.files_total === 1 ? '' : 's'} changed, +${changes.additions} -${changes.deletions} on ${changes.branch} against ${changes.base_commit.slice(0, 12)}${changes.uncommitted ? ' (uncommitted work included)' : ''}`;
          const list = changes.files.map(
            (f) =>
              `- ${f.status} ${f.old_path ? `${f.old_path} -> ` : ''}${f.path}: ${f.binary ? 'binary' : `+${f.additions} -${f.deletions}`}`,
          );
          if (checkpoints) {
            const earlier = Math.max(0, checkpoints.length - 20);
            list.push(
              'Checkpoints (one commit per run; git revert one to undo that run):',
              ...(earlier ? [`- (${earlier} earlier not shown)`] : []),
              ...checkpoints
                .slice(earlier)
                .map(
                  (c) =>
                    `- run ${c.run} ${c.commit.slice(0, 12)}: +${c.additions} -${c.deletions} ${c.files.join(', ')}`,
                ),
            );
          }
          const short = changes.files
            .filter((f) => f.in_patch === 'cut' || f.in_patch === 'omitted')
            .map((f) => f.path);
          // The patch fits in what the model reads: cut at the character budget left after the list.
          const room = Math.max(0, maxChars - summary.length - list.join('\n').length - 200);
          const patch = changes.patch === null ? null : changes.patch.slice(0, room);
          const cutHere = changes.patch !== null && patch!.length < changes.patch.length;
          const notes = [
            short.length ? `not shown whole: ${short.join(', ')} — ask for one with file` : '',
            cutHere ? 'the patch was cut to fit — ask for one file at a time' : '',
            changes.files_total > changes.files.length
              ? `${changes.files_total - changes.files.length} more files not listed`
              : '',
            changes.files_total ? '' : `Session '${name}' changed nothing yet`,
          ].filter(Boolean);
          const note = notes.length ? notes.join('; ') : null;
          const text = [summary, ...list, ...(patch ? ['', patch] : []), ...(note ? [`… ${note}`] : [])].join('\n');
          return ok(text, {
            name,
            branch: changes.branch,
            base_commit: changes.base_commit,
            uncommitted: changes.uncommitted,
            files: changes.files,
            files_total: changes.files_total,
            additions: changes.additions,
            deletions: changes.deletions,
            patch,
            ...(checkpoints ? { checkpoints } : {}),
            note,
          });
        },
        { session: args.name },
      ),
  );

  server.registerTool(
    'merge_agent_session',
    {
      title: "Merge a session's changes into a branch",
      description:
        "Merges what a session's own git worktree holds (what it left uncommitted is committed to its branch aof/<name> first) into an existing branch that is not checked out anywhere, without touching anyone's checkout. A conflict is refused with the files named and nothing changed: then resume the session to bring its branch up to date and resolve them, and merge again.",
      inputSchema: z.strictObject({
        name: sessionName('The session whose branch to merge (see list_agent_sessions)'),
        into: z.string().min(1).max(250).describe('The branch to merge into'),
        strategy: z
          .enum(['merge', 'squash', 'rebase'])
          .optional()
          .describe('merge (a merge commit, the default), squash (one commit) or rebase (its commits replayed)'),
        message: z.string().min(1).max(10000).optional().describe('The commit message (merge and squash)'),
        resolve: z
          .boolean()
          .optional()
          .describe(
            'On a conflict, resume the session with it (files and branch named) and merge again when that run ends',
          ),
      }),
      outputSchema: z.object({
        into: z.string(),
        branch: z.string(),
        strategy: z.string(),
        previous_commit: z.string().optional(),
        commit: z.string().optional(),
        commits: z.number().int().optional(),
        resolving: z.boolean().optional(),
        files: z.array(z.string()).optional(),
        run: z.number().int().optional(),
        note: NOTE,
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      guarded(
        async () => {
          const result = await ao().sessions.merge(args.name, {
            into: args.into,
            ...(args.strategy ? { strategy: args.strategy } : {}),
            ...(args.message ? { message: args.message } : {}),
            ...(args.resolve ? { resolve: true as const } : {}),
          });
          if ('resolving' in result)
            return ok(
              `${result.branch} conflicts with ${result.into} in ${result.files.join(', ')}; the session is resumed to resolve it (run ${result.run}) and is merged when that run ends`,
              { ...result, note: null },
            );
          const text = `Merged ${result.branch} into ${result.into} (${result.strategy}): ${result.commits} commit${result.commits === 1 ? '' : 's'}, now at ${result.commit.slice(0, 12)}`;
          return ok(text, { ...result, note: null });
        },
        { session: args.name },
      ),
  );

  server.registerTool(
    'merge_agent_children',
    {
      title: "Land a session's children one after the other (a merge queue)",
      description:
        "Merges each child of a session (yours, by default: the children you started with worktree: true) into an existing branch that is not checked out anywhere, one after the other in the order they were started, each rebased on what the ones before it left there, without touching anyone's checkout. A child that conflicts with the ones before it is resumed with its conflict (it rebases and resolves it in its worktree) and lands when that run ends; the queue goes on with the next. Children still running, without a worktree or with nothing to merge are skipped, with the reason. Call it after the children have ended (get_agent_session_result), then follow a resolving child with get_agent_session_result.",
      inputSchema: z.strictObject({
        name: sessionName(
          'The parent session whose children to merge (default: the session this server runs in)',
        ).optional(),
        into: z.string().min(1).max(250).describe('The branch to land them on (an existing local branch)'),
      }),
      outputSchema: z.object({
        into: z.string(),
        children: z.array(
          z.object({
            name: z.string(),
            outcome: z.enum(['merged', 'resolving', 'skipped']),
            commit: z.string().optional(),
            files: z.array(z.string()).optional(),
            run: z.number().int().optional(),
            reason: z.string().optional(),
          }),
        ),
        note: NOTE,
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) => {
      const parent = args.name ?? ao().sessions.defaultParent;
      return guarded(
        async () => {
          if (!parent)
            throw new ToolFailure(
              'Name the parent session (name): this server does not run inside a session, so it has no children of its own',
            );
          const queue = await ao().sessions.mergeChildren(parent, { into: args.into });
          if (!queue.children.length) {
            const text = `Session '${parent}' has no children to merge`;
            return ok(text, { ...queue, note: text });
          }
          const lines = queue.children.map((child) =>
            child.outcome === 'merged'
              ? `- ${child.name}: merged into ${queue.into} (now at ${child.commit!.slice(0, 12)})`
              : child.outcome === 'resolving'
                ? `- ${child.name}: conflicts in ${child.files!.join(', ')}; resumed to resolve it (run ${child.run}), lands when that run ends — follow it with get_agent_session_result`
                : `- ${child.name}: skipped — ${child.reason}`,
          );
          const merged = queue.children.filter((c) => c.outcome === 'merged').length;
          const text = [
            `Merge queue into ${queue.into}: ${merged} of ${queue.children.length} landed now`,
            ...lines,
          ].join('\n');
          return ok(text, { ...queue, note: null });
        },
        { session: parent },
      );
    },
  );

  server.registerTool(
    'open_pull_request',
    {
      title: "Open a GitHub pull request for a session's changes",
      description:
        "Pushes a session's own git worktree branch aof/<name> (what it left uncommitted is committed first) to a git remote of its repository and opens a GitHub pull request for it, described from the session's result and its task. The runtime does it with its own git credentials and GitHub token; a pull request already open from that branch is returned. Only a person's credential may open one (an agent's is refused).",
      inputSchema: z.strictObject({
        name: sessionName('The session whose branch to propose (see list_agent_sessions)'),
        remote: z.string().min(1).max(250).optional().describe('The git remote on GitHub to push to (default origin)'),
        base: z
          .string()
          .min(1)
          .max(250)
          .optional()
          .describe("The branch the pull request is into (default: the remote's default branch)"),
        title: z.string().min(1).max(256).optional().describe("Default: the first line of the session's task"),
        draft: z.boolean().optional().describe('Open it as a draft'),
      }),
      outputSchema: z.object({
        number: z.number().int(),
        url: z.string(),
        repository: z.string(),
        remote: z.string(),
        head: z.string(),
        base: z.string(),
        commit: z.string(),
        draft: z.boolean(),
        created: z.boolean(),
        note: NOTE,
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    (args) =>
      guarded(
        async () => {
          const pr = await ao().sessions.pullRequest(args.name, {
            ...(args.remote ? { remote: args.remote } : {}),
            ...(args.base ? { base: args.base } : {}),
            ...(args.title ? { title: args.title } : {}),
            ...(args.draft ? { draft: true } : {}),
          });
          const text = `${pr.created ? 'Opened' : 'Already open:'} pull request #${pr.number} in ${pr.repository} (${pr.head} into ${pr.base}): ${pr.url}`;
          return ok(text, { ...pr, note: null });
        },
        { session: args.name },
      ),
  );

  server.registerTool(
    'review_agent_session',
    {
      title: 'Send review comments back to a session',
      description:
        "Sends review comments on lines of a session's own git worktree back to it (after get_agent_session_changes): each line is quoted with its comment in one prompt, and the session is resumed with it, so its next run is the fix. Lines are of the files as they are now. Waits for that run like resume_agent_session, unless async.",
      inputSchema: z.strictObject({
        name: sessionName('The session to review (see list_agent_sessions)'),
        comments: z
          .array(
            z.strictObject({
              file: z.string().min(1).max(4096).describe("The file's path in the repository"),
              line: z.number().int().min(1).describe('A line of the file as it is now, from 1'),
              text: z.string().min(1).max(10000).describe('What to change there'),
            }),
          )
          .min(1)
          .max(200)
          .describe('The comments, each on one line of one file'),
        summary: z.string().min(1).max(20000).optional().describe('A word on the whole review, after the comments'),
        async: asyncFlag,
        timeout_seconds: timeoutSeconds,
      }),
      outputSchema: outcomeSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args, extra) => {
      const subject: AdviceSubject = { session: args.name, resuming: true };
      return guarded(async () => {
        const session = await ao().sessions.review(args.name, {
          comments: args.comments,
          ...(args.summary ? { summary: args.summary } : {}),
        });
        if (args.async) return started(session, 'is working on the review');
        return waitForOutcome(session, args.timeout_seconds, extra, subject);
      }, subject);
    },
  );

  registerApprovalTools(server, ao);
  registerAuditTool(server, ao);
  registerScheduleTools(server, ao);
}
