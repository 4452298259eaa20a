import type { operations } from '../../sdk/generated/registry.js';
import { createApp } from '../common/app.js';
import { lockDataDir } from '../common/data-dir.js';
import { listen } from '../common/listen.js';
import type { Handlers } from '../common/operations.js';
import { VERSION, type CommonServerOptions, type RunningServer } from '../common/server.js';
import { AgentStore } from './agent-store.js';
import { importAgentFolders } from './folder-import.js';

export interface RegistryOptions extends CommonServerOptions {
  /** Folder of blueprints kept as files, imported at start. */
  agentsDir?: string | undefined;
}

export async function startRegistry(options: RegistryOptions): Promise<RunningServer> {
  const unlock = await lockDataDir(options.dataDir, 'registry');
  try {
    const store = await AgentStore.open(options.dataDir);
    if (options.agentsDir) await importAgentFolders(options.agentsDir, store, options.logger);
    const app = createApp<operations>({
      api: 'registry',
      handlers: registryHandlers(store),
      security: { url: options.url, allowedOrigins: options.allowedOrigins ?? [], token: options.token },
      logger: options.logger,
    });
    const listening = await listen(app, options.url);
    options.logger.info(`Agent Registry listening on ${listening.url} (data in ${options.dataDir})`);
    return {
      url: listening.url,
      async close() {
        await listening.close();
        await unlock();
      },
    };
  } catch (error) {
    await unlock();
    throw error;
  }
}

function registryHandlers(store: AgentStore): Handlers<operations> {
  return {
    getHealth: () => ({ status: 200, body: { status: 'ok', service: 'agent-registry', version: VERSION } }),
    listAgents: async ({ query }) => ({ status: 200, body: { agents: await store.list(query.status) } }),
    createAgent: async ({ body }) => {
      const agent = await store.create(body);
      return { status: 201, body: agent, headers: { Location: `/agents/${agent.name}` } };
    },
    getAgent: async ({ path }) => ({ status: 200, body: await store.get(path.name) }),
    updateAgent: async ({ path, body }) => ({ status: 200, body: await store.update(path.name, body) }),
    deleteAgent: async ({ path }) => {
      await store.delete(path.name);
      return { status: 204, body: undefined };
    },
    setAgentStatus: async ({ path, body }) => ({ status: 200, body: await store.update(path.name, { status: body.status }) }),
  };
}
