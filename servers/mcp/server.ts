/**
 * The aof MCP server: the orchestrator's tools (tools.ts) on an McpServer from the official SDK,
 * served over stdio (here) or Streamable HTTP (http.ts).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Orchestrator } from '../../sdk/index.js';
import type { Logger } from '../common/logger.js';
import { VERSION } from '../common/version.js';
import { nodeFetch } from '../common/node-fetch.js';
import { registerTools, type ToolOptions } from './tools.js';

export const SERVER_NAME = 'aof';

const INSTRUCTIONS = [
  'aof (Agent Orchestrator Framework) runs named Claude Code agent sessions in the background, each in its own project directory, and keeps their conversations.',
  'start_agent_session starts one and, unless async, waits for its answer; resume_agent_session continues one.',
  'With async: true, several sessions work in parallel: follow them with get_agent_session_status (wait_seconds waits for the end) and collect answers with get_agent_session_result.',
].join(' ');

export type McpServerOptions = Partial<ToolOptions>;

/**
 * An McpServer with the orchestrator tools (TOOL_NAMES). Default client: an Orchestrator from
 * AGENT_ORCHESTRATOR_* variables, calling over node:http (Node's fetch costs each MCP server ~0.15 s of CPU).
 */
export function createMcpServer(options: McpServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, title: 'Agent Orchestrator', version: VERSION },
    { instructions: INSTRUCTIONS },
  );
  registerTools(server, {
    ...options,
    orchestrator: options.orchestrator ?? (() => new Orchestrator({ fetch: nodeFetch })),
  });
  return server;
}

/**
 * Serves MCP on this process's stdin and stdout until stdin closes or a signal comes. stdout carries
 * the protocol only: every log line goes to stderr.
 */
export async function serveStdio(options: McpServerOptions & { logger: Logger }): Promise<void> {
  const { logger, ...serverOptions } = options;
  const server = createMcpServer(serverOptions);
  const transport = new StdioServerTransport();
  let closing = false;
  const shutdown = (why: string) => {
    if (closing) return;
    closing = true;
    logger.info(`${why}: closing`);
    // Waits in progress are aborted by close(); sessions keep running in the Agent Runtime.
    void server.close().finally(() => process.exit(0));
  };
  transport.onerror = (error) => logger.error('stdio transport', error);
  process.stdin.once('end', () => shutdown('stdin closed'));
  process.stdin.once('close', () => shutdown('stdin closed'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  await server.connect(transport);
  logger.info('aof MCP server ready on stdio');
}
