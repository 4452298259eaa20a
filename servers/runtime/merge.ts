/**
 * Merging a session's branch into another branch without touching anyone's checkout: the merge is
 * made in a temporary detached worktree of the runtime's own (with git's own merge, squash or
 * cherry-pick, the repository's hooks off), and the target branch is then moved to the result with
 * a compare-and-swap `update-ref`, so a branch that moved meanwhile is never overwritten. A branch
 * checked out in a working tree is refused: moving it would leave that tree's files behind.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { components } from '../../sdk/generated/runtime.js';
import { conflict, HttpProblem, unprocessable } from '../common/contract/problem.js';
import { commitLeftovers, git, gitSucceeds, identity, repositoryLock } from './git.js';
import type { Worktree } from './worktree.js';

export type MergeRequest = components['schemas']['MergeRequest'];
export type MergeResult = components['schemas']['MergeResult'];
type Strategy = MergeResult['strategy'];

/** No hooks of the repository run in the runtime's own worktrees (they are the person's, for their checkouts). */
const NO_HOOKS = ['-c', 'core.hooksPath=/dev/null'];

export async function mergeSessionBranch(
  session: string,
  worktree: Worktree,
  request: MergeRequest,
  scratchRoot: string,
): Promise<MergeResult> {
  const strategy: Strategy = request.strategy ?? 'merge';
  const { into } = request;
  const { branch } = worktree;
  const { top, ref, name } = await mergeTarget(worktree, into);
  // The agent's uncommitted work belongs to what is merged, as on deletion.
  await commitLeftovers(worktree.path, session);
  return repositoryLock.run(top, async () => {
    const previous = await checkTarget(top, ref, name, branch);
    if (await gitSucceeds(top, ['merge-base', '--is-ancestor', branch, previous])) {
      throw conflict(`Branch '${name}' has everything '${branch}' holds already; nothing to merge`, 'nothing-to-merge');
    }
    const message = request.message ?? `Merge ${branch} into ${name}`;
    const commit = await inScratchWorktree(top, scratchRoot, previous, async (dir) => {
      const who = [...NO_HOOKS, ...(await identity(dir))];
      if (strategy === 'rebase' && (await gitSucceeds(dir, ['merge-base', '--is-ancestor', previous, branch]))) {
        return git(dir, ['rev-parse', branch]); // nothing to replay onto: a fast-forward
      }
      const step =
        strategy === 'merge'
          ? ['merge', '--no-ff', '--no-edit', '-m', message, branch]
          : strategy === 'squash'
            ? ['merge', '--squash', branch]
            : ['cherry-pick', '--keep-redundant-commits', `${previous}..${branch}`];
      try {
        await git(dir, [...who, ...step]);
      } catch (error) {
        const files = (await git(dir, ['diff', '--name-only', '--diff-filter=U']).catch(() => ''))
          .split('\n')
          .filter(Boolean);
        if (!files.length) throw error;
        throw new MergeConflict(
          `Merging '${branch}' into '${name}' (${strategy}) conflicts in ${files.join(', ')}; nothing was changed. Have the session bring its branch up to date with '${name}' and resolve them (resume it, saying so, or merge with resolve), then merge again`,
          name,
          files,
        );
      }
      if (strategy === 'squash') await git(dir, [...who, 'commit', '--quiet', '--no-verify', '-m', message]);
      return git(dir, ['rev-parse', 'HEAD']);
    });
    try {
      await git(top, ['update-ref', '-m', `aof: ${strategy} ${branch}`, ref, commit, previous]);
    } catch {
      throw conflict(`Branch '${name}' moved while '${branch}' was being merged into it; merge again`, 'conflict');
    }
    const commits = Number(await git(top, ['rev-list', '--count', `${previous}..${commit}`]));
    return { into: name, branch, strategy, previous_commit: previous, commit, commits };
  });
}

/** The repository a worktree's branch is merged in, and `into` as a ref there; 422 for a name that is no branch name. */
async function mergeTarget(worktree: Worktree, into: string): Promise<{ top: string; ref: string; name: string }> {
  const top = await git(worktree.repository, ['rev-parse', '--show-toplevel']).catch(() => worktree.path);
  if (into === worktree.branch || into === `refs/heads/${worktree.branch}`) {
    throw unprocessable('body.into', `'${into}' is the session's own branch; name the branch to merge it into`);
  }
  if (!(await gitSucceeds(top, ['check-ref-format', '--branch', into]))) {
    throw unprocessable('body.into', `'${into}' is not a valid branch name`, 'branch-not-found');
  }
  const ref = `refs/heads/${into.replace(/^refs\/heads\//, '')}`;
  return { top, ref, name: ref.slice('refs/heads/'.length) };
}

/** Where the target branch is now; 422 when there is none, 409 when a working tree has it checked out. */
async function checkTarget(top: string, ref: string, name: string, branch: string): Promise<string> {
  const previous = await git(top, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).catch(() => '');
  if (!previous) {
    throw unprocessable(
      'body.into',
      `no branch '${name}' in '${top}'; name an existing local branch (git branch --list), or create it first (git branch ${name})`,
      'branch-not-found',
    );
  }
  const checkedOut = await checkedOutAt(top, ref);
  if (checkedOut) {
    throw conflict(
      `Branch '${name}' is checked out in '${checkedOut}'; merging into it there would leave that working tree behind its branch. Merge into a branch that is not checked out (and bring it in there yourself), or run \`git merge ${branch}\` in that checkout`,
      'branch-checked-out',
    );
  }
  return previous;
}

/**
 * The checks a merge into `into` makes of the target before anything is changed (a valid, existing
 * branch that no working tree has checked out), for a merge queue to refuse a bad target before its
 * first child.
 */
export async function checkMergeTarget(worktree: Worktree, into: string): Promise<void> {
  const { top, ref, name } = await mergeTarget(worktree, into);
  await checkTarget(top, ref, name, worktree.branch);
}

/** A 409 `merge-conflict` that knows the branch merged into and the files that conflict. */
export class MergeConflict extends HttpProblem {
  constructor(
    detail: string,
    readonly into: string,
    readonly files: string[],
  ) {
    super(409, detail, { code: 'merge-conflict' });
  }
}

/** The message that resumes a session whose branch conflicts with `into`: what to run, and where. */
export function conflictPrompt(branch: string, into: string, files: string[], strategy: Strategy): string {
  const how =
    strategy === 'rebase'
      ? `rebase your branch on it (\`git rebase ${into}\`; the branch is in this repository), resolving each conflict and continuing (\`git add\` the files, \`git -c core.editor=true rebase --continue\`)`
      : `merge it into your branch (\`git merge ${into}\`; the branch is in this repository), resolve the conflicts and commit the merge`;
  return [
    `Your branch ${branch} could not be merged into '${into}': they conflict in ${files.join(', ')}.`,
    '',
    `In your working directory, ${how}. Keep what both sides meant; do not push and do not change '${into}' itself.`,
    'Then say how you resolved each file.',
  ].join('\n');
}

/** The working tree that has `ref` checked out, if any (`git worktree list --porcelain`). */
async function checkedOutAt(top: string, ref: string): Promise<string | null> {
  let path: string | null = null;
  for (const line of (await git(top, ['worktree', 'list', '--porcelain'])).split('\n')) {
    if (line.startsWith('worktree ')) path = line.slice('worktree '.length);
    else if (line === `branch ${ref}`) return path;
  }
  return null;
}

/** Runs `work` in a detached worktree at `commit`, made for it and removed after, whatever happens. */
async function inScratchWorktree<T>(
  top: string,
  root: string,
  commit: string,
  work: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = join(root, `merge-${randomUUID()}`);
  await git(top, [...NO_HOOKS, 'worktree', 'add', '--quiet', '--detach', dir, commit]);
  try {
    return await work(dir);
  } finally {
    await git(top, ['worktree', 'remove', '--force', dir]).catch(() => undefined);
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    await git(top, ['worktree', 'prune']).catch(() => undefined);
  }
}
