#!/usr/bin/env node
import type { FiringOutcome, Orchestrator, Schedule, ScheduleCreate, ScheduleDetail } from '../sdk/index.js';
import { checkName, CliError, main, stringOption, type Options } from './lib/cli.js';

const ACTIONS = ['add', 'list', 'show', 'pause', 'resume', 'run-now', 'delete'] as const;
type Action = (typeof ACTIONS)[number];
const OVERLAP = ['skip', 'queue_one', 'allow'] as const;

await main({
  name: 'ao-schedule',
  args: ['action'],
  optionalArgs: ['name'],
  description: [
    'Sessions at set times: add, list, show, pause, resume, run-now or delete a schedule.',
    'A schedule fires on --cron (with --tz) or --every (30s, 15m, 1h30m, 1d). Each firing starts a new session',
    '(named from --session-name, default {schedule}-{stamp}, from --agent in --project-dir) or, with --session,',
    'resumes that session, its conversation kept. The prompt is a template: {date}, {time}, {stamp}, {last_run},',
    '{last_result}, {check} (the --pre-check output). Every firing is made once, also by several runtimes on one database.',
  ],
  options: [
    { name: 'prompt', short: 'p', type: 'string', value: 'TEMPLATE', description: 'The prompt of each firing (add)' },
    { name: 'cron', type: 'string', value: 'EXPR', description: 'Cron expression: 5 fields, or 6 with seconds first' },
    { name: 'tz', type: 'string', value: 'ZONE', description: 'IANA time zone of --cron and {date} (default UTC)' },
    {
      name: 'every',
      type: 'string',
      value: 'INTERVAL',
      description: 'Fire at this interval instead: 30s, 15m, 1h30m, 1d',
    },
    { name: 'jitter-seconds', type: 'string', value: 'N', description: 'Fire each time up to N seconds late' },
    { name: 'start-at', type: 'string', value: 'TIME', description: 'No firing before this ISO time' },
    { name: 'end-at', type: 'string', value: 'TIME', description: 'No firing after this ISO time' },
    { name: 'session', type: 'string', value: 'NAME', description: 'Resume this session at each firing' },
    { name: 'agent', type: 'string', value: 'AGENT', description: 'Blueprint of the new sessions' },
    { name: 'session-name', type: 'string', value: 'TEMPLATE', description: 'Names of the new sessions' },
    { name: 'project-dir', type: 'string', value: 'DIR', description: 'Where the new sessions work' },
    { name: 'worktree', type: 'boolean', description: 'Each new session in a git worktree of its own' },
    { name: 'parent', type: 'string', value: 'NAME', description: 'Parent session of the new sessions' },
    {
      name: 'pre-check',
      type: 'string',
      value: 'COMMAND',
      description: 'Run before each firing (no shell; words, or a JSON array): exit 0 fires',
    },
    { name: 'pre-check-timeout', type: 'string', value: 'SECONDS', description: 'Give the pre-check this long (60)' },
    {
      name: 'overlap',
      type: 'string',
      value: 'POLICY',
      description: 'When the last firing still runs: skip, queue_one, allow',
    },
    {
      name: 'catch-up-seconds',
      type: 'string',
      value: 'N',
      description: 'Make a firing missed while down if at most N s late (3600)',
    },
    { name: 'pause-after-failures', type: 'string', value: 'N', description: 'Pause after N failed firings in a row' },
    { name: 'paused', type: 'boolean', description: 'Add it paused' },
  ],
  examples: [
    'ao-schedule add nightly --cron "0 3 * * *" --tz Europe/Berlin --agent reviewer --project-dir ~/app -p "Review the dependencies"',
    'ao-schedule add tick --every 30m --session triage -p "Anything new since {last_run}?"',
    'ao-schedule list',
    'ao-schedule show nightly',
    'ao-schedule run-now nightly',
    'ao-schedule pause nightly',
  ],
  async run(ctx, args, options) {
    const action = args[0] as Action;
    if (!ACTIONS.includes(action))
      throw new CliError(`Unknown action '${args[0]}': use one of ${ACTIONS.join(', ')}`, 'usage');
    const name = args[1];
    if (action !== 'list') {
      if (name === undefined) throw new CliError(`ao-schedule ${action} needs a schedule name`, 'usage');
      checkName(name, 'Schedule');
    }
    const ao = await ctx.client();
    const print = (schedule: Schedule) => (ctx.json ? ctx.outJson(schedule) : ctx.out(describe(schedule)));
    switch (action) {
      case 'add':
        return print(await ao.schedules.create(scheduleOf(name!, options)));
      case 'list': {
        const schedules = await ao.schedules.list();
        if (ctx.json) ctx.outJson({ schedules });
        else if (schedules.length) ctx.out(schedules.map(describe).join('\n'));
        else ctx.note('No schedules — add one with ao-schedule add NAME --every 1h -p PROMPT');
        return;
      }
      case 'show':
        return show(ctx, await ao.schedules.get(name!));
      case 'pause':
        return print(await ao.schedules.pause(name!));
      case 'resume':
        return print(await ao.schedules.resume(name!));
      case 'run-now': {
        const firing = await ao.schedules.runNow(name!);
        if (ctx.json) ctx.outJson(firing);
        else ctx.out(`${firing.id}: due now — see ao-schedule show ${name}`);
        return;
      }
      case 'delete':
        await deleteSchedule(ao, name!);
        if (!ctx.json) ctx.note(`Deleted schedule '${name}' (the sessions it started stay)`);
        return;
    }
  },
});

async function deleteSchedule(ao: Orchestrator, name: string) {
  await ao.schedules.delete(name);
}

function integer(options: Options, option: string): number | undefined {
  const text = stringOption(options, option);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CliError(`--${option} must be a whole number, not '${text}'`, 'usage');
  return Number(text);
}

/** `--pre-check "git fetch --dry-run"` as words, or `'["sh","-c","..."]'` as a JSON array. */
function commandOf(text: string): string[] {
  if (text.trim().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError('--pre-check: not a JSON array of strings', 'usage');
    }
    if (!Array.isArray(parsed) || !parsed.length || !parsed.every((w) => typeof w === 'string' && w))
      throw new CliError('--pre-check: not a JSON array of strings', 'usage');
    return parsed as string[];
  }
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (!words.length) throw new CliError('--pre-check needs a command', 'usage');
  return words;
}

function scheduleOf(name: string, options: Options): ScheduleCreate {
  const prompt = stringOption(options, 'prompt', '-p');
  if (prompt === undefined) throw new CliError('ao-schedule add needs a prompt: -p TEMPLATE', 'usage');
  const overlap = stringOption(options, 'overlap');
  if (overlap !== undefined && !OVERLAP.includes(overlap as (typeof OVERLAP)[number]))
    throw new CliError(`--overlap must be one of ${OVERLAP.join(', ')}, not '${overlap}'`, 'usage');
  const preCheck = stringOption(options, 'pre-check');
  const timeout = integer(options, 'pre-check-timeout');
  if (timeout !== undefined && preCheck === undefined)
    throw new CliError('--pre-check-timeout goes with --pre-check', 'usage');
  const strings = {
    cron: stringOption(options, 'cron'),
    tz: stringOption(options, 'tz'),
    every: stringOption(options, 'every'),
    start_at: stringOption(options, 'start-at'),
    end_at: stringOption(options, 'end-at'),
    session: stringOption(options, 'session'),
    agent: stringOption(options, 'agent'),
    session_name: stringOption(options, 'session-name'),
    project_dir: stringOption(options, 'project-dir'),
    parent: stringOption(options, 'parent'),
  };
  for (const [field, value] of Object.entries({ start_at: strings.start_at, end_at: strings.end_at })) {
    if (value !== undefined && Number.isNaN(Date.parse(value)))
      throw new CliError(`--${field.replace('_', '-')} must be an ISO time such as 2026-12-24T18:00:00Z`, 'usage');
  }
  const numbers = {
    jitter_seconds: integer(options, 'jitter-seconds'),
    catch_up_seconds: integer(options, 'catch-up-seconds'),
    pause_after_failures: integer(options, 'pause-after-failures'),
  };
  const schedule: Record<string, unknown> = { name, prompt };
  for (const [key, value] of Object.entries({ ...strings, ...numbers })) if (value !== undefined) schedule[key] = value;
  if (schedule.start_at) schedule.start_at = new Date(Date.parse(schedule.start_at as string)).toISOString();
  if (schedule.end_at) schedule.end_at = new Date(Date.parse(schedule.end_at as string)).toISOString();
  if (overlap) schedule.overlap = overlap;
  if (options.worktree) schedule.worktree = true;
  if (options.paused) schedule.paused = true;
  if (preCheck !== undefined)
    schedule.pre_check = {
      command: commandOf(preCheck),
      ...(timeout !== undefined ? { timeout_seconds: timeout } : {}),
    };
  return schedule as unknown as ScheduleCreate;
}

function when(schedule: Schedule): string {
  return schedule.cron !== undefined
    ? `cron "${schedule.cron}"${schedule.tz ? ` ${schedule.tz}` : ''}`
    : `every ${schedule.every}`;
}

function describe(schedule: Schedule): string {
  const target = schedule.session
    ? `resumes ${schedule.session}`
    : `new session${schedule.agent ? ` of ${schedule.agent}` : ''}`;
  const next = schedule.paused
    ? `paused${schedule.paused_reason ? ` (${schedule.paused_reason})` : ''}`
    : schedule.next_fire_at
      ? `next ${schedule.next_fire_at}`
      : 'no more firings';
  const last = schedule.last_fire_at
    ? `last ${schedule.last_fire_at} ${schedule.last_session ?? ''} ${outcomeWord(schedule.last_outcome)}`.trim()
    : 'never fired';
  return `${schedule.name}  ${when(schedule)}  ${target}  ${next}  ${last}${schedule.missed ? `  missed ${schedule.missed}` : ''}`;
}

function outcomeWord(outcome: FiringOutcome | null): string {
  return outcome === null ? '' : `(${outcome})`;
}

function show(ctx: { json: boolean; out(text: string): void; outJson(value: unknown): void }, detail: ScheduleDetail) {
  if (ctx.json) return ctx.outJson(detail);
  const lines = [describe(detail.schedule), `prompt: ${detail.schedule.prompt}`];
  if (!detail.firings.length) lines.push('no firings yet');
  for (const firing of detail.firings) {
    lines.push(
      `  ${firing.due_at}  ${firing.outcome}${firing.session ? `  ${firing.session}` : ''}${firing.reason ? `  ${firing.reason}` : ''}${firing.manual ? '  (run-now)' : ''}`,
    );
  }
  ctx.out(lines.join('\n'));
}
