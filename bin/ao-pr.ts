#!/usr/bin/env node
import type { PullRequest } from '../sdk/index.js';
import { checkName, CliError, main, stringOption } from './lib/cli.js';

await main({
  name: 'ao-pr',
  args: ['name'],
  description: [
    "Opens a GitHub pull request for what a session's git worktree holds: what it left uncommitted is committed to its branch aof/NAME, the branch is pushed to REMOTE, and the pull request is opened into BASE, described from the session's result and its task.",
    'The runtime does it with its own git credentials and GitHub token (AGENT_ORCHESTRATOR_GITHUB_TOKEN where the runtime runs); your checkout is not touched. When one is open from that branch already, it is the one printed.',
  ],
  options: [
    {
      name: 'remote',
      type: 'string',
      value: 'REMOTE',
      description: 'The git remote to push to, on GitHub (default: origin)',
    },
    {
      name: 'base',
      type: 'string',
      value: 'BRANCH',
      description: "The branch the pull request is into (default: the remote's default branch)",
    },
    {
      name: 'title',
      short: 't',
      type: 'string',
      value: 'TEXT',
      description: "Default: the first line of the session's task",
    },
    { name: 'draft', type: 'boolean', description: 'Open it as a draft' },
  ],
  examples: ['ao-pr fix-tests', 'ao-pr fix-tests --base release --title "Fix the flaky tests" --draft'],
  async run(ctx, [name], options) {
    checkName(name!);
    const remote = stringOption(options, 'remote');
    const base = stringOption(options, 'base');
    const title = stringOption(options, 'title');
    ctx.about({ session: name });
    const ao = await ctx.client();
    const { ApiError } = await import('../sdk/index.js');
    let pr: PullRequest;
    try {
      pr = await ao.sessions.pullRequest(name!, {
        ...(remote !== undefined ? { remote } : {}),
        ...(base !== undefined ? { base } : {}),
        ...(title !== undefined ? { title } : {}),
        ...(options.draft ? { draft: true } : {}),
      });
    } catch (error) {
      // The server's words name the API fields; here they are flags.
      if (error instanceof ApiError && error.code === 'remote-not-found')
        throw new CliError(error.message.replace(/^body\.remote: /, '--remote: '), 'remote_not_found');
      if (error instanceof ApiError && error.code === 'branch-not-found')
        throw new CliError(error.message.replace(/^body\.base: /, '--base: '), 'branch_not_found');
      if (error instanceof ApiError && error.code === 'session-busy')
        throw new CliError(
          `Session '${name}' is still queued or running — wait for it with ao-get-result ${name} --wait, then open the pull request`,
          'session_busy',
        );
      throw error;
    }
    if (ctx.json) return ctx.outJson(pr);
    ctx.out(
      `${pr.created ? 'Opened' : 'Already open:'} pull request #${pr.number} in ${pr.repository}, ${pr.head} into ${pr.base}${pr.draft ? ' (draft)' : ''}: ${pr.url}`,
    );
  },
});
