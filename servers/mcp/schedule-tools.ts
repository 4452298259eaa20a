/**
 * The schedules tool: what `ao-schedule` does, for a person's MCP client (an agent's credential is
 * refused: schedules are for people).
 */
import { z } from 'zod';
import type { Firing, Schedule, ScheduleCreate } from '../../sdk/index.js';
import { guarded, ok, ToolFailure } from './format.js';
import { defineTool } from './tool.js';

const SCHEDULE = z.object({
  name: z.string(),
  when: z.string(),
  target: z.string(),
  paused: z.boolean(),
  next_fire_at: z.string().nullable(),
  last_fire_at: z.string().nullable(),
  last_session: z.string().nullable(),
  last_outcome: z.string().nullable(),
  missed: z.number().int(),
});

const FIRING = z.object({
  due_at: z.string(),
  outcome: z.string(),
  session: z.string().nullable(),
  reason: z.string().nullable(),
});

const brief = (s: Schedule) => ({
  name: s.name,
  when: s.cron !== undefined ? `cron ${s.cron}${s.tz ? ` (${s.tz})` : ''}` : `every ${s.every}`,
  target: s.session ? `resumes ${s.session}` : `new session${s.agent ? ` of ${s.agent}` : ''}`,
  paused: s.paused,
  next_fire_at: s.next_fire_at,
  last_fire_at: s.last_fire_at,
  last_session: s.last_session,
  last_outcome: s.last_outcome,
  missed: s.missed,
});

const line = (s: Schedule) => {
  const b = brief(s);
  return `${b.name}: ${b.when}, ${b.target}; ${b.paused ? 'paused' : `next ${b.next_fire_at ?? 'never'}`}; last ${b.last_fire_at ?? 'never'}${b.last_session ? ` (${b.last_session}, ${b.last_outcome})` : ''}`;
};

const firing = (f: Firing) => ({ due_at: f.due_at, outcome: f.outcome, session: f.session, reason: f.reason });

export const manageSchedules = defineTool({
  name: 'manage_schedules',
  title: 'Manage schedules',
  description:
    'Sessions at set times. action list: every schedule with its next and last firing; show: one schedule and its recent firings; add: a new schedule (name, prompt, and cron with tz, or every such as 30m; a new session each firing from agent/project_dir, or resume the session named in session); pause, resume, run_now, delete: by name. The prompt may use {date}, {last_run}, {last_result}.',
  inputSchema: z.strictObject({
    action: z
      .enum(['list', 'show', 'add', 'pause', 'resume', 'run_now', 'delete'])
      .describe('What to do; run_now fires once now, besides the schedule'),
    name: z.string().min(1).max(60).optional().describe('The schedule (all actions but list)'),
    prompt: z.string().min(1).optional().describe('add: the prompt template'),
    cron: z.string().optional().describe('add: a cron expression (5 fields, minute first)'),
    tz: z.string().optional().describe('add: the IANA time zone of cron, e.g. Europe/Berlin'),
    every: z.string().optional().describe('add: an interval instead of cron, e.g. 30m, 1h, 1d'),
    session: z.string().optional().describe('add: resume this session at each firing'),
    agent: z.string().optional().describe('add: the blueprint of each new session'),
    project_dir: z.string().optional().describe('add: where each new session works'),
    overlap: z.enum(['skip', 'queue_one', 'allow']).optional().describe('add: when the last firing still runs'),
  }),
  outputSchema: z.object({ schedules: z.array(SCHEDULE), firings: z.array(FIRING) }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
  handler: (args, { ao }) =>
    guarded(async () => {
      const client = ao();
      if (args.action === 'list') {
        const schedules = await client.schedules.list();
        const text = schedules.length ? schedules.map(line).join('\n') : 'No schedules.';
        return ok(text, { schedules: schedules.map(brief), firings: [] });
      }
      const name = args.name;
      if (!name) throw new ToolFailure(`${args.action} needs name`);
      switch (args.action) {
        case 'show': {
          const { schedule, firings } = await client.schedules.get(name);
          const lines = firings.map(
            (f) => `- ${f.due_at}: ${f.outcome}${f.session ? ` ${f.session}` : ''}${f.reason ? ` (${f.reason})` : ''}`,
          );
          return ok([line(schedule), ...lines].join('\n'), {
            schedules: [brief(schedule)],
            firings: firings.map(firing),
          });
        }
        case 'add': {
          const { action, name: _name, ...rest } = args;
          const schedule = await client.schedules.create({ name, ...rest } as ScheduleCreate);
          return ok(`Added: ${line(schedule)}`, { schedules: [brief(schedule)], firings: [] });
        }
        case 'pause':
        case 'resume': {
          const schedule = await client.schedules[args.action](name);
          return ok(line(schedule), { schedules: [brief(schedule)], firings: [] });
        }
        case 'run_now': {
          const made = await client.schedules.runNow(name);
          return ok(`Firing ${made.id} is due now; see its outcome with action show`, {
            schedules: [],
            firings: [firing(made)],
          });
        }
        case 'delete':
          await client.schedules.delete(name);
          return ok(`Deleted schedule '${name}' (the sessions it started stay)`, { schedules: [], firings: [] });
      }
    }),
});
