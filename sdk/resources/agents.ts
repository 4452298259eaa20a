import type { Client } from 'openapi-fetch';
import type { paths } from '../generated/registry.js';
import { data } from '../http.js';
import type { Agent, AgentCreate, AgentStatus, AgentUpdate } from '../types.js';

/** Agent blueprints in the Agent Registry: `ao.agents`. */
export class Agents {
  constructor(private readonly client: Client<paths>) {}

  /** Blueprints sorted by name, optionally only those with `status`. */
  async list(options: { status?: AgentStatus | undefined } = {}): Promise<Agent[]> {
    const query = options.status ? { status: options.status } : {};
    return (await data(this.client.GET('/agents', { params: { query } }))).agents;
  }

  get(name: string): Promise<Agent> {
    return data(this.client.GET('/agents/{name}', { params: { path: { name } } }));
  }

  /** Creates a blueprint; a ConflictError when the name is taken. */
  create(input: AgentCreate): Promise<Agent> {
    return data(this.client.POST('/agents', { body: input }));
  }

  /** Changes some fields (JSON merge: `null` removes an optional field). The name cannot change. */
  update(name: string, changes: AgentUpdate): Promise<Agent> {
    return data(this.client.PATCH('/agents/{name}', { params: { path: { name } }, body: changes }));
  }

  /** Deletes a blueprint; sessions started from it keep running. */
  async delete(name: string): Promise<void> {
    await data(this.client.DELETE('/agents/{name}', { params: { path: { name } } }));
  }

  /** Activates or deactivates a blueprint; inactive ones cannot start sessions. */
  setStatus(name: string, status: AgentStatus): Promise<Agent> {
    return data(this.client.PATCH('/agents/{name}/status', { params: { path: { name } }, body: { status } }));
  }
}
