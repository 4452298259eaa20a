#!/usr/bin/env node
import { CliError, main, stringOption } from './lib/cli.js';
import { formatDuration, table } from './lib/format.js';

const STATES = ['queued', 'running', 'finished', 'failed', 'stopped'] as const;

await main({
  name: 'ao-list-sessions',
  description: [
    'Lists sessions, newest first: name, state, agent, runs, time spent, project directory.',
    'With --json: {"sessions": [...]}, each session with all its runs (prompt, state, times, result, error, usage, cost) and totals.',
  ],
  options: [
    { name: 'state', type: 'string', value: 'STATE', description: `Only sessions in this state (${STATES.join(', ')})` },
  ],
  examples: [`ao-list-sessions`, `ao-list-sessions --state running`, `ao-list-sessions --json`],
  async run(ctx, _args, options) {
    const state = stringOption(options, 'state');
    if (state !== undefined && !(STATES as readonly string[]).includes(state)) {
      throw new CliError(`--state must be one of ${STATES.join(', ')}, not '${state}'`, 'usage');
    }
    const ao = await ctx.client();
    const sessions = await ao.sessions.list({ state: state as (typeof STATES)[number] | undefined });
    if (ctx.json) {
      ctx.outJson({ sessions });
      return;
    }
    if (!sessions.length) {
      ctx.note(state ? `No ${state} sessions.` : 'No sessions — start one with ao-new <name> -p PROMPT');
      return;
    }
    ctx.out(table(
      ['NAME', 'STATE', 'AGENT', 'RUNS', 'TIME', 'PROJECT'],
      sessions.map((s) => [s.name, s.state, s.agent ?? '-', String(s.runs.length), formatDuration(s.totals.duration_ms), s.project_dir]),
    ));
  },
});
