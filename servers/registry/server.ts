import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { operations } from '../../sdk/generated/registry.js';
import { metricsResponse, ServerMetrics } from '../common/telemetry/metrics.js';
import { tracingEnabled } from '../common/telemetry/trace-ids.js';
import { createApp } from '../common/http/app.js';
import { checkCliSettings, type CliName } from '../common/agent/agent-clis.js';
import { checkOutputSchema } from '../common/contract/output-schema.js';
import { unprocessable } from '../common/contract/problem.js';
import type { Handlers } from '../common/http/operations.js';
import { serveLocked, VERSION, type CommonServerOptions, type RunningServer } from '../common/http/server.js';
import type { AgentStore } from './agent-store.js';
import { openAgentStore } from './agent-store-select.js';
import { importAgentFolders } from './folder-import.js';
import { runtimeAuthenticator } from './credentials.js';
import { forbiddenFor, isAgent, outOfScope, principalOf } from '../common/http/principal.js';
import { BLUEPRINT_WRITES, REGISTRY_ACTIONS, registryAuditLog } from './audit.js';

export interface RegistryOptions extends CommonServerOptions {
  /** Folder of blueprints kept as files, imported at start. */
  agentsDir?: string | undefined;
  /** The Agent Runtime, asked who an agent's credential names (credentials.ts). Without it, agents are refused. */
  runtimeUrl?: (() => string | undefined) | undefined;
}

export function startRegistry(options: RegistryOptions): Promise<RunningServer> {
  return serveLocked(options, 'registry', 'Agent Registry', async () => {
    const metrics = new ServerMetrics(registryInstance(options.dataDir));
    const store = metrics.timed(await openAgentStore(options), 'agents');
    try {
      if (options.agentsDir) await importAgentFolders(options.agentsDir, store, options.logger);
    } catch (error) {
      await store.close();
      throw error;
    }
    const tracing = tracingEnabled()
      ? (await import('../common/telemetry/tracing.js')).startTracing('aof-registry')
      : undefined;
    const audit = registryAuditLog(store.audit, options.logger);
    const app = createApp<operations>({
      api: 'registry',
      handlers: {
        ...registryHandlers(store),
        getMetrics: () => metricsResponse(metrics),
        listAudit: async ({ query }) => ({ status: 200, body: await audit.list(query) }),
      },
      security: {
        url: options.url,
        allowedOrigins: options.allowedOrigins ?? [],
        allowedHosts: options.allowedHosts,
        token: options.token,
        authenticate: options.runtimeUrl ? runtimeAuthenticator(options.runtimeUrl) : undefined,
      },
      authorize: (operationId, { ctx }) => {
        const principal = principalOf(ctx);
        const id = operationId as keyof operations;
        const what = REGISTRY_ACTIONS[id];
        if (principal.kind === 'runner' && id !== 'getHealth')
          throw forbiddenFor(principal, what, "a runner's token is good only for the runtime's runner endpoints");
        if (id === 'getMetrics' && isAgent(principal))
          throw outOfScope(principal, what, 'metrics are for the people who run aof');
        if (id === 'listAudit' && isAgent(principal))
          throw outOfScope(principal, what, 'the audit log is for the people who run aof');
        const write = BLUEPRINT_WRITES.has(id);
        if (write && isAgent(principal))
          throw outOfScope(principal, what, 'agents read blueprints; only a person changes them');
        if (write && principal.role !== 'admin')
          throw forbiddenFor(principal, what, 'only an admin changes blueprints');
      },
      afterOperation: audit.after,
      logger: options.logger,
      metrics,
      tracing,
    });
    return {
      app,
      onClose: async () => {
        await store.close();
        await tracing?.close();
      },
    };
  });
}

/** The registry's name in its counters: its host and a digest of its data dir, stable across restarts. */
function registryInstance(dataDir: string): string {
  return `registry@${hostname()}:${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
}

/** The blueprint fields whose change may make a setting its CLI cannot honour. */
const CLI_CHECKED_FIELDS = new Set(['cli', 'approval', 'permission_mode', 'allowed_tools', 'disallowed_tools']);

/** What the stall watchdog does is named with how long a silent run takes to count as stalled, never alone. */
function checkStallWatch(blueprint: { stall_after_seconds?: unknown; stall_action?: unknown }): void {
  if (blueprint.stall_action != null && blueprint.stall_after_seconds == null)
    throw unprocessable(
      'body.stall_action',
      'takes effect only with a stall time (how long a silent run takes to count as stalled): give both, or neither',
    );
}

function registryHandlers(store: AgentStore): Omit<Handlers<operations>, 'getMetrics' | 'listAudit'> {
  return {
    getHealth: () => ({ status: 200, body: { status: 'ok', service: 'agent-registry', version: VERSION } }),
    listAgents: async ({ query }) => ({ status: 200, body: { agents: await store.list(query.status) } }),
    createAgent: async ({ body }) => {
      checkOutputSchema(body.output_schema, 'body.output_schema');
      checkCliSettings(body.cli, body, { prefix: 'body' });
      checkStallWatch(body);
      const agent = await store.create(body);
      return { status: 201, body: agent, headers: { Location: `/agents/${agent.name}` } };
    },
    getAgent: async ({ path }) => ({ status: 200, body: await store.get(path.name) }),
    updateAgent: async ({ path, body }) => {
      checkOutputSchema(body.output_schema, 'body.output_schema');
      const stall = 'stall_action' in body || 'stall_after_seconds' in body;
      if (stall || Object.keys(body).some((key) => CLI_CHECKED_FIELDS.has(key))) {
        // The blueprint as it would be after the change.
        const merged: Record<string, unknown> = { ...(await store.get(path.name)) };
        for (const [key, value] of Object.entries(body)) {
          if (value === null) delete merged[key];
          else merged[key] = value;
        }
        checkCliSettings(merged.cli as CliName | undefined, merged, { prefix: 'body' });
        if (stall) checkStallWatch(merged);
      }
      return { status: 200, body: await store.update(path.name, body) };
    },
    deleteAgent: async ({ path }) => {
      await store.delete(path.name);
      return { status: 204, body: undefined };
    },
    setAgentStatus: async ({ path, body }) => ({
      status: 200,
      body: await store.update(path.name, { status: body.status }),
    }),
  };
}
