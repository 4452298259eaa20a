/** The usage tool: tokens, cost and time of the sessions' runs, as the Agent Runtime sums them. */
import { z } from 'zod';
import { RUN_STATES } from '../../sdk/generated/rules.js';
import { fitInChars, guarded, ok } from './format.js';
import { defineTool } from './tool.js';
import { NAME_PATTERN, NAME_RULE, NOTE } from './tool-schemas.js';

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

export const getAgentUsage = defineTool({
  name: 'get_agent_usage',
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
  handler: (args, { ao, maxChars }) =>
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
});
