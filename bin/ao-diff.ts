#!/usr/bin/env node
import type { ChangedFile, Changes, CheckpointList } from '../sdk/index.js';
import { checkName, CliError, main, stringOption } from './lib/cli.js';

const LETTER: Record<ChangedFile['status'], string> = {
  added: 'A',
  modified: 'M',
  deleted: 'D',
  renamed: 'R',
  copied: 'C',
  'type-changed': 'T',
};

/** One line per file: status letter, path (old -> new for a rename), lines added and deleted. */
export function statLines(changes: Changes): string[] {
  const names = changes.files.map((f) => (f.old_path ? `${f.old_path} -> ${f.path}` : f.path));
  const width = Math.min(60, Math.max(0, ...names.map((n) => n.length)));
  const lines = changes.files.map(
    (f, i) =>
      `${LETTER[f.status]} ${names[i]!.padEnd(width)}  ${f.binary ? 'binary' : `+${f.additions} -${f.deletions}`}`,
  );
  const count = changes.files_total;
  const listed = count > changes.files.length ? ` (${changes.files.length} listed)` : '';
  lines.push(
    `${count} file${count === 1 ? '' : 's'} changed${listed}, +${changes.additions} -${changes.deletions} against ${changes.base_commit.slice(0, 12)}${changes.uncommitted ? ' (uncommitted changes included)' : ''}`,
  );
  return lines;
}

/** One line per checkpoint, oldest first: run, commit, counts, files. */
export function checkpointLines(list: CheckpointList): string[] {
  if (!list.checkpoints.length)
    return [
      list.enabled
        ? `No checkpoints on ${list.branch} yet: a run that changes something ends with one`
        : `No checkpoints: the session was started without them (ao-new NAME --worktree --checkpoint)`,
    ];
  return list.checkpoints.map((c) => {
    const files = c.files.map((f) => f.path);
    const shown = files.length > 3 ? `${files.slice(0, 3).join(', ')} and ${files.length - 3} more` : files.join(', ');
    return `run ${c.run}  ${c.commit.slice(0, 12)}  +${c.additions} -${c.deletions}  ${shown}`;
  });
}

await main({
  name: 'ao-diff',
  args: ['name'],
  optionalArgs: ['file'],
  description: [
    'Shows what a session changed in its git worktree, against the commit its branch was made from: its commits, what it left uncommitted and new files, as one unified patch (or, with --stat, a file list with lines added and deleted).',
    'With FILE, only that file. The patch is capped (--max-bytes); a note on stderr says which files were cut or left out, and binary files are named, not shown.',
    "With --checkpoints, the session's checkpoint commits instead (sessions started with --checkpoint): one per run that changed something, each revertible with git revert COMMIT.",
  ],
  options: [
    { name: 'stat', type: 'boolean', description: 'The changed files and their counts only, no patch' },
    {
      name: 'checkpoints',
      type: 'boolean',
      description: "List the session's checkpoint commits, one per run, with the files each changed",
    },
    {
      name: 'max-bytes',
      type: 'string',
      value: 'N',
      description: 'Cap the patch at N bytes (1024 to 16777216; default 1048576)',
    },
  ],
  examples: [
    'ao-diff fix-tests',
    'ao-diff fix-tests --stat',
    'ao-diff fix-tests src/app.ts',
    'ao-diff fix-tests --json',
    'ao-diff fix-tests --checkpoints',
  ],
  async run(ctx, [name, file], options) {
    checkName(name!);
    const maxText = stringOption(options, 'max-bytes');
    const maxBytes = maxText === undefined ? undefined : Number(maxText);
    if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes >= 1024 && maxBytes <= 16_777_216))
      throw new CliError(`--max-bytes must be a whole number from 1024 to 16777216, not '${maxText}'`, 'usage');
    if (options.checkpoints && (file !== undefined || options.stat || maxText !== undefined))
      throw new CliError('--checkpoints lists the commits only: leave out FILE, --stat and --max-bytes', 'usage');
    ctx.about({ session: name });
    const ao = await ctx.client();
    const { ApiError } = await import('../sdk/index.js');
    if (options.checkpoints) {
      let list: CheckpointList;
      try {
        list = await ao.sessions.checkpoints(name!);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'no-worktree') throw new CliError(error.message, 'no_worktree');
        throw error;
      }
      if (ctx.json) return ctx.outJson(list);
      ctx.out(checkpointLines(list).join('\n'));
      return;
    }
    let changes: Changes;
    try {
      changes = await ao.sessions.diff(name!, { file, stat: options.stat === true, maxBytes });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'file-not-found')
        throw new CliError(
          `${file} is not among the files session '${name}' changed — see ao-diff ${name} --stat`,
          'file_not_found',
        );
      if (error instanceof ApiError && error.code === 'no-worktree') throw new CliError(error.message, 'no_worktree');
      throw error;
    }
    if (ctx.json) return ctx.outJson(changes);
    if (options.stat || changes.patch === null) {
      ctx.out(statLines(changes).join('\n'));
      return;
    }
    if (changes.patch) process.stdout.write(changes.patch);
    else if (!changes.files.length)
      ctx.note(`Session '${name}' changed nothing against ${changes.base_commit.slice(0, 12)}`);
    const cut = changes.files.filter((f) => f.in_patch === 'cut').map((f) => f.path);
    const omitted = changes.files.filter((f) => f.in_patch === 'omitted').map((f) => f.path);
    if (cut.length)
      ctx.note(`ao-diff: cut short (over the cap): ${cut.join(', ')} — see one whole with ao-diff ${name} FILE`);
    if (omitted.length)
      ctx.note(`ao-diff: left out (the patch was full): ${omitted.join(', ')} — raise --max-bytes or ask for one FILE`);
    if (changes.files_total > changes.files.length)
      ctx.note(`ao-diff: ${changes.files_total - changes.files.length} more changed files not listed`);
  },
});
