import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { outputInstruction } from '../common/contract/output-schema.js';
import { PERMISSION_TOOL } from '../common/agent/permission-tool-names.js';
import type { CliRun } from './clis/types.js';

/** What Claude Code's command line is made of: the parts of a run (a RunSpec is one) it reads. */
export type ClaudeRun = Pick<CliRun, 'agent' | 'approval' | 'output_schema'> & {
  conversation: Pick<CliRun['conversation'], 'id' | 'fork_of'>;
};

/**
 * The CLI flags for one run. A blueprint's system prompt and settings go on every run, new or
 * resumed, because Claude Code does not remember them in a conversation.
 */
export function claudeArgs(
  spec: ClaudeRun,
  options: { resume: boolean; permissionMode: string; mcpConfigPath: string | null },
): string[] {
  const { agent } = spec;
  const args = ['-p', '--output-format', 'stream-json', '--verbose'];
  args.push(...conversationArgs(spec.conversation, options.resume));
  // In approval mode the questions must be asked: never the runtime's default (bypassPermissions).
  args.push('--permission-mode', agent.permission_mode ?? (spec.approval ? 'default' : options.permissionMode));
  const schema = spec.output_schema;
  const appended = [agent.system_prompt, schema && outputInstruction(schema)].filter(Boolean).join('\n\n');
  if (appended) args.push('--append-system-prompt', appended);
  if (options.mcpConfigPath) args.push('--mcp-config', options.mcpConfigPath);
  if (spec.approval) args.push('--permission-prompt-tool', PERMISSION_TOOL);
  if (agent.model) args.push('--model', agent.model);
  if (agent.allowed_tools.length) args.push('--allowedTools', agent.allowed_tools.join(','));
  if (agent.disallowed_tools.length) args.push('--disallowedTools', agent.disallowed_tools.join(','));
  return args;
}

/** The conversation the run continues and how: Claude Code's flags for it. */
export function conversationArgs(conversation: ClaudeRun['conversation'], resume: boolean): string[] {
  // aof names every Claude Code conversation: a RunSpec always has its id.
  const own = conversation.id ?? '';
  if (resume) return ['--resume', own];
  // A fork's first run copies the source's conversation under the fork's own id.
  if (conversation.fork_of) return ['--resume', conversation.fork_of, '--fork-session', '--session-id', own];
  return ['--session-id', own];
}

/** The absolute path of an executable given as a path or a name on PATH; null when there is none. */
export async function resolveExecutable(command: string, path = process.env.PATH ?? ''): Promise<string | null> {
  const candidates = command.includes('/')
    ? [resolve(command)]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    if (!isAbsolute(candidate)) continue;
    const info = await stat(candidate).catch(() => null);
    if (!info?.isFile()) continue;
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return null;
}
