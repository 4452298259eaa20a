/**
 * What a session changed in its worktree, against the commit its branch was made from: the branch's
 * commits, what is uncommitted and what is untracked, in one diff. The working tree is snapshotted
 * into a temporary copy of its index (`GIT_INDEX_FILE`), so the worktree's own index, its files and
 * its branch are never written; git's ignore rules decide what is a change.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { components } from '../../sdk/generated/runtime.js';
import { notFound } from '../common/contract/problem.js';
import { git } from './git.js';
import type { Worktree } from './worktree.js';

export type Changes = components['schemas']['Changes'];
export type ChangedFile = components['schemas']['ChangedFile'];

export const DEFAULT_MAX_PATCH_BYTES = 1024 * 1024;
/** The list's cap; `files_total` counts them all. */
export const MAX_LISTED_FILES = 3000;

export interface ChangesOptions {
  /** Only this changed file (its new or old path). */
  file?: string | undefined;
  /** No patch, the list only. */
  stat?: boolean | undefined;
  maxBytes?: number | undefined;
}

/** git's status letters. */
const STATUS: Record<string, ChangedFile['status']> = {
  A: 'added',
  M: 'modified',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
  T: 'type-changed',
};

/** The same diff for every question: staged snapshot against the base, renames found, no one's config in the way. */
const DIFF = ['diff', '--cached', '-M', '--no-color', '--no-ext-diff', '--no-textconv', '--submodule=short'];

export async function worktreeChanges(
  session: string,
  worktree: Worktree,
  options: ChangesOptions = {},
): Promise<Changes> {
  const top = worktree.path;
  const scratch = await mkdtemp(join(tmpdir(), 'aof-changes-'));
  try {
    const index = join(scratch, 'index');
    const env = { GIT_INDEX_FILE: index };
    // Start from the worktree's index (tracked files stay tracked, its stat cache saves rehashing).
    const own = await git(top, ['rev-parse', '--git-path', 'index']);
    await copyFile(isAbsolute(own) ? own : join(top, own), index).catch(() => git(top, ['read-tree', 'HEAD'], { env }));
    await git(top, ['add', '--all', '--', '.'], { env });
    const base = worktree.base_commit;
    const [head, headTree, snapshotTree, names, counts] = await Promise.all([
      git(top, ['rev-parse', 'HEAD']),
      git(top, ['rev-parse', 'HEAD^{tree}']),
      git(top, ['write-tree'], { env }),
      git(top, [...DIFF, '--name-status', '-z', base], { env }),
      git(top, [...DIFF, '--numstat', '-z', base], { env }),
    ]);
    const all = parseFiles(names, counts);
    const additions = all.reduce((sum, f) => sum + f.additions, 0);
    const deletions = all.reduce((sum, f) => sum + f.deletions, 0);
    let files = all.slice(0, MAX_LISTED_FILES);
    let pathspec: string[] = [];
    if (options.file !== undefined) {
      const wanted = all.find((f) => f.path === options.file || f.old_path === options.file);
      if (!wanted) {
        throw notFound(
          `'${options.file}' is not among the changes of session '${session}'; ask for its changes without a file to see the list of changed files`,
          'file-not-found',
        );
      }
      files = [wanted];
      pathspec = ['--', ...(wanted.old_path ? [wanted.old_path] : []), wanted.path];
    }
    let patch: string | null = null;
    if (!options.stat) {
      const maxBytes = options.maxBytes ?? DEFAULT_MAX_PATCH_BYTES;
      const perFile = options.file !== undefined ? maxBytes : Math.max(1024, Math.floor(maxBytes / 4));
      patch = await cappedPatch(top, [...DIFF, '--patch', base, ...pathspec], env, files, perFile, maxBytes);
    }
    return {
      branch: worktree.branch,
      base_commit: base,
      head_commit: head,
      uncommitted: snapshotTree !== headTree,
      files,
      files_total: all.length,
      additions,
      deletions,
      patch,
      truncated: files.length < (options.file !== undefined ? 1 : all.length) || files.some(isCut),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const isCut = (file: ChangedFile) => file.in_patch === 'cut' || file.in_patch === 'omitted';

/** `--name-status -z` and `--numstat -z` of the same diff: one entry per file, in git's order. */
export function parseFiles(names: string, counts: string): ChangedFile[] {
  const files: ChangedFile[] = [];
  const n = names ? names.split('\0') : [];
  for (let i = 0; i + 1 < n.length; ) {
    const letter = n[i]!.charAt(0);
    if (letter === 'R' || letter === 'C') {
      files.push(entry(STATUS[letter]!, n[i + 2]!, n[i + 1]!));
      i += 3;
    } else {
      files.push(entry(STATUS[letter] ?? 'modified', n[i + 1]!));
      i += 2;
    }
  }
  // numstat: `add\tdel\tpath\0`, or for a rename `add\tdel\t\0old\0new\0`; `-\t-` for a binary file.
  const c = counts ? counts.split('\0') : [];
  let k = 0;
  for (let i = 0; i < c.length && k < files.length; i++) {
    const [add, del, path] = c[i]!.split('\t');
    if (add === undefined || del === undefined || path === undefined) continue;
    if (path === '') i += 2; // the two paths of a rename follow
    const file = files[k++]!;
    if (add === '-') file.binary = true;
    else {
      file.additions = Number(add);
      file.deletions = Number(del);
    }
  }
  return files;
}

function entry(status: ChangedFile['status'], path: string, oldPath?: string): ChangedFile {
  return {
    path,
    ...(oldPath !== undefined ? { old_path: oldPath } : {}),
    status,
    additions: 0,
    deletions: 0,
    binary: false,
    in_patch: 'none',
  };
}

/**
 * git's patch, read line by line and kept within the caps: each file's diff (from its `diff --git`
 * line) at `perFile` bytes, all of them at `total`. Marks each of `files` (in the patch's order) with
 * what of it is there; git is stopped once nothing more fits.
 */
async function cappedPatch(
  cwd: string,
  args: string[],
  env: Record<string, string>,
  files: ChangedFile[],
  perFile: number,
  total: number,
): Promise<string> {
  const child = spawn('git', args, {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const kept: string[] = [];
  let used = 0;
  let current: ChangedFile | undefined;
  let index = -1;
  let fileBytes = 0;
  let full = false;
  let early = false;
  for await (const line of splitLines(child.stdout)) {
    if (line.startsWith('diff --git ')) {
      index++;
      current = files[index];
      fileBytes = 0;
      if (!current || full) {
        early = true;
        break;
      }
      current.in_patch = current.binary ? 'binary' : 'whole';
    }
    if (!current || current.in_patch === 'cut') continue;
    const size = Buffer.byteLength(line) + 1;
    if (fileBytes + size > perFile || used + size > total) {
      // A file whose header alone does not fit is left out, not cut.
      current.in_patch = fileBytes === 0 ? 'omitted' : 'cut';
      if (used + size > total) {
        full = true;
        early = true;
        break;
      }
      continue;
    }
    kept.push(line);
    fileBytes += size;
    used += size;
  }
  if (early) child.kill();
  const code = await exited;
  if (!early && code !== 0) throw new Error(stderr.trim() || `git diff exited with ${code}`);
  for (const file of files.slice(index + 1)) file.in_patch = 'omitted';
  return kept.length ? `${kept.join('\n')}\n` : '';
}

/** The lines of a stream (without their `\n`), each decoded on its own; a `\r` stays part of its line. */
async function* splitLines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  let rest = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, start)) {
      yield data.subarray(start, at).toString('utf8');
      start = at + 1;
    }
    data = data.subarray(start);
    rest = Buffer.from(data);
  }
  if (rest.length) yield rest.toString('utf8');
}
