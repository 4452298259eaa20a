#!/usr/bin/env node
import { checkName, CliError, main } from './lib/cli.js';
import { printResult, WAIT_OPTIONS, waitForRun } from './lib/run.js';

await main({
  name: 'ao-get-result',
  args: ['name'],
  description: [
    'Prints the result of the last run of a session that has finished.',
    'A failed or stopped run prints its error on stderr and exits 1.',
    'A queued or running session is an error, unless --wait: then it waits for the run to end, like ao-new does.',
  ],
  options: [
    { name: 'wait', short: 'w', type: 'boolean', description: 'Wait for a queued or running session to end, then print its result' },
    ...WAIT_OPTIONS,
  ],
  examples: [`ao-get-result fix-tests`, `ao-get-result long-job --wait --timeout 600`, `ao-get-result fix-tests --json`],
  async run(ctx, [name], options) {
    checkName(name!);
    const ao = await ctx.client();
    const sdk = await import('../sdk/index.js');
    try {
      if (options.wait) {
        const session = await ao.sessions.get(name!);
        printResult(ctx, await waitForRun(ctx, ao, name!, session.runs.at(-1)?.number ?? 1, options));
        return;
      }
      printResult(ctx, await ao.sessions.result(name!));
    } catch (error) {
      if (error instanceof sdk.NotFoundError) {
        throw new CliError(`Session '${name}' not found — see ao-list-sessions`, 'session_not_found');
      }
      if (error instanceof sdk.ConflictError) {
        const state = /is (queued|running)/.exec(error.message)?.[1] ?? 'not finished';
        throw new CliError(`Session '${name}' is ${state}, so it has no result yet — wait for it with ao-get-result ${name} --wait (or check ao-status ${name})`, 'not_finished', { state });
      }
      throw error;
    }
  },
});
