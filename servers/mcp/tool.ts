/**
 * What an MCP tool is here: a value (name, title, description, input and output schemas, annotations,
 * handler) that `registerTool` puts on an McpServer. A description or input schema that says where
 * sessions work or how long an answer may be is a function of the server's settings (`ToolContext`).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Orchestrator } from '../../sdk/index.js';

/** What a tool's handler works with: the SDK client and the server's settings. */
export interface ToolContext {
  /** The SDK client, made on first use (so a bad URL variable becomes a tool error, not a dead server). */
  ao: () => Orchestrator;
  /** Where sessions work unless a call names a project_dir (relative ones resolve against it). */
  projectRoot: string;
  /** Results and lists longer than this many characters are cut with a note. */
  maxChars: number;
  /** While a sync start/resume waits, a progress notification this often (when the client asked for them). */
  progressEveryMs: number;
}

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A value, or one that depends on the server's settings. */
type Setting<T> = T | ((context: ToolContext) => T);

export interface ToolDefinition<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  /** What the model reads to choose the tool. */
  description: Setting<string>;
  /** Its field descriptions are what the model reads to call the tool. */
  inputSchema: Setting<Input>;
  /** The structured content (Claude Code shows the model this, not the text). */
  outputSchema: z.ZodObject;
  annotations: ToolAnnotations;
  handler(args: z.output<Input>, context: ToolContext, extra: Extra): CallToolResult | Promise<CallToolResult>;
}

/** A tool definition, its handler's arguments typed by its input schema. */
export const defineTool = <Input extends z.ZodObject>(tool: ToolDefinition<Input>): ToolDefinition<Input> => tool;

const setting = <T>(value: Setting<T>, context: ToolContext): T =>
  typeof value === 'function' ? (value as (context: ToolContext) => T)(context) : value;

/** Registers each tool of `tools` on `server`, in order (the order tools/list gives them in). */
export function registerToolTable(server: McpServer, tools: readonly ToolDefinition[], context: ToolContext): void {
  for (const tool of tools)
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: setting(tool.description, context),
        inputSchema: setting(tool.inputSchema, context),
        outputSchema: tool.outputSchema,
        annotations: tool.annotations,
      },
      (args, extra) => tool.handler(args, context, extra),
    );
}
