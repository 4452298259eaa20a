#!/usr/bin/env node
import { RUN_STATES } from '../sdk/generated/rules.js';
import type { SessionSummary } from '../sdk/types.js';
import { CliError, listOption, main, stringOption } from './lib/cli.js';
import { ESTIMATE_NOTE, formatCost, formatDuration, table } from './lib/format.js';

const STATES = RUN_STATES;
type State = (typeof STATES)[number];

await main({
  name: 'ao-list-sessions',
  description: [
    'Lists sessions, most recently active first: name, state, agent, runs, cost (~: so far, an estimate,',
    'while a run goes), wall time of its runs (start to end, or to now), project directory.',
    'Shows one page (100 sessions unless --limit); --all walks every page.',
    'With --json: {"sessions": [...], "next_cursor": ..., "counts": {...}}, each session a summary (state, agent, project, times, runs, last run, totals of usage and cost); ao-show-config NAME has the whole session.',
  ],
  options: [
    {
      name: 'state',
      type: 'string',
      value: 'STATE[,STATE]',
      description: `Only sessions in these states (${STATES.join(', ')}); comma-separated, or --state again`,
    },
    { name: 'agent', type: 'string', value: 'BLUEPRINT', description: 'Only sessions started from this blueprint' },
    { name: 'prefix', type: 'string', value: 'TEXT', description: 'Only sessions whose name starts with TEXT' },
    {
      name: 'parent',
      type: 'string',
      value: 'NAME',
      description: 'Only the sessions NAME started (its children; ao-tree NAME shows all levels)',
    },
    {
      name: 'waiting',
      type: 'boolean',
      description: 'Only sessions that wait for an answer to an approval request (see ao-approvals)',
    },
    { name: 'limit', type: 'string', value: 'N', description: 'Sessions per page, 1 to 500 (default 100)' },
    { name: 'all', type: 'boolean', description: 'Every matching session, however many pages' },
    {
      name: 'full',
      type: 'boolean',
      description: 'With --json: whole sessions (every run with prompt, result, usage, cost) instead of summaries',
    },
  ],
  examples: [
    `ao-list-sessions`,
    `ao-list-sessions --state failed,stopped`,
    `ao-list-sessions --prefix review- --all --json`,
    `ao-list-sessions --all --full --json`,
  ],
  async run(ctx, _args, options) {
    const states = listOption(options, 'state');
    for (const state of states ?? []) {
      if (!(STATES as readonly string[]).includes(state))
        throw new CliError(`--state must be one of ${STATES.join(', ')}, not '${state}'`, 'usage');
    }
    const limitText = stringOption(options, 'limit');
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 500)) {
      throw new CliError(`--limit must be a whole number from 1 to 500, not '${limitText}'`, 'usage');
    }
    const filter = {
      state: states as State[] | undefined,
      agent: stringOption(options, 'agent'),
      prefix: stringOption(options, 'prefix'),
      parent: stringOption(options, 'parent'),
      limit,
      ...(options.waiting ? { waiting: true } : {}),
    };
    const ao = await ctx.client();
    const page = await ao.sessions.list(filter);
    const sessions: SessionSummary[] = page.sessions;
    let nextCursor = page.next_cursor;
    if (options.all) {
      for (let cursor = nextCursor; cursor; ) {
        const next = await ao.sessions.list({ ...filter, cursor });
        sessions.push(...next.sessions);
        cursor = next.next_cursor;
      }
      nextCursor = null;
    }
    if (ctx.json) {
      let listed: unknown[] = sessions;
      if (options.full) {
        // Whole sessions, a few requests at a time; one deleted meanwhile is left out.
        const { NotFoundError } = await import('../sdk/index.js');
        listed = [];
        for (let i = 0; i < sessions.length; i += 8) {
          const batch = await Promise.all(
            sessions.slice(i, i + 8).map((s) =>
              ao.sessions.get(s.name).catch((error: unknown) => {
                if (error instanceof NotFoundError) return null;
                throw error;
              }),
            ),
          );
          listed.push(...batch.filter((s) => s !== null));
        }
      }
      ctx.outJson({ sessions: listed, next_cursor: nextCursor, counts: page.counts });
      return;
    }
    const filtered = states || filter.agent || filter.prefix || filter.parent || options.waiting;
    if (!sessions.length) {
      ctx.note(filtered ? 'No sessions match.' : 'No sessions — start one with ao-new <name> -p PROMPT');
      return;
    }
    ctx.out(
      table(
        ['NAME', 'STATE', 'AGENT', 'RUNS', 'COST', 'WALL TIME', 'PROJECT'],
        sessions.map((s) => [
          s.name,
          s.pending_approvals ? `${s.state} (asks: ao-approvals)` : s.state,
          s.agent ?? '-',
          String(s.runs),
          formatCost(s.totals.cost_usd, s.totals.estimated),
          formatDuration(s.totals.wall_ms),
          s.project_dir,
        ]),
      ),
    );
    if (sessions.some((s) => s.totals.estimated)) ctx.note(ESTIMATE_NOTE);
    if (nextCursor) {
      const counts = STATES.filter((s) => page.counts[s])
        .map((s) => `${page.counts[s]} ${s}`)
        .join(', ');
      ctx.note(
        `${sessions.length} shown; more on further pages (all sessions: ${counts}) — --all lists every one, --limit N more per page`,
      );
    }
  },
});
