/**
 * With AGENT_ORCHESTRATOR_AGENT_USER, what the agent works in is opened to its user, and the data dir
 * is kept from it. Opened by group ownership: the working dir's tree (the project dir, or the session's
 * worktree) takes the user's primary group, group read and write (and search, for directories and
 * executables), and set-group-id directories, so that what is made there later keeps the group. ACLs
 * would leave the group alone, but `setfacl` is not everywhere (nor are ACLs on every file system),
 * and one way that always works is one way to test. The person keeps their access as the owner;
 * to change what an agent made, they join that group (the agent's umask is 002).
 *
 * The data dir stays closed: it is made passable but not listable (0711), for the worktrees under it,
 * and everything directly in it but `worktrees` (0711 too) loses its group and other bits, so the admin
 * token, the store and the runs' files are the runtime's alone. Directories above the working dir are
 * not changed: the agent's user must be able to pass through them (the check below says which is not).
 */
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AgentUser } from './agent-user.js';

const run = promisify(execFile);

/** The mode a file or directory of the working dir gets for the agent's group. Pure. */
export function groupMode(mode: number, isDirectory: boolean): number {
  const bits = mode & 0o7777;
  if (isDirectory) return bits | 0o2070;
  return bits | 0o060 | (bits & 0o100 ? 0o010 : 0);
}

/** Gives `dir`'s tree to `user`'s group (symbolic links are left as they are); a tree the user owns is left alone. */
export async function openToUser(user: AgentUser, dir: string): Promise<void> {
  const top = await lstat(dir);
  if (top.uid === user.uid) return;
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    if (info.isSymbolicLink()) return;
    const directory = info.isDirectory();
    if (info.gid !== user.gid) await chown(path, info.uid, user.gid);
    const wanted = groupMode(info.mode, directory);
    // chown may clear the set-id bits: the mode is set after it.
    if (info.gid !== user.gid || (info.mode & 0o7777) !== wanted) await chmod(path, wanted);
    if (directory) for (const entry of await readdir(path)) await walk(join(path, entry));
  };
  await walk(dir);
}

/**
 * The repository's git dir when `dir` is in a worktree or a checkout (an agent that commits writes
 * objects and refs there), else undefined. Asked as this process, which trusts the repository.
 */
export async function gitCommonDir(dir: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', [
      '-c',
      'safe.directory=*',
      '-C',
      dir,
      'rev-parse',
      '--path-format=absolute',
      '--git-common-dir',
    ]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the data dir from the agent's user: passable only, and its entries the runtime's alone. */
export async function closeDataDir(dataDir: string): Promise<void> {
  await chmod(dataDir, 0o711);
  for (const entry of await readdir(dataDir)) {
    const path = join(dataDir, entry);
    const info = await lstat(path);
    if (info.isSymbolicLink()) continue;
    const wanted = entry === 'worktrees' && info.isDirectory() ? 0o711 : info.mode & 0o7700;
    if ((info.mode & 0o7777) !== wanted) await chmod(path, wanted);
  }
}

/** Null when `user` may work in `dir` (search and write it); else why not, in the operator's words. */
export async function userMayWorkIn(user: AgentUser, dir: string): Promise<string | null> {
  try {
    await run('setpriv', [...idsOf(user), '--', 'test', '-d', dir, '-a', '-w', dir, '-a', '-x', dir]);
    return null;
  } catch {
    return `the agents' Unix user '${user.name}' cannot work in '${dir}': every directory above it must let that user pass (chmod o+x, or setfacl -m u:${user.name}:x)`;
  }
}

function idsOf(user: AgentUser): string[] {
  return [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups'];
}
