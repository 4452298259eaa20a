#!/usr/bin/env node
import { checkName, CliError, main, readText } from './lib/cli.js';
import { finishRun, RUN_OPTIONS } from './lib/run.js';

await main({
  name: 'ao-fork',
  args: ['source', 'name'],
  description: [
    'Creates session NAME that continues the conversation of session SOURCE as it stands, runs its',
    'first turn and prints the result on stdout. SOURCE is left untouched; later turns of either are',
    'not seen by the other, so two forks of one session can try two different approaches.',
    'The prompt comes from -p or stdin (stdin wins when it carries text).',
    'SOURCE must have ended its last run (finished, failed or stopped).',
  ],
  options: [
    { name: 'prompt', short: 'p', type: 'string', value: 'PROMPT', description: "The fork's first turn (or pipe it on stdin)" },
    ...RUN_OPTIONS,
  ],
  examples: [
    `ao-fork design try-redis -p "Implement the cache with Redis"`,
    `ao-fork design try-sqlite -p "Implement the cache with SQLite" --async`,
  ],
  async run(ctx, [source, name], options) {
    checkName(source!);
    checkName(name!);
    const prompt = await readText(options, { option: 'prompt', short: 'p', what: 'prompt', example: `echo "task" | ao-fork ${source} ${name}` });
    const ao = await ctx.client();
    const sdk = await import('../sdk/index.js');
    let session;
    try {
      session = await ao.sessions.fork(source!, { name: name!, prompt });
    } catch (error) {
      if (error instanceof sdk.NotFoundError) {
        throw new CliError(`Session '${source}' not found — see ao-list-sessions`, 'session_not_found');
      }
      if (error instanceof sdk.ConflictError) {
        if (/already exists/.test(error.message)) {
          throw new CliError(`Session '${name}' already exists — pick another name for the fork`, 'session_exists');
        }
        if (/is (queued|running)/.test(error.message)) {
          const state = /is (queued|running)/.exec(error.message)![1];
          throw new CliError(`Session '${source}' is ${state} — wait for it with ao-get-result ${source} --wait, or stop it with ao-stop ${source}, then fork it`, 'session_busy');
        }
      }
      throw error;
    }
    await finishRun(ctx, ao, session, options);
  },
});
