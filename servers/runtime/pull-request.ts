/**
 * A pull request for a session's branch: what the worktree holds is committed, the branch is pushed
 * to one of the repository's remotes, and the pull request is opened through the GitHub REST API the
 * person running the runtime configured (its URL and token come from the runtime's environment,
 * never from a request; the token is sent to that API only, and never logged, stored or answered).
 */
import type { components } from '../../sdk/generated/runtime.js';
import { conflict, HttpProblem, unprocessable } from '../common/contract/problem.js';
import { commitLeftovers, git, gitSucceeds } from './git.js';
import type { StoredSession } from './session-store.js';
import type { Worktree } from './worktree.js';

export type PullRequestRequest = components['schemas']['PullRequestRequest'];
export type PullRequest = components['schemas']['PullRequest'];

export interface GitHubOptions {
  /** The REST API's root (AGENT_ORCHESTRATOR_GITHUB_API_URL; https://api.github.com by default). */
  apiUrl?: string | undefined;
  /** AGENT_ORCHESTRATOR_GITHUB_TOKEN (or GITHUB_TOKEN). */
  token?: string | undefined;
}

/** GitHub's own caps are 65536 characters for a body; ours leave room for the frame. */
const MAX_RESULT = 50_000;
const MAX_PROMPT = 10_000;
const MAX_TITLE = 120;
const GITHUB_TIMEOUT_MS = 30_000;

/** `owner/name` at the end of a remote's URL (https://, ssh://, `git@host:owner/name.git` or a path). */
export function repositoryOf(url: string): { owner: string; repo: string } | null {
  const scp = /^[^/:]+@[^:/]+:(.+)$/.exec(url);
  let path = scp ? scp[1]! : url;
  if (!scp && /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      path = new URL(url).pathname;
    } catch {
      return null;
    }
  }
  const parts = path
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  if (parts.length < 2) return null;
  const [owner, repo] = parts.slice(-2) as [string, string];
  const name = /^[A-Za-z0-9._-]+$/;
  return name.test(owner) && name.test(repo) ? { owner, repo } : null;
}

/** The title: the one asked for, or the first line of the session's first prompt. */
export function pullRequestTitle(session: StoredSession, title?: string): string {
  if (title) return title;
  const line = (session.runs[0]?.prompt ?? '').split('\n').find((l) => l.trim()) ?? '';
  const text = line.trim();
  if (!text) return `aof: session ${session.name}`;
  return text.length > MAX_TITLE ? `${text.slice(0, MAX_TITLE - 1)}…` : text;
}

/** The description: what the session answered last, then the task it was given. */
export function pullRequestBody(session: StoredSession, branch: string): string {
  const answered = [...session.runs].reverse().find((run) => run.result);
  const result = cut(answered?.result?.trim() || '(The session gave no result.)', MAX_RESULT);
  const prompt = cut(session.runs[0]?.prompt.trim() ?? '', MAX_PROMPT);
  const runs = session.runs.length;
  return [
    result,
    '',
    '---',
    `Opened by aof from session \`${session.name}\` (branch \`${branch}\`, ${runs} run${runs === 1 ? '' : 's'}).`,
    '',
    '<details><summary>The task it was given</summary>',
    '',
    prompt
      .split('\n')
      .map((l) => `> ${l}`)
      .join('\n'),
    '',
    '</details>',
  ].join('\n');
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}\n\n… (cut)` : text);

/** A URL's user and password are never repeated (git may quote the remote's URL). */
const redact = (text: string) => text.replace(/(\/\/)[^/@\s]+@/g, '$1***@');

export async function openPullRequest(
  session: StoredSession,
  worktree: Worktree,
  request: PullRequestRequest,
  github: GitHubOptions,
): Promise<PullRequest> {
  if (!github.token) {
    throw conflict(
      'The runtime has no GitHub token to open pull requests with; set AGENT_ORCHESTRATOR_GITHUB_TOKEN (a fine-grained token with read and write access to pull requests of the repository) where the runtime starts, and restart it',
      'github-not-configured',
    );
  }
  const remote = request.remote ?? 'origin';
  const top = await git(worktree.repository, ['rev-parse', '--show-toplevel']).catch(() => worktree.path);
  const url = await git(top, ['remote', 'get-url', remote]).catch(() => '');
  if (!url) {
    const remotes = (await git(top, ['remote']).catch(() => '')).split('\n').filter(Boolean);
    throw unprocessable(
      'body.remote',
      `the repository at '${top}' has no git remote '${remote}'; ${remotes.length ? `name one of ${remotes.join(', ')}` : `add one (git remote add ${remote} URL)`}`,
      'remote-not-found',
    );
  }
  const where = repositoryOf(url);
  if (!where) {
    throw unprocessable(
      'body.remote',
      `the URL of remote '${remote}' (${redact(url)}) does not end in a GitHub owner/name; name a remote on GitHub`,
      'remote-not-found',
    );
  }
  const base = request.base ?? (await defaultBranch(top, remote));
  if (!base) {
    throw unprocessable(
      'body.base',
      `remote '${remote}' names no default branch; name the branch the pull request is into`,
      'branch-not-found',
    );
  }
  if (request.base && !(await remoteHasBranch(top, remote, request.base))) {
    throw unprocessable(
      'body.base',
      `remote '${remote}' has no branch '${request.base}' for the pull request to go into; name a branch it has (git ls-remote --heads ${remote}), or push that branch there first. Nothing was pushed`,
      'branch-not-found',
    );
  }
  const branch = worktree.branch;
  await commitLeftovers(worktree.path, session.name);
  const commit = await git(top, ['rev-parse', `refs/heads/${branch}`]);
  try {
    await git(top, [
      '-c',
      'core.hooksPath=/dev/null',
      'push',
      '--quiet',
      remote,
      `refs/heads/${branch}:refs/heads/${branch}`,
    ]);
  } catch (error) {
    throw conflict(
      `Pushing ${branch} to remote '${remote}' was refused: ${redact((error as Error).message)
        .split('\n')
        .slice(-6)
        .join(
          ' ',
        )} — nothing was opened. Check that the runtime's git may push there (its credentials, the branch's protection), or that the remote's ${branch} has not moved (pull it into the session's branch first)`,
      'push-refused',
    );
  }
  const api = new GitHubApi(github.apiUrl ?? 'https://api.github.com', github.token, where);
  const draft = request.draft ?? false;
  const opened = await api.send('POST', '', {
    title: pullRequestTitle(session, request.title),
    head: branch,
    base,
    body: pullRequestBody(session, branch),
    draft,
  });
  const answer = (pr: GitHubPull, created: boolean): PullRequest => ({
    number: pr.number,
    url: pr.html_url,
    repository: `${where.owner}/${where.repo}`,
    remote,
    head: branch,
    base: pr.base?.ref ?? base,
    commit,
    draft: pr.draft ?? draft,
    created,
  });
  if (opened.status === 201) return answer(opened.body as GitHubPull, true);
  const said = githubMessage(opened.body);
  if (opened.status === 422 && /already exists/i.test(said)) {
    const query = `?state=open&head=${encodeURIComponent(`${where.owner}:${branch}`)}&base=${encodeURIComponent(base)}`;
    const found = await api.send('GET', query);
    const open = Array.isArray(found.body) ? (found.body[0] as GitHubPull | undefined) : undefined;
    if (found.status === 200 && open) return answer(open, false);
  }
  if (opened.status === 401 || opened.status === 403 || opened.status === 404) {
    throw conflict(
      `GitHub refused to open a pull request in ${where.owner}/${where.repo} (${opened.status}: ${said}); the branch was pushed. Check that the runtime's GitHub token may write pull requests there (AGENT_ORCHESTRATOR_GITHUB_TOKEN)`,
      'pull-request-refused',
    );
  }
  if (opened.status >= 400 && opened.status < 500) {
    throw conflict(
      `GitHub refused to open a pull request from ${branch} into ${base} in ${where.owner}/${where.repo} (${opened.status}: ${said}); the branch was pushed`,
      'pull-request-refused',
    );
  }
  throw new HttpProblem(
    502,
    `GitHub's API answered ${opened.status} (${said}); the branch was pushed, try again later`,
    { code: 'github-unavailable' },
  );
}

interface GitHubPull {
  number: number;
  html_url: string;
  draft?: boolean;
  base?: { ref?: string };
}

/** The remote's default branch (its HEAD), asked of the remote; null when it names none. */
async function defaultBranch(top: string, remote: string): Promise<string | null> {
  const said = await git(top, ['ls-remote', '--symref', remote, 'HEAD']).catch(() => '');
  const match = /^ref: refs\/heads\/(\S+)\tHEAD/m.exec(said);
  if (match) return match[1]!;
  const local = await git(top, ['symbolic-ref', '--quiet', `refs/remotes/${remote}/HEAD`]).catch(() => '');
  if (local && (await gitSucceeds(top, ['rev-parse', '--verify', '--quiet', local])))
    return local.replace(`refs/remotes/${remote}/`, '');
  return null;
}

/** Whether the remote has the branch; true when the remote cannot be asked (the push then says why). */
async function remoteHasBranch(top: string, remote: string, branch: string): Promise<boolean> {
  const said = await git(top, ['ls-remote', '--heads', remote, `refs/heads/${branch}`]).catch(() => null);
  return said === null || said !== '';
}

/** GitHub's words: its message and those of its errors. */
function githubMessage(body: unknown): string {
  const b = body as { message?: unknown; errors?: Array<{ message?: unknown; code?: unknown }> } | null;
  const parts = [
    typeof b?.message === 'string' ? b.message : '',
    ...(Array.isArray(b?.errors)
      ? b.errors.map((e) => (typeof e?.message === 'string' ? e.message : typeof e?.code === 'string' ? e.code : ''))
      : []),
  ].filter(Boolean);
  return parts.join('; ').slice(0, 1000) || 'no message';
}

/** The pulls endpoint of one repository. */
class GitHubApi {
  constructor(
    private readonly root: string,
    private readonly token: string,
    private readonly where: { owner: string; repo: string },
  ) {}

  async send(method: 'GET' | 'POST', tail: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const url = `${this.root.replace(/\/+$/, '')}/repos/${encodeURIComponent(this.where.owner)}/${encodeURIComponent(this.where.repo)}/pulls${tail}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          Accept: 'application/vnd.github+json',
          Authorization: `Bearer ${this.token}`,
          'X-GitHub-Api-Version': '2022-11-28',
          'User-Agent': 'aof',
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS),
      });
    } catch (error) {
      throw new HttpProblem(
        502,
        `GitHub's API at ${this.root} did not answer (${(error as Error).message}); the branch was pushed, try again later`,
        { code: 'github-unavailable' },
      );
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { message: text.slice(0, 300) };
    }
    return { status: response.status, body: parsed };
  }
}
