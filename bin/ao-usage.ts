#!/usr/bin/env node
import type { Usage, UsageReport } from '../sdk/index.js';
import { checkName, CliError, listOption, main, stringOption } from './lib/cli.js';
import { ESTIMATE_NOTE, formatCost, formatDuration, table } from './lib/format.js';

const SECTIONS = ['session', 'agent', 'day'] as const;

const TOKEN_HEADER = ['RUNS', 'INPUT', 'OUTPUT', 'CACHE WRITE', 'CACHE READ', 'TOKENS', 'COST', 'WALL TIME'];

interface Figures {
  runs: number;
  usage: Usage;
  cost_usd: number;
  wall_ms: number;
  estimated: boolean;
}

function figures(row: Figures): string[] {
  const u = row.usage;
  return [
    String(row.runs),
    count(u.input_tokens),
    count(u.output_tokens),
    count(u.cache_creation_input_tokens),
    count(u.cache_read_input_tokens),
    count(tokens(u)),
    formatCost(row.cost_usd, row.estimated),
    formatDuration(row.wall_ms),
  ];
}

/** The tables for people; --by picks one. */
function render(report: UsageReport, by?: 'session' | 'agent' | 'day'): string {
  const parts: string[] = [];
  if (!by || by === 'session') {
    parts.push(
      table(
        ['SESSION', 'AGENT', 'STATE', ...TOKEN_HEADER],
        report.sessions.map((s) => [s.name, s.agent ?? '-', s.state, ...figures(s)]),
      ),
    );
  }
  if (!by || by === 'agent') {
    parts.push(
      table(
        ['AGENT', 'SESSIONS', ...TOKEN_HEADER],
        report.agents.map((a) => [a.agent ?? '-', String(a.sessions), ...figures(a)]),
      ),
    );
  }
  if (!by || by === 'day') {
    parts.push(
      table(
        ['DAY (UTC)', 'SESSIONS', ...TOKEN_HEADER],
        report.days.map((d) => [d.day, String(d.sessions), ...figures(d)]),
      ),
    );
  }
  const t = report.totals;
  if (!by) {
    parts.push(
      `Total: ${t.sessions} session${t.sessions === 1 ? '' : 's'}, ${t.runs} run${t.runs === 1 ? '' : 's'}, ${count(tokens(t.usage))} tokens ` +
        `(input ${count(t.usage.input_tokens)}, output ${count(t.usage.output_tokens)}, cache write ${count(t.usage.cache_creation_input_tokens)}, ` +
        `cache read ${count(t.usage.cache_read_input_tokens)}), ${formatCost(t.cost_usd, t.estimated)}, ` +
        `${formatDuration(t.wall_ms)} wall time (Claude Code's own measure: ${formatDuration(t.duration_ms)})`,
    );
  }
  if (report.totals.estimated) parts.push(ESTIMATE_NOTE);
  return parts.join('\n\n');
}

const tokens = (u: Usage) =>
  u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
const count = (n: number) => n.toLocaleString('en-US');

await main({
  name: 'ao-usage',
  description: [
    "Token usage, cost and wall time of the sessions' runs: per session (most expensive first), per agent,",
    "per UTC day a run started, and the total. Costs are Claude Code's own estimate; a run still going counts",
    'with the tokens billed so far, its cost estimated from them (marked ~). WALL TIME runs from each start to',
    'its end (or now). With --json: the whole report, as GET /usage answers it.',
  ],
  options: [
    { name: 'session', type: 'string', value: 'NAMES', description: 'Only these sessions (comma-separated)' },
    { name: 'agent', type: 'string', value: 'NAME', description: 'Only sessions started from this agent blueprint' },
    {
      name: 'by',
      type: 'string',
      value: 'WHAT',
      description: `Only this table: ${SECTIONS.join(', ')} (default: all three and the total)`,
    },
  ],
  examples: [`ao-usage`, `ao-usage --by agent`, `ao-usage --session fix-tests,review-1`, `ao-usage --json`],
  async run(ctx, _args, options) {
    const sessions = listOption(options, 'session');
    sessions?.forEach((name) => {
      checkName(name);
    });
    const agent = stringOption(options, 'agent');
    if (agent !== undefined) checkName(agent, 'Agent');
    const by = stringOption(options, 'by');
    if (by !== undefined && !(SECTIONS as readonly string[]).includes(by))
      throw new CliError(`--by must be one of ${SECTIONS.join(', ')}, not '${by}'`, 'usage');
    const ao = await ctx.client();
    const report = await ao.sessions.usage({ agent, sessions });
    const missing = (sessions ?? []).filter((name) => !report.sessions.some((s) => s.name === name));
    if (missing.length && !agent)
      throw new CliError(
        `${missing.length === 1 ? 'Session' : 'Sessions'} ${missing.map((n) => `'${n}'`).join(', ')} not found — see ao-list-sessions`,
        'session_not_found',
        { sessions: missing },
      );
    if (ctx.json) {
      ctx.outJson(report);
      return;
    }
    if (!report.sessions.length) {
      ctx.note(
        agent
          ? `No sessions${sessions ? ' of those' : ''} were started from agent '${agent}' — see ao-list-sessions --agent ${agent}`
          : 'No sessions — start one with ao-new <name> -p PROMPT',
      );
      return;
    }
    ctx.out(render(report, by as (typeof SECTIONS)[number] | undefined));
  },
});
