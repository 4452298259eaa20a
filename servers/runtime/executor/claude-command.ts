import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { outputInstruction } from '../../common/output-schema.js';
import { conversationArgs } from '../fork.js';
import { outputSchemaOf } from '../structured-output.js';
import { PERMISSION_TOOL } from '../../mcp/permission-tool.js';
import type { StoredSession } from '../session-store.js';
import { inApprovalMode } from './permission-server.js';

/**
 * The CLI flags for one run. A blueprint's system prompt and settings go on every run, new or
 * resumed, because Claude Code does not remember them in a conversation.
 */
export function claudeArgs(
  session: StoredSession,
  options: { resume: boolean; permissionMode: string; mcpConfigPath: string | null },
): string[] {
  const blueprint = session.blueprint;
  const approval = inApprovalMode(session);
  const args = ['-p', '--output-format', 'stream-json', '--verbose'];
  args.push(...conversationArgs(session, options.resume));
  // In approval mode the questions must be asked: never the runtime's default (bypassPermissions).
  args.push('--permission-mode', blueprint?.permission_mode ?? (approval ? 'default' : options.permissionMode));
  const schema = outputSchemaOf(session);
  const appended = [blueprint?.system_prompt, schema && outputInstruction(schema)].filter(Boolean).join('\n\n');
  if (appended) args.push('--append-system-prompt', appended);
  if (options.mcpConfigPath) args.push('--mcp-config', options.mcpConfigPath);
  if (approval) args.push('--permission-prompt-tool', PERMISSION_TOOL);
  if (blueprint?.model) args.push('--model', blueprint.model);
  if (blueprint?.allowed_tools?.length) args.push('--allowedTools', blueprint.allowed_tools.join(','));
  if (blueprint?.disallowed_tools?.length) args.push('--disallowedTools', blueprint.disallowed_tools.join(','));
  return args;
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
