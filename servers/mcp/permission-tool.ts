/**
 * The permission tool of an agent in approval mode: Claude Code calls it (`--permission-prompt-tool`)
 * whenever its permission rules do not settle a tool use, and this MCP server turns the question into
 * an approval request in the Agent Runtime and waits for the answer.
 *
 * It runs as a child of the agent, not of the runtime, so it outlives a runtime crash: it keeps
 * asking, re-reading where the runtime listens from the data dir, until the (restarted) runtime
 * answers. The runtime alone decides when a request times out.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { ApiError, Orchestrator, type Approval } from '../../sdk/index.js';
import { VERSION } from '../common/version.js';
import { nodeFetch } from '../common/node-fetch.js';
import {
  PERMISSION_ENV,
  PERMISSION_SERVER,
  PERMISSION_TOOL,
  PERMISSION_TOOL_NAME,
} from '../common/agent/permission-tool-names.js';

export { PERMISSION_ENV, PERMISSION_SERVER, PERMISSION_TOOL, PERMISSION_TOOL_NAME };

/** What Claude Code expects back from a permission tool, as JSON text. */
export type PermissionDecision =
  | { behavior: 'allow'; updatedInput: Record<string, unknown> }
  | { behavior: 'deny'; message: string };

export interface PermissionAsker {
  session: string;
  /** Where the runtime listens now (it may move when it restarts). */
  runtimeUrl(): Promise<string>;
  token?: string | undefined;
  /** Pause between attempts while the runtime cannot be reached. Default 1 s. */
  retryMs?: number;
  /** Seconds each long-poll of the request may last. Default 30. */
  pollSeconds?: number;
  log?: (line: string) => void;
}

/** Asks the runtime, then waits for the answer, through runtime restarts; resolves to Claude Code's decision. */
export async function decide(
  asker: PermissionAsker,
  question: { tool_name: string; input: Record<string, unknown>; tool_use_id?: string | undefined },
): Promise<PermissionDecision> {
  const ask = {
    tool: question.tool_name,
    input: question.input,
    ...(question.tool_use_id ? { tool_use_id: question.tool_use_id } : {}),
  };
  let approval: Approval | undefined;
  for (;;) {
    try {
      // Only the run's own credential, never a token found elsewhere (the data dir's is a person's).
      const ao = new Orchestrator({
        runtimeUrl: await asker.runtimeUrl(),
        token: asker.token ?? null,
        fetch: nodeFetch,
      });
      // Asking again after a lost answer finds the same request (by tool_use_id).
      approval ??= await ao.approvals.ask(asker.session, ask);
      while (approval.state === 'pending')
        approval = await ao.approvals.get(approval.id, { waitSeconds: asker.pollSeconds ?? 30 });
      return toDecision(approval, question.input);
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) {
        return { behavior: 'deny', message: `The approval request could not be kept: ${error.message}` };
      }
      asker.log?.(
        `the Agent Runtime did not answer (${error instanceof Error ? error.message : String(error)}); asking again`,
      );
      await sleep(asker.retryMs ?? 1000);
    }
  }
}

export function toDecision(approval: Approval, input: Record<string, unknown>): PermissionDecision {
  return approval.state === 'approved'
    ? { behavior: 'allow', updatedInput: input }
    : { behavior: 'deny', message: approval.message ?? `The request was ${approval.state}.` };
}

/** Serves the permission tool on stdio, configured from the environment the executor set. */
export async function servePermissionTool(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const session = env[PERMISSION_ENV.session];
  const urlFile = env[PERMISSION_ENV.urlFile];
  if (!session || !urlFile)
    throw new Error(
      `${PERMISSION_ENV.session} and ${PERMISSION_ENV.urlFile} must be set (the Agent Runtime sets them)`,
    );
  const asker: PermissionAsker = {
    session,
    runtimeUrl: async () => (await readFile(urlFile, 'utf8')).trim(),
    token: env.AGENT_ORCHESTRATOR_API_TOKEN || undefined,
    log: (line) => process.stderr.write(`aof permission tool: ${line}\n`),
  };
  const server = new McpServer({ name: PERMISSION_SERVER, version: VERSION });
  server.registerTool(
    PERMISSION_TOOL_NAME,
    {
      description:
        'Asks a person (through the aof Agent Runtime) whether a tool may be used, and waits for the answer.',
      inputSchema: {
        tool_name: z.string(),
        input: z.record(z.string(), z.unknown()),
        tool_use_id: z.string().optional(),
      },
    },
    async (args) => {
      const decision = await decide(asker, args);
      return { content: [{ type: 'text', text: JSON.stringify(decision) }] };
    },
  );
  await server.connect(new StdioServerTransport());
  process.stdin.once('end', () => process.exit(0));
}
