import type { operations } from '../../sdk/generated/runtime.js';
import type { Handlers } from '../common/operations.js';
import type { Scheduler } from './scheduler.js';

type ScheduleOperations =
  | 'listSchedules'
  | 'createSchedule'
  | 'getSchedule'
  | 'deleteSchedule'
  | 'pauseSchedule'
  | 'resumeSchedule'
  | 'fireSchedule';

/** The `/schedules` operations. */
export function scheduleHandlers(scheduler: Scheduler): Pick<Handlers<operations>, ScheduleOperations> {
  return {
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
