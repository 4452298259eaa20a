/**
 * Checkpoints: with `checkpoint` on, what a session's worktree holds is committed to its branch when
 * each run ends, as one commit per run, so a run's work can be read, reverted or cherry-picked on its
 * own. The commit names the session and the run in its message and in trailers; the list is read
 * back from the branch (git is the one record of them), so what the agent rebased or dropped shows
 * as it is now.
 */
import { existsSync } from 'node:fs';
import type { components } from '../../sdk/generated/runtime.js';
import { parseFiles } from './changes.js';
import { git, gitSucceeds, identity } from './git.js';
import type { Worktree } from './worktree.js';

export type Checkpoint = components['schemas']['Checkpoint'];
export type CheckpointList = components['schemas']['CheckpointList'];

/** The trailers that mark a checkpoint commit. */
const SESSION_TRAILER = 'Aof-Session';
const RUN_TRAILER = 'Aof-Run';
/** A checkpoint's file list is cut here (its counts are of them all). */
const MAX_FILES = 500;
/** The newest this many are listed. */
export const MAX_CHECKPOINTS = 1000;

/** The checkpoint's message: a subject naming the session and the run, and the trailers that find it again. */
export function checkpointMessage(session: string, run: number, state: string): string {
  return `aof: checkpoint of session '${session}', run ${run} (${state})\n\n${SESSION_TRAILER}: ${session}\n${RUN_TRAILER}: ${run}\n`;
}

/** What git keeps while a merge, rebase, cherry-pick or revert waits to be finished. */
const UNFINISHED = ['MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', 'rebase-merge', 'rebase-apply'];

/**
 * Commits everything the worktree holds uncommitted (untracked files too; git's ignore rules apply)
 * to its branch, the repository's hooks off; the commit, or null when there was nothing to commit.
 * A worktree off its branch (a detached HEAD) or in the middle of a merge, rebase, cherry-pick or
 * revert is left as it is: committing there would land elsewhere, or conclude the agent's unfinished
 * work (conflict markers and all).
 */
export async function commitCheckpoint(
  worktreePath: string,
  session: string,
  run: number,
  state: string,
): Promise<string | null> {
  const status = await git(worktreePath, ['status', '--porcelain']);
  if (!status) return null;
  if (!(await gitSucceeds(worktreePath, ['symbolic-ref', '--quiet', 'HEAD']))) return null;
  const paths = (
    await git(worktreePath, ['rev-parse', '--path-format=absolute', ...UNFINISHED.flatMap((f) => ['--git-path', f])])
  ).split('\n');
  if (paths.some((path) => existsSync(path))) return null;
  await git(worktreePath, ['add', '--all']);
  await git(worktreePath, [
    '-c',
    'core.hooksPath=/dev/null',
    ...(await identity(worktreePath)),
    'commit',
    '--quiet',
    '--no-verify',
    '-m',
    checkpointMessage(session, run, state),
  ]);
  return git(worktreePath, ['rev-parse', 'HEAD']);
}

/** The session's checkpoints on its branch since its base commit, oldest first. */
export async function listCheckpoints(session: string, worktree: Worktree): Promise<CheckpointList> {
  const enabled = worktree.checkpoint === true;
  const answer = (checkpoints: Checkpoint[]): CheckpointList => ({
    enabled,
    branch: worktree.branch,
    base_commit: worktree.base_commit,
    checkpoints,
  });
  const ref = `refs/heads/${worktree.branch}`;
  const log = await git(worktree.path, [
    'log',
    `--max-count=${MAX_CHECKPOINTS}`,
    `--grep=^${SESSION_TRAILER}: `,
    `--format=%H%x1f%cI%x1f%s%x1f%(trailers:key=${SESSION_TRAILER},valueonly,separator=%x20)%x1f%(trailers:key=${RUN_TRAILER},valueonly,separator=%x20)%x1e`,
    `${worktree.base_commit}..${ref}`,
  ]);
  const found = log
    .split('\x1e')
    .map((record) => record.trim().split('\x1f'))
    .filter((fields) => fields.length === 5 && fields[3]!.trim() === session && /^\d+$/.test(fields[4]!.trim()))
    .reverse();
  const checkpoints: Checkpoint[] = [];
  for (const [commit, at, subject, , run] of found as Array<[string, string, string, string, string]>) {
    const span = [`${commit}^`, commit];
    const [names, counts] = await Promise.all([
      git(worktree.path, ['diff', '-M', '--no-color', '--no-ext-diff', '--name-status', '-z', ...span]),
      git(worktree.path, ['diff', '-M', '--no-color', '--no-ext-diff', '--numstat', '-z', ...span]),
    ]);
    const files = parseFiles(names, counts).map(({ in_patch: _, ...file }) => file);
    checkpoints.push({
      run: Number(run.trim()),
      commit,
      message: subject,
      at: new Date(at).toISOString(),
      files: files.slice(0, MAX_FILES),
      additions: files.reduce((sum, f) => sum + f.additions, 0),
      deletions: files.reduce((sum, f) => sum + f.deletions, 0),
    });
  }
  return answer(checkpoints);
}
