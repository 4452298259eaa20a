#!/usr/bin/env node
import type { ReviewComment, Session } from '../sdk/index.js';
import { checkName, CliError, main, stringOption } from './lib/cli.js';
import { finishRun, RUN_OPTIONS, waitSettings } from './lib/run.js';

/** `FILE:LINE:TEXT` (the text may hold colons; the file may not). */
function parseComment(spec: string, where: string): ReviewComment {
  const match = /^([^:]+):(\d+):([\s\S]+)$/.exec(spec);
  if (!match || Number(match[2]) < 1)
    throw new CliError(`${where}: '${spec}' is not FILE:LINE:TEXT (e.g. src/app.ts:12:Use a constant here)`, 'usage');
  return { file: match[1]!, line: Number(match[2]), text: match[3]!.trim() };
}

await main({
  name: 'ao-review',
  args: ['name'],
  description: [
    "Sends review comments on lines of a session's worktree back to it: one generated prompt quotes each line with its comment, and the session is resumed with it, so its next run is the fix.",
    'Lines are of the files as they are now in the worktree (see ao-diff NAME). Waits for that run and prints its result, unless --async.',
  ],
  options: [
    {
      name: 'comment',
      short: 'c',
      type: 'string',
      value: 'FILE:LINE:TEXT',
      description: 'A comment on line LINE of FILE (its path in the repository); give it once per comment',
    },
    {
      name: 'comments-file',
      type: 'string',
      value: 'FILE',
      description: 'Comments from a file: one FILE:LINE:TEXT a line, or JSON [{"file", "line", "text"}]',
    },
    {
      name: 'message',
      short: 'm',
      type: 'string',
      value: 'TEXT',
      description: 'A word on the whole review, after the comments',
    },
    ...RUN_OPTIONS,
  ],
  examples: [
    'ao-review fix-parser -c "src/parser.ts:42:Handle an empty input here"',
    'ao-review fix-parser --comments-file review.txt -m "Then run the tests"',
  ],
  async run(ctx, [name], options) {
    checkName(name!);
    const settings = waitSettings(options);
    const given = options.comment;
    const specs =
      given === undefined || given === false ? [] : Array.isArray(given) ? given.map(String) : [String(given)];
    if (specs.some((s) => s === 'true' || s === '')) throw new CliError('--comment needs FILE:LINE:TEXT', 'usage');
    const comments = specs.map((spec) => parseComment(spec, '--comment'));
    const file = stringOption(options, 'comments-file');
    if (file !== undefined) comments.push(...(await readComments(file)));
    if (!comments.length)
      throw new CliError('Give at least one comment: --comment FILE:LINE:TEXT, or --comments-file FILE', 'usage');
    const summary = stringOption(options, 'message');
    ctx.about({ session: name, resuming: true });
    const ao = await ctx.client();
    const { ApiError } = await import('../sdk/index.js');
    let session: Session;
    try {
      session = await ao.sessions.review(name!, { comments, ...(summary !== undefined ? { summary } : {}) });
    } catch (error) {
      // The server names comments by their place in the list: say which comment that was.
      if (error instanceof ApiError && error.status === 422 && error.errors.length) {
        const lines = error.errors.map((e) => {
          const index = Number(/comments\[(\d+)\]/.exec(e.field)?.[1]);
          const c = comments[index];
          return c ? `${c.file}:${c.line}: ${e.message}` : `${e.field} ${e.message}`;
        });
        throw new CliError(
          `${lines.join('; ')} — see the files it changed with ao-diff ${name} --stat`,
          'unprocessable',
        );
      }
      if (error instanceof ApiError && error.code === 'no-worktree') throw new CliError(error.message, 'no_worktree');
      throw error;
    }
    await finishRun(ctx, ao, session, settings);
  },
});

async function readComments(path: string): Promise<ReviewComment[]> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(
      `--comments-file: cannot read '${path}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      'usage',
    );
  }
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new CliError(`--comments-file: '${path}' is not valid JSON (${(error as Error).message})`, 'usage');
    }
    if (!Array.isArray(parsed))
      throw new CliError(`--comments-file: '${path}' must hold a JSON array of comments`, 'usage');
    return parsed as ReviewComment[];
  }
  return text
    .split('\n')
    .map((line, i) => [line, i] as const)
    .filter(([line]) => line.trim())
    .map(([line, i]) => parseComment(line, `--comments-file line ${i + 1}`));
}
