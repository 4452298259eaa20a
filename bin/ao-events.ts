#!/usr/bin/env node
import type { SessionEvent } from '../sdk/index.js';
import { formatUsd } from '../sdk/money.js';
import { checkName, CliError, main, stringOption } from './lib/cli.js';
import { formatToolCall, oneLine } from './lib/format.js';
import { answeredBy } from './lib/approvals.js';

const TYPES = [
  'session_start',
  'message',
  'pre_tool',
  'post_tool',
  'result',
  'session_stop',
  'approval_request',
  'approval_answer',
  'worktree_setup',
  'output_retry',
  'stalled',
  'raw',
];

const STALL_ACTIONS = {
  notify: 'stalled (it goes on)',
  stop: 'stalled, stopped by the watchdog',
  nudge: 'stalled, stopped by the watchdog and resumed with a status question',
};

await main({
  name: 'ao-events',
  args: ['name'],
  description: [
    'Prints what a session did, one event per line: its prompts and answers, tool calls and their results, outcomes.',
    'With --follow, waits for new events until the last run ends. With --json: {"events": [...]}, or one JSON event per line with --follow.',
  ],
  options: [
    {
      name: 'follow',
      short: 'f',
      type: 'boolean',
      description: 'Keep printing events as they happen, until the last run ends',
    },
    { name: 'type', type: 'string', value: 'TYPE', description: `Only events of this type (${TYPES.join(', ')})` },
    { name: 'run', type: 'string', value: 'N', description: 'Only events of run N' },
    {
      name: 'after',
      type: 'string',
      value: 'SEQ',
      description: 'Only events after this sequence number (#SEQ), e.g. the last one you saw',
    },
  ],
  examples: [
    `ao-events fix-tests`,
    `ao-events fix-tests --type pre_tool`,
    `ao-events long-job --follow`,
    `ao-events fix-tests --follow --after 42`,
    `ao-events fix-tests --json`,
  ],
  async run(ctx, [name], options) {
    checkName(name!);
    const type = stringOption(options, 'type');
    if (type !== undefined && !TYPES.includes(type))
      throw new CliError(`--type must be one of ${TYPES.join(', ')}, not '${type}'`, 'usage');
    const runText = stringOption(options, 'run');
    const run = runText === undefined ? undefined : Number(runText);
    if (run !== undefined && !(Number.isInteger(run) && run > 0))
      throw new CliError(`--run must be a run number (1, 2, ...), not '${runText}'`, 'usage');
    const afterText = stringOption(options, 'after');
    const after = afterText === undefined ? 0 : Number(afterText);
    if (!(Number.isInteger(after) && after >= 0))
      throw new CliError(`--after must be a sequence number (0, 1, 2, ...), not '${afterText}'`, 'usage');
    const wanted = (event: SessionEvent) =>
      (type === undefined || event.type === type) && (run === undefined || event.run === run);
    ctx.about({ session: name });
    const ao = await ctx.client();
    const session = options.follow || run !== undefined ? await ao.sessions.get(name!) : undefined;
    if (session && run !== undefined && run > session.runs.length)
      throw new CliError(
        `Session '${name}' has ${session.runs.length === 1 ? '1 run' : `runs 1 to ${session.runs.length}`}, no run ${run}`,
        'run_not_found',
      );
    // Following a session that has ended would wait for an end already past: print what there is.
    if (options.follow && session && (session.state === 'queued' || session.state === 'running')) {
      const lastRun = session.runs.length;
      for await (const event of ao.sessions.events(name!, { after })) {
        if (wanted(event)) {
          if (ctx.json) process.stdout.write(`${JSON.stringify(event)}\n`);
          else ctx.out(describe(event));
        }
        if (event.type === 'session_stop' && event.run >= lastRun) break;
      }
      return;
    }
    const events: SessionEvent[] = [];
    for (let from = after; ; ) {
      const page = await ao.sessions.listEvents(name!, { after: from, limit: 1000 });
      events.push(...(page.events as SessionEvent[]));
      if (!page.has_more || !page.events.length) break;
      from = page.events.at(-1)!.seq;
    }
    const shown = events.filter(wanted);
    if (ctx.json && options.follow)
      shown.forEach((event) => {
        process.stdout.write(`${JSON.stringify(event)}\n`);
      });
    else if (ctx.json) ctx.outJson({ events: shown });
    else if (shown.length) ctx.out(shown.map(describe).join('\n'));
  },
});

function describe(event: SessionEvent): string {
  return `#${event.seq} run ${event.run} ${event.type.padEnd(13)} ${summary(event)}`.trimEnd();
}

function summary(event: SessionEvent): string {
  switch (event.type) {
    case 'session_start':
      return [event.data.model && `model=${event.data.model}`, event.data.cwd && `cwd=${event.data.cwd}`]
        .filter(Boolean)
        .join(' ');
    case 'message':
      return `${event.data.role}: ${oneLine(event.data.text, 200)}`;
    case 'pre_tool':
      return formatToolCall(event.data.tool, event.data.input);
    case 'post_tool':
      return `${event.data.tool ?? 'tool'} ${event.data.is_error ? 'error' : 'ok'}: ${oneLine(event.data.output, 160)}`;
    case 'result': {
      const parts = [event.data.is_error ? 'error' : 'success'];
      if (event.data.num_turns !== undefined) parts.push(`${event.data.num_turns} turns`);
      if (event.data.total_cost_usd !== undefined) parts.push(formatUsd(event.data.total_cost_usd));
      if (event.data.text) parts.push(oneLine(event.data.text, 160));
      const limit = event.data.usage_limit;
      if (limit)
        parts.push(
          limit.resets_at
            ? `hit the usage limit; it resets at ${limit.resets_at.slice(11, 19)} UTC`
            : 'hit a usage or rate limit (no reset time given)',
        );
      return parts.join(', ');
    }
    case 'session_stop':
      return `${event.data.reason}${event.data.exit_code !== undefined && event.data.exit_code !== null ? ` (exit ${event.data.exit_code})` : ''}`;
    case 'approval_request':
      return `${event.data.id} asks: ${formatToolCall(event.data.tool, event.data.input)}`;
    case 'approval_answer':
      return `${event.data.id} ${event.data.state}${answeredBy(event.data.answered_by, event.data.answerer)}${event.data.message ? `: ${oneLine(event.data.message, 160)}` : ''}`;
    case 'worktree_setup':
      return `${event.data.command}: ${event.data.timed_out ? 'timed out' : `exit ${event.data.exit_code}`}${event.data.output ? ` ${oneLine(event.data.output, 160)}` : ''}`;
    case 'output_retry':
      return `the answer before was rejected (${oneLine(event.data.errors.join('; '), 160)}); attempt ${event.data.attempt} asks again`;
    case 'stalled':
      return `no event for ${event.data.silent_seconds} s: ${STALL_ACTIONS[event.data.action]}`;
    case 'raw':
      return `${event.data.cli}: ${oneLine(JSON.stringify(event.data.event) ?? '', 160)}`;
    default:
      return '';
  }
}
