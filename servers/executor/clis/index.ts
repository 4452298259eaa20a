/**
 * The agent CLIs aof runs, one adapter each, and the rule of which blueprint settings each can honour
 * (checked when a blueprint or session is made, so that a run never starts on a setting it would drop).
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { codex } from './codex.js';
import { gemini } from './gemini.js';
import { opencode } from './opencode.js';
import type { CliAdapter, CliFile, CliName, Unsupported } from './types.js';

export type { CliAdapter, CliName } from './types.js';
export { CLI_NAMES, isCliName } from './types.js';

export const ADAPTERS: Partial<Record<CliName, CliAdapter>> = { codex, gemini, opencode };

export function adapterFor(cli: CliName): CliAdapter | undefined {
  return ADAPTERS[cli];
}

/** What a blueprint (or a session's settings) asks of its CLI. */
export interface AgentSettings {
  permission_mode?: string | null | undefined;
  allowed_tools?: readonly string[] | null | undefined;
  disallowed_tools?: readonly string[] | null | undefined;
  /** Set when the sessions run in approval mode. */
  approval?: unknown;
}

/**
 * The first setting `cli` cannot honour, or null. `fork` is asked when a session is forked. Claude
 * Code honours every setting.
 */
export function unsupportedSetting(
  cli: CliName,
  settings: AgentSettings,
  options: { fork?: boolean } = {},
): Unsupported | null {
  const adapter = ADAPTERS[cli];
  if (!adapter) return null;
  const { support } = adapter;
  if (options.fork && !support.fork) return { field: 'cli', detail: `${cli} cannot fork a conversation headless` };
  if (settings.approval !== undefined && settings.approval !== null && !support.approval) {
    return { field: 'approval', detail: `${cli} has no approval mode aof can answer; use cli claude for approvals` };
  }
  const mode = settings.permission_mode;
  if (mode && !support.permissionModes.includes(mode as never)) {
    return { field: 'permission_mode', detail: `${cli} has no permission mode ${mode}` };
  }
  if (settings.allowed_tools?.length && !support.allowedTools) {
    return { field: 'allowed_tools', detail: `${cli} cannot limit its tools to a list` };
  }
  if (settings.disallowed_tools?.length && !support.disallowedTools) {
    return { field: 'disallowed_tools', detail: `${cli} cannot turn tools off by name` };
  }
  return null;
}

/**
 * Writes a run's files (their directories made, mode 0600), and links the ones that point at the
 * user's files, when those exist (a login file the user does not have is left out).
 */
export async function writeCliFiles(files: CliFile[]): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(file.path), { recursive: true, mode: 0o700 });
    await rm(file.path, { force: true });
    if ('content' in file) await writeFile(file.path, file.content, { mode: 0o600 });
    else if (existsSync(file.linkTo)) await symlink(file.linkTo, file.path);
  }
}
