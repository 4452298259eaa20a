/**
 * Review comments on lines of a session's worktree, turned into the one prompt that resumes it:
 * each comment with the line it is about quoted from the file as it is now, so the agent reads what
 * the reviewer saw.
 */
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { components } from '../../sdk/generated/runtime.js';
import { HttpProblem } from '../common/contract/problem.js';
import type { Worktree } from './worktree.js';

export type ReviewRequest = components['schemas']['ReviewRequest'];

/** The quoted line is cut here (minified files have very long lines). */
const MAX_QUOTE = 500;

/** The prompt for the review; 422 naming the comment's field when its file or line is not there. */
export async function reviewPrompt(worktree: Worktree, request: ReviewRequest): Promise<string> {
  const files = new Map<string, string[]>();
  const errors: Array<{ field: string; message: string }> = [];
  const items: string[] = [];
  for (const [i, comment] of request.comments.entries()) {
    const field = `body.comments[${i}]`;
    const path = resolve(worktree.path, comment.file);
    const inside = relative(worktree.path, path);
    if (!inside || inside.startsWith('..') || isAbsolute(inside) || inside.split(/[\\/]/).includes('.git')) {
      errors.push({ field: `${field}.file`, message: `'${comment.file}' is not a file of the worktree` });
      continue;
    }
    let lines = files.get(inside);
    if (!lines) {
      // A link out of the worktree (an agent made it) is not followed: nothing outside is quoted.
      const [real, root] = await Promise.all([realpath(path).catch(() => ''), realpath(worktree.path).catch(() => '')]);
      const within = real && root && !relative(root, real).startsWith('..') && !isAbsolute(relative(root, real));
      const text = within ? await readFile(path, 'utf8').catch(() => null) : null;
      if (text === null) {
        errors.push({
          field: `${field}.file`,
          message: `'${comment.file}' is not in the session's worktree (name it by its path in the repository)`,
        });
        continue;
      }
      lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      files.set(inside, lines);
    }
    const line = lines[comment.line - 1];
    if (line === undefined) {
      errors.push({
        field: `${field}.line`,
        message: `'${comment.file}' has ${lines.length} line${lines.length === 1 ? '' : 's'}; line ${comment.line} is past its end`,
      });
      continue;
    }
    const quoted = line.length > MAX_QUOTE ? `${line.slice(0, MAX_QUOTE)}…` : line;
    items.push(`${items.length + 1}. ${inside}, line ${comment.line}:\n   > ${quoted}\n   ${indent(comment.text)}`);
  }
  if (errors.length) {
    throw new HttpProblem(422, errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
      errors,
      code: 'unprocessable',
    });
  }
  return [
    `A review of your changes (branch ${worktree.branch}) asks for ${items.length === 1 ? 'this' : 'these'}:`,
    '',
    items.join('\n\n'),
    ...(request.summary ? ['', request.summary] : []),
    '',
    'Make these changes in your working directory, then say what you changed.',
  ].join('\n');
}

const indent = (text: string) => text.trim().split('\n').join('\n   ');
