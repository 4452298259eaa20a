// Real git for the tests of worktrees, changes and merges: a repository to work in, the person's
// dirty checkout and a snapshot of it (to show it untouched), and fake-model replies that make the
// agent write a file in its worktree or resolve a conflict sent back to it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { FakeRequest, Reply } from './fake-model.js';

/** Runs git in `cwd` with a fixed author, and gives its output without the trailing newline. */
export const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: 'pipe',
  }).trim();

/**
 * A repository at `dir` on branch main, whose one commit ('start') holds `files` (path: content;
 * directories made as needed), with `branches` made at that commit. Answers `dir`.
 */
export function initRepo(
  dir: string,
  files: Record<string, string> = { 'readme.txt': 'start\n' },
  branches: string[] = [],
): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--quiet', '--initial-branch=main');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '--allow-empty', '-m', 'start');
  for (const branch of branches) git(dir, 'branch', branch);
  return dir;
}

/** A commit on `branch` (checked out for it, then main again) that writes `file`. */
export function commitOn(repo: string, branch: string, file: string, content: string, message: string): void {
  git(repo, 'checkout', '--quiet', branch);
  writeFileSync(join(repo, file), content);
  git(repo, 'add', file);
  git(repo, 'commit', '--quiet', '-m', message);
  git(repo, 'checkout', '--quiet', 'main');
}

/**
 * The person's checkout at work: a stash (of an edit of `tracked`), a staged new file, an unstaged
 * edit of `tracked` and an untracked file.
 */
export function dirtyCheckout(repo: string, tracked = 'readme.txt'): void {
  writeFileSync(join(repo, tracked), 'stashed work\n');
  git(repo, 'stash', '--quiet');
  writeFileSync(join(repo, 'staged.txt'), 'staged\n');
  git(repo, 'add', 'staged.txt');
  writeFileSync(join(repo, tracked), 'unstaged work in progress\n');
  writeFileSync(join(repo, 'untracked.txt'), 'mine\n');
}

/** Every file of the checkout outside .git (bytes and mtime), and what git keeps of the person's: index, HEAD, stash. */
export function checkoutSnapshot(repo: string): Record<string, string> {
  const out: Record<string, string> = {};
  const read = (path: string) => `${readFileSync(path, 'base64')} ${statSync(path).mtimeMs}`;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(path);
      } else out[relative(repo, path)] = read(path);
    }
  };
  walk(repo);
  for (const file of ['index', 'HEAD', 'refs/stash', 'logs/refs/stash', 'ORIG_HEAD', 'MERGE_HEAD']) {
    out[`.git/${file}`] = (() => {
      try {
        return read(join(repo, '.git', file));
      } catch {
        return 'absent';
      }
    })();
  }
  return out;
}

/** `WRITE <file> <text>`: the model writes the file in its working directory, then says so. */
export function writingModel(req: FakeRequest): Reply {
  if (req.toolResults.length) return { text: 'written' };
  const write = /^WRITE (\S+) (.+)$/.exec(req.lastUserText);
  if (write) {
    const cwd = /Primary working directory: (\S+)/.exec(req.system)?.[1];
    if (!cwd) return { text: 'no working directory in the system prompt' };
    return { toolUse: { name: 'Write', input: { file_path: join(cwd, write[1]!), content: `${write[2]}\n` } } };
  }
  return { text: `ECHO: ${req.lastUserText}` };
}

const WHO = '-c user.name=a -c user.email=a@a';

/**
 * `WRITE` as `writingModel`; a merge conflict sent back to the session (the runtime's message names
 * the target): with the rebase strategy the agent rebases on the target, else it merges the target
 * in, and either way writes `resolved(target, file)` into each conflicting file and says so.
 */
export function resolvingModel(resolved: (file: string) => string): (req: FakeRequest) => Reply {
  return (req) => {
    const sent = /could not be merged into '([^']+)': they conflict in (.+)\.\n/.exec(req.lastUserText);
    if (sent && !req.toolResults.length) {
      const [, target, list] = sent;
      const files = list!.split(', ');
      const write = files.flatMap((file) => [`printf '%s\\n' '${resolved(file)}' > ${file}`, `git add ${file}`]);
      const rebase = /git rebase /.test(req.lastUserText);
      const command = [
        rebase ? `git ${WHO} rebase ${target} >/dev/null 2>&1` : `git ${WHO} merge ${target} >/dev/null 2>&1`,
        ...write,
        rebase
          ? `GIT_EDITOR=true git ${WHO} rebase --continue >/dev/null 2>&1`
          : `git ${WHO} commit --quiet -m "Merge ${target}, both sides kept"`,
        'echo resolved',
      ].join('; ');
      return { toolUse: { name: 'Bash', input: { command } } };
    }
    if (req.toolResults.some((r) => r.text.includes('resolved'))) return { text: 'Resolved: kept both sides.' };
    return writingModel(req);
  };
}
