/**
 * Making a new worktree ready to work in, before the session's first run: the files the checkout has
 * but git ignores that its `.worktreeinclude` names (`.env`, say) are copied in, as Claude Code does
 * for its own worktrees, and the blueprint's `worktree_setup` command (`npm ci`, say) is run there
 * with a timeout, its output kept for the session's events.
 */
import { spawn } from 'node:child_process';
import { copyFile, lstat, mkdir, readlink, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { components } from '../../sdk/generated/registry.js';
import type { components as runtime } from '../../sdk/generated/runtime.js';
import { git } from './git.js';

export type WorktreeSetup = components['schemas']['WorktreeSetup'];
export type WorktreeSetupData = runtime['schemas']['WorktreeSetupData'];

export const DEFAULT_SETUP_TIMEOUT_SECONDS = 300;
/** The end of the output kept (in the event and the run's error). */
export const MAX_SETUP_OUTPUT = 64 * 1024;

/**
 * Copies into `worktree` the files under `top` that match `top/.worktreeinclude` (gitignore
 * patterns) and that git ignores there; tracked files are in the worktree already. Returns their
 * paths, relative to the repository. No `.worktreeinclude`: nothing.
 */
export async function copyWorktreeIncludes(top: string, worktree: string): Promise<string[]> {
  const include = join(top, '.worktreeinclude');
  if (!(await lstat(include).catch(() => null))?.isFile()) return [];
  // The untracked files the patterns name, then those of them that git ignores.
  const named = (await git(top, ['ls-files', '-z', '--others', '--ignored', `--exclude-from=${include}`]))
    .split('\0')
    .filter(Boolean);
  if (!named.length) return [];
  const ignored = await checkIgnored(top, named);
  for (const path of ignored) {
    const from = join(top, path);
    const to = join(worktree, path);
    await mkdir(dirname(to), { recursive: true });
    const info = await lstat(from);
    if (info.isSymbolicLink()) await symlink(await readlink(from), to).catch(() => undefined);
    else await copyFile(from, to);
  }
  return ignored;
}

/** Those of `paths` that git ignores in `top` (`git check-ignore --stdin`). */
function checkIgnored(top: string, paths: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['check-ignore', '-z', '--stdin'], { cwd: top, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    // Exit 1: none is ignored.
    child.on('close', (code) =>
      code === 0 || code === 1
        ? resolve(out.split('\0').filter(Boolean))
        : reject(new Error(`git check-ignore exited ${code}`)),
    );
    child.stdin.end(`${paths.join('\0')}\0`);
  });
}

/**
 * Runs `setup.command` with `sh -c` in `cwd` (its own process group, killed whole at the timeout),
 * stdout and stderr together. Never throws: a command that cannot start has exit code null.
 */
export function runWorktreeSetup(
  setup: WorktreeSetup,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<WorktreeSetupData> {
  const timeoutMs = (setup.timeout_seconds ?? DEFAULT_SETUP_TIMEOUT_SECONDS) * 1000;
  return new Promise((resolve) => {
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 2 * MAX_SETUP_OUTPUT) output = output.slice(-MAX_SETUP_OUTPUT);
    };
    const child = spawn('sh', ['-c', setup.command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const done = (exitCode: number | null, extra = '') => {
      clearTimeout(timer);
      resolve({
        command: setup.command,
        exit_code: timedOut ? null : exitCode,
        ...(timedOut ? { timed_out: true } : {}),
        output: (output + extra).slice(-MAX_SETUP_OUTPUT),
      });
    };
    child.on('error', (error) => done(null, `${error.message}\n`));
    child.on('close', (code) => done(code));
  });
}

/** The run's error for a setup that failed, with the end of its output. */
export function setupFailure(result: WorktreeSetupData, timeoutSeconds: number): string {
  const how = result.timed_out
    ? `did not finish within ${timeoutSeconds} s and was killed`
    : result.exit_code === null
      ? 'could not be started'
      : `exited with ${result.exit_code}`;
  const tail = result.output.trim().slice(-2000);
  return `The blueprint's worktree_setup (${result.command}) ${how}; Claude Code was not started${tail ? `. Its output:\n${tail}` : ''}`;
}
