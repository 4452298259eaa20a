#!/usr/bin/env node
import { checkName, main, readText } from './lib/cli.js';
import { finishRun, RUN_OPTIONS, waitSettings } from './lib/run.js';

await main({
  name: 'ao-resume',
  args: ['name'],
  description: [
    'Runs a further turn of a session (same conversation) and prints the result on stdout.',
    'The prompt comes from -p, or from stdin when -p is absent or -p - (e.g. cat notes.md | ao-resume fix-tests).',
    'The session must have ended its last run (finished, failed or stopped). Ctrl-C stops waiting; the run goes on.',
  ],
  options: [
    {
      name: 'prompt',
      short: 'p',
      type: 'string',
      value: 'PROMPT',
      description: 'What to ask next (- or absent: read it from stdin)',
    },
    ...RUN_OPTIONS,
  ],
  examples: [`ao-resume fix-tests -p "Now also add a test for the empty case"`],
  async run(ctx, [name], options) {
    checkName(name!);
    const settings = waitSettings(options);
    const prompt = await readText(options, {
      option: 'prompt',
      short: 'p',
      what: 'prompt',
      example: `echo "next step" | ao-resume ${name}`,
    });
    ctx.about({ session: name, resuming: true });
    const ao = await ctx.client();
    const session = await ao.sessions.resume(name!, { prompt });
    await finishRun(ctx, ao, session, settings);
  },
});
