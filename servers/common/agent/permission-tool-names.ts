/**
 * How an agent's permission tool is named and configured: what the executor writes in the agent's
 * MCP config and CLI flags, and what the tool (servers/mcp/permission-tool.ts) reads.
 */

/** The server's name in the agent's MCP config; with the tool's name, what `--permission-prompt-tool` names. */
export const PERMISSION_SERVER = 'aof_approvals';
export const PERMISSION_TOOL_NAME = 'permission';
export const PERMISSION_TOOL = `mcp__${PERMISSION_SERVER}__${PERMISSION_TOOL_NAME}`;

/** The variables the executor gives the tool (see servers/executor/permission-server.ts). */
export const PERMISSION_ENV = {
  session: 'AOF_APPROVAL_SESSION',
  urlFile: 'AOF_APPROVAL_RUNTIME_URL_FILE',
} as const;
