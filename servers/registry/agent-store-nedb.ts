import type Datastore from 'nedb-promises';
import type { AuditStore } from '../common/audit/audit-store.js';
import { NedbAuditStore } from '../common/audit/nedb-audit.js';
import { openCollection } from '../common/storage/data-dir.js';
import { conflict, notFound } from '../common/contract/problem.js';
import { AgentStoreBase, newAgent, type Agent, type AgentCreate, type AgentUpdate } from './agent-store.js';

/**
 * `mcp_servers` is stored as JSON text: its `env` and `headers` maps take any key, and nedb refuses
 * field names that start with `$` or contain `.` (an env var `A.B` would fail the insert with a 500).
 * Documents written before this are plain objects; `toAgent` reads both. `output_schema` is JSON
 * text for the same reason (`$schema`, `$ref`, `$defs`).
 */
type AgentDocument = Omit<Agent, 'mcp_servers' | 'output_schema'> & {
  _id: string;
  mcp_servers?: string | Agent['mcp_servers'];
  output_schema?: string;
};

/** Fields kept as JSON text. */
const JSON_TEXT_FIELDS = new Set(['mcp_servers', 'output_schema']);

/**
 * Blueprints in one nedb file, keyed by name (the `_id`, so a duplicate name is refused atomically);
 * who changed them in another (`registry-audit.db`: the runtime's own log is `audit.db` in the same
 * data dir, and one nedb file has one writing process).
 */
export class NedbAgentStore extends AgentStoreBase {
  private constructor(
    private readonly db: Datastore<AgentDocument>,
    readonly audit: AuditStore,
  ) {
    super();
  }

  static async open(dataDir: string): Promise<NedbAgentStore> {
    return new NedbAgentStore(
      await openCollection<AgentDocument>(dataDir, 'agents.db', [{ fieldName: 'status' }]),
      await NedbAuditStore.open(dataDir, 'registry-audit.db'),
    );
  }

  async list(status?: Agent['status']): Promise<Agent[]> {
    const docs = await this.db.find(status ? { status } : {}).sort({ _id: 1 });
    return docs.map(toAgent);
  }

  async find(name: string): Promise<Agent | null> {
    const doc = await this.db.findOne({ _id: name });
    return doc ? toAgent(doc) : null;
  }

  async create(input: AgentCreate): Promise<Agent> {
    const agent = newAgent(input, new Date().toISOString());
    try {
      const doc = { ...agent, _id: agent.name } as AgentDocument;
      if (agent.mcp_servers) doc.mcp_servers = JSON.stringify(agent.mcp_servers);
      if (agent.output_schema) doc.output_schema = JSON.stringify(agent.output_schema);
      return toAgent(await this.db.insert(doc));
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') {
        throw conflict(`Agent '${input.name}' already exists`, 'agent-exists');
      }
      throw error;
    }
  }

  async update(name: string, changes: AgentUpdate): Promise<Agent> {
    const $set: Record<string, unknown> = { modified_at: new Date().toISOString() };
    const $unset: Record<string, true> = {};
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) $unset[key] = true;
      else $set[key] = JSON_TEXT_FIELDS.has(key) ? JSON.stringify(value) : value;
    }
    const updated = await this.db.update<AgentDocument>(
      { _id: name },
      Object.keys($unset).length ? { $set, $unset } : { $set },
      { returnUpdatedDocs: true },
    );
    if (!updated) throw notFound(`Agent '${name}' not found`, 'agent-not-found');
    return toAgent(updated as unknown as AgentDocument);
  }

  /** nedb has written every change before it resolved: nothing to let go of. */
  async close(): Promise<void> {}

  async delete(name: string): Promise<void> {
    const removed = await this.db.remove({ _id: name }, {});
    if (!removed) throw notFound(`Agent '${name}' not found`, 'agent-not-found');
  }
}

function toAgent({ _id, mcp_servers, output_schema, ...agent }: AgentDocument): Agent {
  return {
    ...agent,
    ...(mcp_servers === undefined
      ? {}
      : { mcp_servers: typeof mcp_servers === 'string' ? JSON.parse(mcp_servers) : mcp_servers }),
    ...(output_schema === undefined ? {} : { output_schema: JSON.parse(output_schema) }),
  };
}
