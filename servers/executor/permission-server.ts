import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PERMISSION_ENV, PERMISSION_SERVER } from '../common/agent/permission-tool-names.js';
import { RUNTIME_URL_FILE } from '../common/storage/runtime-url.js';
import type { RunSpec } from './run-spec.js';

/**
 * The built permission tool (dist/bin/ao-permission-mcp.js), found from this module whether it runs
 * bundled into a command (dist/bin/aof.js, or one of its chunks in dist/bin/chunks/) or from source
 * (servers/..., in tests).
 */
export function permissionToolPath(): string {
  const here = fileURLToPath(import.meta.url);
  // Bundled into a command or one of its chunks: the tool is in dist/bin.
  const bin = here.lastIndexOf('/dist/bin/');
  if (bin >= 0) return join(here.slice(0, bin), 'dist', 'bin', 'ao-permission-mcp.js');
  // From source (servers/executor/ of the checkout): in the checkout's dist/.
  return join(here.slice(0, here.lastIndexOf('/servers/')), 'dist', 'bin', 'ao-permission-mcp.js');
}

/**
 * The agent's MCP servers: the blueprint's, plus in approval mode the permission tool, which reaches
 * the runtime with the session's name and the run's own credential (the file is the run's, mode 0600).
 */
export function agentMcpServers(
  spec: RunSpec,
  runtime: { dataDir: string; nodePath: string },
): Record<string, unknown> | null {
  const servers: Record<string, unknown> = { ...spec.agent.mcp_servers };
  const credential = spec.env.credential;
  if (spec.approval) {
    servers[PERMISSION_SERVER] = {
      command: runtime.nodePath,
      args: [permissionToolPath()],
      env: {
        [PERMISSION_ENV.session]: spec.session,
        [PERMISSION_ENV.urlFile]: join(runtime.dataDir, RUNTIME_URL_FILE),
        ...(credential ? { AGENT_ORCHESTRATOR_API_TOKEN: credential } : {}),
      },
    };
  }
  return Object.keys(servers).length ? servers : null;
}
