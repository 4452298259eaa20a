/**
 * `AGENT_ORCHESTRATOR_AGENT_USER`: agents run as another Unix user than the runtime, so they cannot
 * read what the runtime's user can (the data dir's admin token, the person's files). The runtime (as
 * root) opens each run's files itself and starts the agent through `setpriv` with that user's ids,
 * groups and home; the agent never sees the run's files but for its MCP config, which is written
 * into a directory of its own. What it works in is opened to it, and the data dir kept from it, by
 * agent-access.ts.
 */
import { chown, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AgentUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The entry of `name` (or a numeric uid) in passwd-format `text`; undefined when there is none. Pure. */
export function findUser(text: string, name: string): AgentUser | undefined {
  for (const line of text.split('\n')) {
    const [user, , uid, gid, , home] = line.split(':');
    if (!user || uid === undefined || gid === undefined) continue;
    if (user === name || uid === name) return { name: user, uid: Number(uid), gid: Number(gid), home: home || '/' };
  }
  return undefined;
}

/** The user agents run as, checked: the runtime must be root to become it. Throws in the user's words. */
export async function resolveAgentUser(name: string, isRoot: boolean): Promise<AgentUser> {
  if (!isRoot)
    throw new Error(
      `AGENT_ORCHESTRATOR_AGENT_USER=${name} needs the runtime to run as root (it starts each agent as that user)`,
    );
  const user = findUser(await readFile('/etc/passwd', 'utf8'), name);
  if (!user) throw new Error(`AGENT_ORCHESTRATOR_AGENT_USER: no Unix user '${name}' (see /etc/passwd)`);
  if (user.uid === 0) throw new Error(`AGENT_ORCHESTRATOR_AGENT_USER: '${name}' is root; name an unprivileged user`);
  return user;
}

/**
 * The command that runs the agent as `user`: `setpriv` with its ids and groups, then the agent with
 * umask 002, so that what it makes in the working dir stays its group's to change (agent-access.ts).
 */
export function asUser(user: AgentUser): string[] {
  return [
    'setpriv',
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--init-groups',
    '--',
    '/bin/sh',
    '-c',
    'umask 002 && exec "$@"',
    'sh',
  ];
}

/**
 * Who the agent's environment says it is: that user's home and names (its Claude Code config is
 * there). Its git trusts the repositories it is given, which another user owns (git refuses those
 * by default, `safe.directory`); given as the command scope's config, which git honours for it.
 */
export function userEnvironment(user: AgentUser, env: NodeJS.ProcessEnv = {}): Record<string, string> {
  const names = { HOME: user.home, USER: user.name, LOGNAME: user.name };
  if (env.GIT_CONFIG_COUNT !== undefined) return names;
  return { ...names, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*' };
}

/** A directory of the user's own (0700), for the files of a run the agent itself reads (its MCP config). */
export async function userDirectory(user: AgentUser): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aof-agent-'));
  await chown(dir, user.uid, user.gid);
  return dir;
}

/** The agents' base environment: as the user's, when they run as one. */
export function agentBaseEnv(env: NodeJS.ProcessEnv, user: AgentUser | undefined): NodeJS.ProcessEnv {
  return user ? { ...env, ...userEnvironment(user, env) } : env;
}
