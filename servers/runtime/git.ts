/**
 * Running git for the runtime's worktree work: one command at a time, its stdout or its own error
 * message, never a prompt, never the person's hooks in the runtime's own working trees.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KeyedLock } from './keyed-lock.js';

const run = promisify(execFile);

/** git refuses concurrent changes to one repository's worktrees and refs: one at a time per repository. */
export const repositoryLock = new KeyedLock();

export interface GitOptions {
  /** Added to the environment (GIT_INDEX_FILE, say). */
  env?: Record<string, string>;
}

/** A git command's stdout, trimmed; throws with git's own message on failure. */
export async function git(cwd: string, args: string[], options: GitOptions = {}): Promise<string> {
  try {
    const { stdout } = await run('git', args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    const stdout = String((error as { stdout?: string }).stdout ?? '').trim();
    throw new Error(stderr || stdout || (error as Error).message);
  }
}

/** Whether a git command exits 0 (`merge-base --is-ancestor`, `rev-parse --verify`). */
export async function gitSucceeds(cwd: string, args: string[]): Promise<boolean> {
  return git(cwd, args).then(
    () => true,
    () => false,
  );
}

/** A committer for the runtime's commits when git has none configured. */
export async function identity(cwd: string): Promise<string[]> {
  const email = await git(cwd, ['config', 'user.email']).catch(() => '');
  return email ? [] : ['-c', 'user.name=aof', '-c', 'user.email=aof@localhost'];
}

/** Commits whatever the worktree holds uncommitted (untracked files too) to its branch; false when clean. */
export async function commitLeftovers(worktreePath: string, session: string): Promise<boolean> {
  const status = await git(worktreePath, ['status', '--porcelain']);
  if (!status) return false;
  await git(worktreePath, ['add', '--all']);
  await git(worktreePath, [
    ...(await identity(worktreePath)),
    'commit',
    '--quiet',
    '--no-verify',
    '-m',
    `aof: what session '${session}' left uncommitted`,
  ]);
  return true;
}
