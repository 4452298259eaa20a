import type { components } from '../../sdk/generated/registry.js';
import type { AuditStore } from '../common/audit/audit-store.js';
import { notFound } from '../common/contract/problem.js';

export type Agent = components['schemas']['Agent'];
export type AgentCreate = components['schemas']['AgentCreate'];
export type AgentUpdate = components['schemas']['AgentUpdate'];

const OPTIONAL_FIELDS = [
  'cli',
  'system_prompt',
  'mcp_servers',
  'model',
  'permission_mode',
  'allowed_tools',
  'disallowed_tools',
  'output_schema',
  'worktree',
  'worktree_setup',
  'checkpoint',
  'approval',
  'limits',
  'warm',
  'warm_after_run',
  'resume_after_limit',
  'stall_after_seconds',
  'stall_action',
] as const;

/**
 * Where the registry keeps blueprints: the embedded nedb file (agent-store-nedb.ts) or PostgreSQL
 * (agent-store-postgres.ts), chosen at start (agent-store-select.ts). Names are unique; a missing
 * name is a 404 problem, a taken one a 409.
 */
export interface AgentStore {
  /** Who changed which blueprint (servers/registry/audit.ts): kept with the blueprints, in the same backend. */
  readonly audit: AuditStore;
  /** Every blueprint (of that status), by name. */
  list(status?: Agent['status']): Promise<Agent[]>;
  get(name: string): Promise<Agent>;
  find(name: string): Promise<Agent | null>;
  create(input: AgentCreate): Promise<Agent>;
  /** Sets the given fields; `null` removes an optional one. */
  update(name: string, changes: AgentUpdate): Promise<Agent>;
  /** Creates or replaces a blueprint kept as a folder; its status and creation time survive. */
  upsertFromFolder(input: AgentCreate): Promise<void>;
  delete(name: string): Promise<void>;
  /** Lets go of files and connections. */
  close(): Promise<void>;
}

/** What every backend does the same way, over its own `find`, `create` and `update`. */
export abstract class AgentStoreBase implements AgentStore {
  abstract readonly audit: AuditStore;
  abstract list(status?: Agent['status']): Promise<Agent[]>;
  abstract find(name: string): Promise<Agent | null>;
  abstract create(input: AgentCreate): Promise<Agent>;
  abstract update(name: string, changes: AgentUpdate): Promise<Agent>;
  abstract delete(name: string): Promise<void>;
  abstract close(): Promise<void>;

  async get(name: string): Promise<Agent> {
    const agent = await this.find(name);
    if (!agent) throw notFound(`Agent '${name}' not found`, 'agent-not-found');
    return agent;
  }

  async upsertFromFolder(input: AgentCreate): Promise<void> {
    const existing = await this.find(input.name);
    if (!existing) {
      await this.create(input);
      return;
    }
    const changes: AgentUpdate = { description: input.description };
    for (const key of OPTIONAL_FIELDS) changes[key] = (input[key] ?? null) as never;
    await this.update(input.name, changes);
  }
}

/** A new blueprint as stored, from what a client sent. */
export function newAgent(input: AgentCreate, now: string): Agent {
  return { ...input, status: input.status ?? 'active', created_at: now, modified_at: now };
}
