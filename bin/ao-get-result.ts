#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';
import { printResult, WAIT_OPTIONS, waitForRun, waitSettings } from './lib/run.js';

await main({
  name: 'ao-get-result',
  args: ['name'],
  description: [
    'Prints the result of the last run of a session that has finished.',
    'A failed or stopped run prints its error on stderr and exits 1.',
    'A queued or running session is an error, unless --wait: then it waits for the run to end, like ao-new does.',
  ],
  options: [
    {
      name: 'wait',
      short: 'w',
      type: 'boolean',
      description: 'Wait for a queued or running session to end, then print its result',
    },
    ...WAIT_OPTIONS,
  ],
  examples: [
    `ao-get-result fix-tests`,
    `ao-get-result long-job --wait --timeout 600`,
    `ao-get-result fix-tests --json`,
  ],
  async run(ctx, [name], options) {
    checkName(name!);
    const settings = waitSettings(options);
    ctx.about({ session: name });
    const ao = await ctx.client();
    if (options.wait) {
      const session = await ao.sessions.get(name!);
      await printResult(ctx, await waitForRun(ctx, ao, name!, session.runs.at(-1)?.number ?? 1, settings));
      return;
    }
    await printResult(ctx, await ao.sessions.result(name!));
  },
});
