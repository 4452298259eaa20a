import type { operations } from '../../sdk/generated/runtime.js';
import type { Handlers } from '../common/http/operations.js';
import type { Scheduler } from './scheduler.js';
import type { Triggers } from './triggers.js';

type ScheduleOperations =
  | 'listSchedules'
  | 'createSchedule'
  | 'getSchedule'
  | 'deleteSchedule'
  | 'pauseSchedule'
  | 'resumeSchedule'
  | 'fireSchedule'
  | 'listTriggers'
  | 'createTrigger'
  | 'getTrigger'
  | 'deliverTrigger'
  | 'deleteTrigger';

/** The `/schedules` and `/triggers` operations. */
export function scheduleHandlers(
  scheduler: Scheduler,
  triggers: Triggers,
): Pick<Handlers<operations>, ScheduleOperations> {
  return {
    listTriggers: async () => ({ status: 200, body: { triggers: await triggers.list() } }),
    createTrigger: async ({ body }) => {
      const trigger = await triggers.create(body);
      return { status: 201, body: trigger, headers: { Location: `/triggers/${trigger.name}` } };
    },
    getTrigger: async ({ path }) => ({ status: 200, body: await triggers.get(path.name) }),
    deleteTrigger: async ({ path }) => {
      await triggers.delete(path.name);
      return { status: 204, body: undefined };
    },
    deliverTrigger: async ({ path, body, ctx }) => {
      // The signature is of the bytes sent, not of the JSON parsed from them.
      const raw = (ctx.request as { rawBody?: string }).rawBody ?? '';
      const { duplicate, delivery } = await triggers.deliver(path.name, raw, body, (name) => ctx.get(name));
      return { status: duplicate ? 200 : 202, body: delivery };
    },
    listSchedules: async () => ({ status: 200, body: { schedules: await scheduler.list() } }),
    createSchedule: async ({ body }) => {
      const schedule = await scheduler.create(body);
      return { status: 201, body: schedule, headers: { Location: `/schedules/${schedule.name}` } };
    },
    getSchedule: async ({ path }) => ({ status: 200, body: await scheduler.get(path.name) }),
    deleteSchedule: async ({ path }) => {
      await scheduler.delete(path.name);
      return { status: 204, body: undefined };
    },
    pauseSchedule: async ({ path }) => ({ status: 200, body: await scheduler.pause(path.name) }),
    resumeSchedule: async ({ path }) => ({ status: 200, body: await scheduler.resume(path.name) }),
    fireSchedule: async ({ path }) => ({ status: 202, body: await scheduler.fireNow(path.name) }),
  };
}
