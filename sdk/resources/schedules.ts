import type { Client } from 'openapi-fetch';
import type { components, paths } from '../generated/runtime.js';
import { data } from '../http.js';

export type Schedule = components['schemas']['Schedule'];
export type ScheduleCreate = components['schemas']['ScheduleCreate'];
export type ScheduleDetail = components['schemas']['ScheduleDetail'];
export type Firing = components['schemas']['Firing'];
export type FiringOutcome = components['schemas']['FiringOutcome'];

/**
 * Schedules in the Agent Runtime: `ao.schedules`. A schedule starts a new session, or resumes a
 * named one, on a cron expression in a time zone or at an interval, each firing once even when
 * several runtime processes share a database.
 *
 * ```ts
 * await ao.schedules.create({ name: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin', agent: 'reviewer', prompt: 'Review the dependencies' });
 * await ao.schedules.create({ name: 'tick', every: '30m', session: 'triage', prompt: 'Anything new since {last_run}?' });
 * ```
 */
export class Schedules {
  constructor(private readonly client: Client<paths>) {}

  /** Every schedule, by name, with its next and last firing. */
  async list(): Promise<Schedule[]> {
    return (await data(this.client.GET('/schedules'))).schedules;
  }

  create(schedule: ScheduleCreate): Promise<Schedule> {
    return data(this.client.POST('/schedules', { body: schedule }));
  }

  /** The schedule and its recent firings, newest first. */
  get(name: string): Promise<ScheduleDetail> {
    return data(this.client.GET('/schedules/{name}', { params: { path: { name } } }));
  }

  /** Deletes the schedule and its record of firings; the sessions it started stay. */
  async delete(name: string): Promise<void> {
    await data(this.client.DELETE('/schedules/{name}', { params: { path: { name } } }));
  }

  pause(name: string): Promise<Schedule> {
    return data(this.client.POST('/schedules/{name}/pause', { params: { path: { name } } }));
  }

  /** Fires again from the next time after now (what fell due while paused is not made). */
  resume(name: string): Promise<Schedule> {
    return data(this.client.POST('/schedules/{name}/resume', { params: { path: { name } } }));
  }

  /** Fires once now, besides the schedule's times; the firing's outcome shows in `get`. */
  runNow(name: string): Promise<Firing> {
    return data(this.client.POST('/schedules/{name}/firings', { params: { path: { name } } }));
  }
}
