/**
 * What aof needs of an agent CLI: how to start one run of it (its command line and environment),
 * and how to read what it prints (a normaliser from its JSON event stream to aof's events). One
 * module per CLI in this folder; `index.ts` names them.
 */
import type { CliName } from '../../common/agent/agent-clis.js';
import type { components as RegistryComponents } from '../../../sdk/generated/registry.js';
import type { components } from '../../../sdk/generated/runtime.js';

export type EventInput = components['schemas']['EventInput'];
export type Usage = components['schemas']['Usage'];
type Registry = RegistryComponents['schemas'];

export type { CliName } from '../../common/agent/agent-clis.js';

/**
 * What one run asks of its CLI: the parts of the run's RunSpec an adapter reads (the conversation,
 * the blueprint's agent settings, approval mode, output schema).
 */
export interface CliRun {
  prompt: string;
  project_dir: string;
  conversation: {
    /** The CLI's id of the conversation; for CLIs that name it themselves (Codex, OpenCode), null until their first run said it. */
    id: string | null;
    /** The CLI has opened the conversation before: the run resumes it. */
    started: boolean;
    /** A fork's first run continues a copy of this conversation (the CLI's id of the source's). */
    fork_of: string | null;
  };
  agent: {
    system_prompt: string | null;
    model: string | null;
    permission_mode: Registry['PermissionMode'] | null;
    allowed_tools: string[];
    disallowed_tools: string[];
    mcp_servers: Registry['McpServers'];
  };
  approval: boolean;
  output_schema: Record<string, unknown> | null;
}

/** Where and how the executor starts the run. */
export interface CliContext {
  /** The permission mode when the blueprint sets none (the runtime's default). */
  defaultPermissionMode: string;
  /** A directory of this run's own, for files the CLI reads (settings, instructions). */
  runDir: string;
  /** A directory kept across the session's runs on this host, for the CLI's state where aof keeps it apart (Gemini's home). */
  sessionDir: string;
  /** The executor's environment (where the user's own config and login of the CLI are). */
  env: NodeJS.ProcessEnv;
  /** MCP servers the run gets besides the blueprint's (aof's own), in the blueprint's shape. */
  extraMcpServers?: Registry['McpServers'] | undefined;
  /** The output instruction for `output_schema` (the runtime's words), appended to the system prompt. */
  outputInstruction?: string | undefined;
  /** The MCP config file the executor wrote for the run (aof's own servers and the blueprint's), in Claude Code's form. */
  mcpConfigPath?: string | null | undefined;
}

/** A file the run needs: written with `content`, or a symbolic link to `linkTo`. */
export type CliFile = { path: string; content: string } | { path: string; linkTo: string };

/**
 * One run's command: arguments after the binary, environment on top of the executor's, files to
 * write first (their directories made). The prompt goes on stdin.
 */
export interface CliCommand {
  args: string[];
  env: Record<string, string>;
  files: CliFile[];
  /** What the conversation had been billed before this run, for CLIs that report a running total (Codex). */
  priorUsage?: Usage | null;
}

/** An event a CLI printed that aof has no shape for: kept as it came (recorded as a `raw` event), never a crash. */
export type RawEvent = Extract<EventInput, { type: 'raw' }>;

/** What a normaliser makes of a line: aof's events, `raw` ones included. */
export type CliEvent = EventInput;

/** How a run's process ended. */
export interface CliExit {
  code: number | null;
  signal: string | null;
}

/**
 * Reads one run's output, one line at a time. Deterministic: the same lines give the same events
 * (a restarted runtime re-reads a run's output to find where it left off).
 */
export interface Normaliser {
  parse(line: string): CliEvent[];
  /** Events the end of the process brings (a pending message, a result for CLIs that print none). */
  end(exit: CliExit): CliEvent[];
  /** The CLI's id of the conversation, once its stream said it. */
  readonly sessionId: string | undefined;
  /** The model the run uses, as the CLI said or as it was asked for. */
  readonly model: string | undefined;
  /** The result's verdict, once the stream (or its end) gave one. */
  readonly result: { isError: boolean; text: string | null } | undefined;
  /** What the model responses seen so far were billed; null before the first. */
  billedUsage(): Usage | null;
  /** Model responses (turns) seen so far. */
  readonly turns: number;
}

export interface CliAdapter {
  name: CliName;

  /** The run's command; it may read the user's config of the CLI (`context.env`), it writes nothing. */
  command(run: CliRun, context: CliContext): Promise<CliCommand>;
  normaliser(run: Pick<CliRun, 'prompt' | 'agent'>, options?: { priorUsage?: Usage | null }): Normaliser;
  /**
   * Whether the CLI's output says it found no conversation to resume (then the run opens it anew,
   * and nothing of this attempt is recorded): asked of the first events a resumed run printed while it
   * runs (`exit` null, `stderr` empty), and at its end when it printed none (`events` empty).
   */
  noConversation(exit: CliExit | null, stderr: string, events: CliEvent[]): boolean;
}
