/**
 * The orchestrator as MCP tools: each tool is a few SDK calls (`ao.sessions.*`, `ao.agents.*`)
 * between a zod input schema (what the model reads) and text a model can act on. Each is a value
 * (tool.ts) in the module of what it works on; TOOLS is the table of them, in the order tools/list
 * gives them in.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Orchestrator } from '../../sdk/index.js';
import { answerApprovalRequest, listApprovalRequests } from './approval-tools.js';
import { listAuditLog } from './audit-tool.js';
import { listAgentBlueprints } from './blueprint-tools.js';
import { DEFAULT_MAX_CHARS } from './format.js';
import { manageSchedules } from './schedule-tools.js';
import {
  deleteAgentSession,
  deleteAllAgentSessions,
  forkAgentSession,
  getAgentSessionResult,
  getAgentSessionStatus,
  listAgentSessions,
  resumeAgentSession,
  startAgentSession,
  stopAgentSession,
} from './session-tools.js';
import { registerToolTable, type ToolDefinition } from './tool.js';
import { getAgentUsage } from './usage-tool.js';
import {
  getAgentSessionChanges,
  mergeAgentChildren,
  mergeAgentSession,
  openPullRequest,
  reviewAgentSession,
} from './worktree-tools.js';

export interface ToolOptions {
  /** The SDK client, or a factory called on first use (so a bad URL variable becomes a tool error, not a dead server). */
  orchestrator: Orchestrator | (() => Orchestrator);
  /** Where sessions work unless a call names a project_dir (relative ones resolve against it). Default: process.cwd(). */
  defaultProjectDir?: string | undefined;
  /** Results and lists longer than this many characters are cut with a note. Default 20,000. */
  maxChars?: number | undefined;
  /** While a sync start/resume waits, a progress notification this often (when the client asked for them). Default 15 s. */
  progressIntervalMs?: number | undefined;
}

/** The orchestrator tools, in the order tools/list gives them in. */
export const TOOLS: readonly ToolDefinition[] = [
  listAgentBlueprints,
  listAgentSessions,
  startAgentSession,
  resumeAgentSession,
  forkAgentSession,
  getAgentSessionStatus,
  getAgentSessionResult,
  stopAgentSession,
  deleteAgentSession,
  getAgentUsage,
  deleteAllAgentSessions,
  getAgentSessionChanges,
  mergeAgentSession,
  mergeAgentChildren,
  openPullRequest,
  reviewAgentSession,
  listApprovalRequests,
  answerApprovalRequest,
  listAuditLog,
  manageSchedules,
];

export const TOOL_NAMES: readonly string[] = TOOLS.map((tool) => tool.name);

/** Registers the orchestrator tools (TOOLS) on `server`. */
export function registerTools(server: McpServer, options: ToolOptions): void {
  let client: Orchestrator | undefined;
  registerToolTable(server, TOOLS, {
    ao: () => (client ??= typeof options.orchestrator === 'function' ? options.orchestrator() : options.orchestrator),
    projectRoot: options.defaultProjectDir ?? process.cwd(),
    maxChars: options.maxChars ?? DEFAULT_MAX_CHARS,
    progressEveryMs: options.progressIntervalMs ?? 15_000,
  });
}
