#!/usr/bin/env node
import { checkName, CliError, main, readText } from './lib/cli.js';
import { finishRun, RUN_OPTIONS } from './lib/run.js';

await main({
  name: 'ao-resume',
  args: ['name'],
  description: [
    'Runs a further turn of a session (same conversation) and prints the result on stdout.',
    'The prompt comes from -p or stdin (stdin wins when it carries text), e.g. cat notes.md | ao-resume fix-tests.',
    'The session must have ended its last run (finished, failed or stopped).',
  ],
  options: [
    { name: 'prompt', short: 'p', type: 'string', value: 'PROMPT', description: 'What to ask next (or pipe it on stdin)' },
    ...RUN_OPTIONS,
  ],
  examples: [
    `ao-resume fix-tests -p "Now also add a test for the empty case"`,
  ],
  async run(ctx, [name], options) {
    checkName(name!);
    const prompt = await readText(options, { option: 'prompt', short: 'p', what: 'prompt', example: `echo "next step" | ao-resume ${name}` });
    const ao = await ctx.client();
    const sdk = await import('../sdk/index.js');
    let session;
    try {
      session = await ao.sessions.resume(name!, { prompt });
    } catch (error) {
      if (error instanceof sdk.NotFoundError) {
        throw new CliError(`Session '${name}' not found — start it with ao-new ${name} -p PROMPT (see ao-list-sessions)`, 'session_not_found');
      }
      if (error instanceof sdk.ConflictError && /was forked from/.test(error.message)) throw new CliError(error.message, 'session_busy');
      if (error instanceof sdk.ConflictError) {
        const state = /is (queued|running)/.exec(error.message)?.[1] ?? 'still running';
        throw new CliError(`Session '${name}' is ${state} — wait for it with ao-get-result ${name} --wait, or stop it with ao-stop ${name}, then resume`, 'session_busy');
      }
      throw error;
    }
    await finishRun(ctx, ao, session, options);
  },
});
