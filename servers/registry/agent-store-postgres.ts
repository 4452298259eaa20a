import { PostgresAuditStore } from '../common/audit/postgres-audit.js';
import type { Logger } from '../common/logger.js';
import { openDatabase, UNIQUE_VIOLATION, type Database, type Migration } from '../common/storage/postgres.js';
import { conflict, notFound } from '../common/contract/problem.js';
import { AgentStoreBase, newAgent, type Agent, type AgentCreate, type AgentUpdate } from './agent-store.js';

/** The registry's tables; append-only, like the runtime's (a change is a new version). */
export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents',
    sql: `
      CREATE TABLE aof_agents (
        name text COLLATE "C" PRIMARY KEY,
        status text NOT NULL,
        doc json NOT NULL
      );
      CREATE INDEX aof_agents_status ON aof_agents (status);
    `,
  },
  {
    version: 2,
    name: 'audit log of blueprint writes',
    // The columns of the runtime's aof_audit (servers/runtime/store/postgres-access-schema.ts): one shape, one reader.
    sql: `
      CREATE TABLE aof_registry_audit (
        id text COLLATE "C" PRIMARY KEY,
        at text COLLATE "C" NOT NULL,
        principal_kind text NOT NULL,
        principal_name text NOT NULL,
        principal json NOT NULL,
        operation text NOT NULL,
        action text NOT NULL,
        session text COLLATE "C",
        target text,
        outcome text NOT NULL,
        status integer NOT NULL
      );
      CREATE INDEX aof_registry_audit_at ON aof_registry_audit (at DESC, id DESC);
      CREATE INDEX aof_registry_audit_principal ON aof_registry_audit (principal_name, at DESC);
    `,
  },
];

/**
 * Blueprints in `aof_agents`, one row each; the primary key refuses a second blueprint of one name,
 * also from another process. An update reads and writes the row under its lock, so two updates of
 * one blueprint never lose each other's fields.
 */
export class PostgresAgentStore extends AgentStoreBase {
  /** Who changed which blueprint, in `aof_registry_audit`. */
  readonly audit: PostgresAuditStore;

  private constructor(private readonly db: Database) {
    super();
    this.audit = new PostgresAuditStore(db, 'aof_registry_audit');
  }

  static async open(url: string, logger?: Logger): Promise<PostgresAgentStore> {
    return new PostgresAgentStore(await openDatabase(url, 'registry', REGISTRY_MIGRATIONS, logger));
  }

  async list(status?: Agent['status']): Promise<Agent[]> {
    const { rows } = status
      ? await this.db.query<{ doc: Agent }>('SELECT doc FROM aof_agents WHERE status = $1 ORDER BY name', [status])
      : await this.db.query<{ doc: Agent }>('SELECT doc FROM aof_agents ORDER BY name');
    return rows.map((r) => r.doc);
  }

  async find(name: string): Promise<Agent | null> {
    const { rows } = await this.db.query<{ doc: Agent }>('SELECT doc FROM aof_agents WHERE name = $1', [name]);
    return rows[0]?.doc ?? null;
  }

  async create(input: AgentCreate): Promise<Agent> {
    const agent = newAgent(input, new Date().toISOString());
    try {
      await this.db.query('INSERT INTO aof_agents (name, status, doc) VALUES ($1, $2, $3)', [
        agent.name,
        agent.status,
        JSON.stringify(agent),
      ]);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION)
        throw conflict(`Agent '${input.name}' already exists`, 'agent-exists');
      throw error;
    }
    return agent;
  }

  async update(name: string, changes: AgentUpdate): Promise<Agent> {
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<{ doc: Agent }>('SELECT doc FROM aof_agents WHERE name = $1 FOR UPDATE', [
        name,
      ]);
      if (!rows[0]) throw notFound(`Agent '${name}' not found`, 'agent-not-found');
      const agent: Record<string, unknown> = { ...rows[0].doc, modified_at: new Date().toISOString() };
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) delete agent[key];
        else agent[key] = value;
      }
      const updated = agent as Agent;
      await client.query('UPDATE aof_agents SET status = $2, doc = $3 WHERE name = $1', [
        name,
        updated.status,
        JSON.stringify(updated),
      ]);
      return updated;
    });
  }

  async delete(name: string): Promise<void> {
    const { rowCount } = await this.db.query('DELETE FROM aof_agents WHERE name = $1', [name]);
    if (!rowCount) throw notFound(`Agent '${name}' not found`, 'agent-not-found');
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}
