import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PERMISSION_ENV, PERMISSION_SERVER } from '../../mcp/permission-tool.js';
import { RUNTIME_URL_FILE } from '../approval-handlers.js';
import type { StoredSession } from '../session-store.js';

/**
 * The compiled permission tool (dist/bin/ao-permission-mcp.js), found from this module whether it
 * runs compiled (dist/servers/...) or from source (servers/..., in tests).
 */
export function permissionToolPath(): string {
  const here = fileURLToPath(import.meta.url);
  const root = here.slice(0, here.lastIndexOf('/servers/'));
  return join(root.endsWith('/dist') ? root : join(root, 'dist'), 'bin', 'ao-permission-mcp.js');
}

/** Whether the session's agent asks the runtime before tool uses (its blueprint has an approval policy). */
export const inApprovalMode = (session: StoredSession): boolean => session.blueprint?.approval !== undefined;

/**
 * The agent's MCP servers: the blueprint's, plus in approval mode the permission tool, which reaches
 * the runtime with the session's name and the run's own credential (the file is the run's, mode 0600).
 */
export function agentMcpServers(
  session: StoredSession,
  runtime: { dataDir: string; credential?: string | undefined; nodePath: string },
): Record<string, unknown> | null {
  const servers: Record<string, unknown> = { ...(session.blueprint?.mcp_servers ?? {}) };
  if (inApprovalMode(session)) {
    servers[PERMISSION_SERVER] = {
      command: runtime.nodePath,
      args: [permissionToolPath()],
      env: {
        [PERMISSION_ENV.session]: session.name,
        [PERMISSION_ENV.urlFile]: join(runtime.dataDir, RUNTIME_URL_FILE),
        ...(runtime.credential ? { AGENT_ORCHESTRATOR_API_TOKEN: runtime.credential } : {}),
      },
    };
  }
  return Object.keys(servers).length ? servers : null;
}
