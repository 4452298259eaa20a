import type { Client } from 'openapi-fetch';
import type { components, paths } from '../generated/runtime.js';
import { data } from '../http.js';

export type Trigger = components['schemas']['Trigger'];
export type TriggerCreate = components['schemas']['TriggerCreate'];
export type TriggerDelivery = components['schemas']['TriggerDelivery'];

/**
 * Triggers in the Agent Runtime: `ao.triggers`. A signed event POSTed to `/triggers/{name}` (a GitHub
 * webhook, or any sender signing with the trigger's secret) starts a session, or resumes the session
 * owning the branch the event names.
 */
export class Triggers {
  constructor(private readonly client: Client<paths>) {}

  async list(): Promise<Trigger[]> {
    return (await data(this.client.GET('/triggers'))).triggers;
  }

  /** The secret is sent here only; it is never shown again. */
  create(trigger: TriggerCreate): Promise<Trigger> {
    return data(this.client.POST('/triggers', { body: trigger }));
  }

  /** The trigger and its recent deliveries, newest first. */
  get(name: string): Promise<{ trigger: Trigger; deliveries: TriggerDelivery[] }> {
    return data(this.client.GET('/triggers/{name}', { params: { path: { name } } }));
  }

  async delete(name: string): Promise<void> {
    await data(this.client.DELETE('/triggers/{name}', { params: { path: { name } } }));
  }
}
