#!/usr/bin/env node
import { checkName, CliError, main, readText } from './lib/cli.js';
import { finishRun, RUN_OPTIONS, waitSettings } from './lib/run.js';

await main({
  name: 'ao-fork',
  args: ['source', 'name'],
  description: [
    'Creates session NAME that continues the conversation of session SOURCE as it stands, runs its',
    'first turn and prints the result on stdout. SOURCE is left untouched; later turns of either are',
    'not seen by the other, so two forks of one session can try two different approaches.',
    'The prompt comes from -p, or from stdin when -p is absent or -p -.',
    'SOURCE must have ended its last run (finished, failed or stopped).',
  ],
  options: [
    {
      name: 'prompt',
      short: 'p',
      type: 'string',
      value: 'PROMPT',
      description: "The fork's first turn (- or absent: read it from stdin)",
    },
    ...RUN_OPTIONS,
  ],
  examples: [
    `ao-fork design try-redis -p "Implement the cache with Redis"`,
    `ao-fork design try-sqlite -p "Implement the cache with SQLite" --async`,
  ],
  async run(ctx, [source, name], options) {
    checkName(source!);
    checkName(name!);
    const settings = waitSettings(options);
    const prompt = await readText(options, {
      option: 'prompt',
      short: 'p',
      what: 'prompt',
      example: `echo "task" | ao-fork ${source} ${name}`,
    });
    ctx.about({ session: source, forking: true });
    const ao = await ctx.client();
    const session = await ao.sessions.fork(source!, { name: name!, prompt }).catch(async (error: unknown) => {
      // The advice names the source; a taken name is the fork's.
      const { ApiError } = await import('../sdk/index.js');
      if (error instanceof ApiError && error.code === 'session-exists') {
        throw new CliError(`Session '${name}' already exists — pick another name for the fork`, 'session_exists');
      }
      throw error;
    });
    ctx.about({ session: name, forking: false });
    await finishRun(ctx, ao, session, settings);
  },
});
