#!/usr/bin/env node
import type { MergeResolving, MergeResult } from '../sdk/index.js';
import { checkName, CliError, main, stringOption } from './lib/cli.js';

const STRATEGIES = ['merge', 'squash', 'rebase'] as const;

await main({
  name: 'ao-merge',
  args: ['name'],
  description: [
    "Merges what a session's git worktree holds into a branch: what it left uncommitted is committed to its branch aof/NAME first, then the branch is merged in a temporary worktree of the runtime's, and BRANCH moves to the result.",
    'No checkout is touched: your working tree, index and stash stay as they are. A conflict, a BRANCH checked out somewhere, or nothing to merge is refused and changes nothing.',
  ],
  options: [
    {
      name: 'into',
      type: 'string',
      value: 'BRANCH',
      description: 'The branch to merge into (required; not checked out anywhere)',
    },
    {
      name: 'strategy',
      type: 'string',
      value: 'HOW',
      description:
        'merge (a merge commit; the default), squash (one commit) or rebase (the commits replayed on BRANCH)',
    },
    {
      name: 'message',
      short: 'm',
      type: 'string',
      value: 'TEXT',
      description: 'The commit message (merge and squash)',
    },
    {
      name: 'resolve',
      type: 'boolean',
      description:
        'On a conflict, resume the session with it (the files and BRANCH named) and merge again when that run ends',
    },
  ],
  examples: [
    'ao-merge fix-tests --into release',
    'ao-merge fix-tests --into release --strategy squash -m "Fix the tests"',
    'ao-merge fix-tests --into release --resolve',
  ],
  async run(ctx, [name], options) {
    checkName(name!);
    const into = stringOption(options, 'into');
    if (into === undefined)
      throw new CliError('--into BRANCH is required: the branch to merge the session into', 'usage');
    const strategy = stringOption(options, 'strategy') ?? 'merge';
    if (!(STRATEGIES as readonly string[]).includes(strategy))
      throw new CliError(`--strategy must be one of ${STRATEGIES.join(', ')}, not '${strategy}'`, 'usage');
    const message = stringOption(options, 'message');
    ctx.about({ session: name });
    const ao = await ctx.client();
    const { ApiError } = await import('../sdk/index.js');
    let result: MergeResult | MergeResolving;
    try {
      result = await ao.sessions.merge(name!, {
        into,
        strategy: strategy as MergeResult['strategy'],
        ...(message !== undefined ? { message } : {}),
        ...(options.resolve ? { resolve: true as const } : {}),
      });
    } catch (error) {
      // What the server says names the branch and what to do; the field is --into here.
      if (error instanceof ApiError && error.code === 'branch-not-found')
        throw new CliError(error.message.replace(/^body\.into: /, '--into: '), 'branch_not_found');
      if (error instanceof ApiError && error.code === 'session-busy')
        throw new CliError(
          `Session '${name}' is still queued or running — wait for it with ao-get-result ${name} --wait, then merge`,
          'session_busy',
        );
      throw error;
    }
    if (ctx.json) return ctx.outJson(result);
    if ('resolving' in result)
      return ctx.out(
        `${result.branch} conflicts with ${result.into} in ${result.files.join(', ')}: nothing was merged yet. Session '${name}' is resumed to resolve it (run ${result.run}); it is merged into ${result.into} when that run ends — follow it with ao-get-result ${name} --wait`,
      );
    ctx.out(
      `Merged ${result.branch} into ${result.into} (${result.strategy}): ${result.previous_commit.slice(0, 12)} -> ${result.commit.slice(0, 12)}, ${result.commits} commit${result.commits === 1 ? '' : 's'}`,
    );
  },
});
