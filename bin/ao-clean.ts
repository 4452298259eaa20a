#!/usr/bin/env node
import { CliError, main } from './lib/cli.js';

await main({
  name: 'ao-clean',
  description: [
    'Stops every running session and deletes all sessions with their events. Agent blueprints are kept.',
    'On a terminal it asks first; --yes skips the question. Without a terminal to ask on (a script,',
    'an agent) it deletes nothing unless --yes is given. To delete one session: ao-delete NAME.',
  ],
  options: [
    { name: 'yes', short: 'y', type: 'boolean', description: 'Do not ask: delete every session' },
  ],
  examples: [`ao-clean`, `ao-clean --yes`, `ao-clean --yes --json`],
  async run(ctx, _args, options) {
    const ao = await ctx.client();
    if (options.yes !== true) {
      if (!process.stdin.isTTY) {
        throw new CliError('Refusing to delete every session without confirmation — pass --yes (or run it in a terminal to be asked); ao-delete NAME deletes one', 'confirmation_needed');
      }
      const count = (await ao.sessions.list()).length;
      if (!count) {
        ctx.out(ctx.json ? JSON.stringify({ deleted: [] }) : 'No sessions to delete.');
        return;
      }
      if (!(await confirm(`Stop and delete all ${count} session${count === 1 ? '' : 's'} with their events? [y/N] `))) {
        throw new CliError('Nothing deleted', 'cancelled');
      }
    }
    const deleted = await ao.sessions.clean();
    if (ctx.json) ctx.outJson({ deleted });
    else if (deleted.length) ctx.out(`Deleted ${deleted.length} session${deleted.length === 1 ? '' : 's'}: ${deleted.join(', ')}`);
    else ctx.out('No sessions to delete.');
  },
});

/** Asks on the terminal (the question on stderr); only y or yes agrees. */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
