/**
 * A git worktree per session: created by the runtime with `git worktree add` before the first run
 * (not with Claude Code's `--worktree`), so that the branch name (`aof/<session>`), where the
 * worktree lives, what "has changes" means and the clean-up on deletion are the runtime's to decide
 * and to show, and so that a resumed or forked conversation finds its directory again.
 */
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { components } from '../../sdk/generated/runtime.js';
import { conflict, unprocessable } from '../common/contract/problem.js';
import { commitLeftovers, git, repositoryLock } from './git.js';
import { copyWorktreeIncludes } from './worktree-setup.js';

export type Worktree = components['schemas']['Worktree'];

export const branchOf = (session: string) => `aof/${session}`;

/**
 * Adds a worktree for `session` on a new branch from the checked-out commit of `projectDir`'s
 * repository, under `root`. The session then works in the same sub-directory of the worktree as
 * `projectDir` is of its repository. 422 (`body.worktree`) when `projectDir` is not in a repository
 * with a commit; 409 when the branch exists (kept from an earlier session of that name).
 */
export async function addWorktree(
  root: string,
  session: string,
  id: string,
  projectDir: string,
): Promise<{ worktree: Worktree; workDir: string }> {
  let top: string;
  let base: string;
  try {
    top = await git(projectDir, ['rev-parse', '--show-toplevel']);
  } catch {
    throw unprocessable(
      'body.worktree',
      `'${projectDir}' is not in a git repository; create the session without a worktree, or run git init there first`,
    );
  }
  try {
    base = await git(top, ['rev-parse', '--verify', 'HEAD^{commit}']);
  } catch {
    throw unprocessable(
      'body.worktree',
      `the git repository at '${top}' has no commit yet to branch from; commit something first`,
    );
  }
  const branch = branchOf(session);
  const path = join(root, id);
  await repositoryLock.run(top, async () => {
    if (await git(top, ['branch', '--list', branch])) {
      throw conflict(
        `Branch '${branch}' already exists in '${top}' (kept from an earlier session?); delete it (git branch -D ${branch}) or choose another session name`,
        'branch-exists',
      );
    }
    await git(top, ['worktree', 'add', '--quiet', '-b', branch, path, base]);
  });
  try {
    await copyWorktreeIncludes(top, path);
  } catch (error) {
    await removeWorktree(
      { path, branch, repository: projectDir, base_commit: base, has_changes: false },
      session,
      true,
    );
    throw unprocessable(
      'body.worktree',
      `copying the files '${join(top, '.worktreeinclude')}' names into the new worktree failed (${(error as Error).message}); fix that file or those files`,
    );
  }
  return {
    worktree: { path, branch, repository: projectDir, base_commit: base, has_changes: false },
    workDir: join(path, relative(top, projectDir)),
  };
}

/** Whether the worktree holds uncommitted changes or commits beyond its base. */
export async function hasChanges(worktree: Worktree): Promise<boolean> {
  const [status, head] = await Promise.all([
    git(worktree.path, ['status', '--porcelain', '--untracked-files=normal']),
    git(worktree.path, ['rev-parse', 'HEAD']),
  ]);
  return status !== '' || head !== worktree.base_commit;
}

/**
 * Removes the worktree. Unless `discard`, what the agent left uncommitted is first committed to the
 * branch, and the branch is kept; with `discard`, the branch goes too. A worktree or repository
 * that is already gone is not an error.
 */
export async function removeWorktree(worktree: Worktree, session: string, discard: boolean): Promise<void> {
  const repository = await git(worktree.repository, ['rev-parse', '--show-toplevel']).catch(() => null);
  // A worktree that is gone holds nothing to keep; one that cannot be committed fails the deletion.
  if (!discard && (await git(worktree.path, ['status', '--porcelain']).catch(() => ''))) {
    await commitLeftovers(worktree.path, session);
  }
  await repositoryLock.run(repository ?? worktree.path, async () => {
    if (repository) await git(repository, ['worktree', 'remove', '--force', worktree.path]).catch(() => undefined);
    await rm(worktree.path, { recursive: true, force: true });
    if (repository) {
      await git(repository, ['worktree', 'prune']).catch(() => undefined);
      if (discard) await git(repository, ['branch', '-D', worktree.branch]).catch(() => undefined);
    }
  });
}
