/** The adapters of the agent CLIs aof runs besides Claude Code, by name (servers/common/agent-clis.ts says what each supports). */
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { codex } from './codex.js';
import { gemini } from './gemini.js';
import { opencode } from './opencode.js';
import type { CliAdapter, CliFile, CliName } from './types.js';

export type { CliAdapter, CliName } from './types.js';

export const ADAPTERS: Partial<Record<CliName, CliAdapter>> = { codex, gemini, opencode };

export function adapterFor(cli: CliName): CliAdapter | undefined {
  return ADAPTERS[cli];
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
