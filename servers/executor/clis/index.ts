/** The adapters of the agent CLIs aof runs, Claude Code's too, by name (servers/common/agent/agent-clis.ts says what each supports). */
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveExecutable } from '../claude-command.js';
import { claude } from './claude.js';
import { codex } from './codex.js';
import { gemini } from './gemini.js';
import { opencode } from './opencode.js';
import type { CliAdapter, CliFile, CliName } from './types.js';

export type { CliAdapter, CliName } from './types.js';

export const ADAPTERS: Record<CliName, CliAdapter> = { claude, codex, gemini, opencode };

export function adapterFor(cli: CliName): CliAdapter {
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

/** The runner tag of a CLI other than Claude Code: a run on it goes only to a runner that has it. */
export const cliTag = (cli: CliName) => `cli-${cli}`;

/**
 * Which agent CLIs this host has (found as configured: a path, or a name on PATH), their tags, and
 * a line for the log saying what was found where.
 */
export async function findClis(
  bins: Record<CliName, string>,
  path: string | undefined,
): Promise<{ found: Partial<Record<CliName, string>>; tags: string[]; summary: string }> {
  const found: Partial<Record<CliName, string>> = {};
  const missing: string[] = [];
  for (const [cli, bin] of Object.entries(bins) as Array<[CliName, string]>) {
    const where = await resolveExecutable(bin, path);
    if (where) found[cli] = where;
    else missing.push(`${cli} (${bin})`);
  }
  const has = Object.entries(found).map(([cli, where]) => `${cli} (${where})`);
  const summary = `agent CLIs found: ${has.join(', ') || 'none'}${missing.length ? `; not found: ${missing.join(', ')}` : ''}`;
  return { found, tags: (Object.keys(found) as CliName[]).filter((cli) => cli !== 'claude').map(cliTag), summary };
}
