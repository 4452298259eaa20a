#!/usr/bin/env node
import type { MergeQueueResult, MergeResolving, MergeResult } from '../sdk/index.js';
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
      name: 'children',
      type: 'boolean',
      description:
        "Merge NAME's children instead, one after the other in the order they were created, each rebased on the last merged; one that conflicts is sent its conflict and merged when that run ends",
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
    'ao-merge lead --children --into release',
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
    if (options.children && (stringOption(options, 'strategy') !== undefined || message !== undefined))
      throw new CliError('--children merges each child with the rebase strategy: leave out --strategy and -m', 'usage');
    ctx.about({ session: name });
    const ao = await ctx.client();
    const { ApiError } = await import('../sdk/index.js');
    if (options.children) {
      let queue: MergeQueueResult;
      try {
        queue = await ao.sessions.mergeChildren(name!, { into });
      } catch (error) {
        if (error instanceof ApiError && error.code === 'branch-not-found')
          throw new CliError(error.message.replace(/^body\.into: /, '--into: '), 'branch_not_found');
        throw error;
      }
      if (ctx.json) return ctx.outJson(queue);
      if (!queue.children.length) return ctx.out(`Session '${name}' has no children to merge`);
      for (const child of queue.children)
        ctx.out(
          child.outcome === 'merged'
            ? `${child.name}: merged into ${queue.into} (now at ${child.commit!.slice(0, 12)})`
            : child.outcome === 'resolving'
              ? `${child.name}: conflicts in ${child.files!.join(', ')}; resumed to resolve it (run ${child.run}), merged when that run ends`
              : `${child.name}: skipped — ${child.reason}`,
        );
      return;
    }
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
