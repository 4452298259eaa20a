#!/usr/bin/env node
import { parseAge } from './lib/age.js';
import { CliError, main, stringOption } from './lib/cli.js';

await main({
  name: 'ao-clean',
  description: [
    'Stops every running session and deletes all sessions with their events. Agent blueprints are kept.',
    'On a terminal it asks first; --yes skips the question. Without a terminal to ask on (a script,',
    'an agent) it deletes nothing unless --yes is given. To delete one session: ao-delete NAME.',
    'With --older-than or --keep, deletes only old sessions that have ended (retention), and gives their disk space back;',
    'that needs no --yes.',
  ],
  options: [
    { name: 'yes', short: 'y', type: 'boolean', description: 'Do not ask: delete every session' },
    {
      name: 'older-than',
      type: 'string',
      value: 'AGE',
      description: 'Only ended sessions last active longer ago than AGE (30d, 12h, 2w, 90m)',
    },
    { name: 'keep', type: 'string', value: 'N', description: 'Only ended sessions beyond the N most recently active' },
  ],
  examples: [
    `ao-clean`,
    `ao-clean --yes`,
    `ao-clean --yes --json`,
    `ao-clean --older-than 30d`,
    `ao-clean --keep 1000`,
    `ao-clean --older-than 7d --keep 100`,
  ],
  async run(ctx, _args, options) {
    const olderThan = stringOption(options, 'older-than');
    const keepText = stringOption(options, 'keep');
    const age = olderThan === undefined ? undefined : parseAge(olderThan);
    if (age === null)
      throw new CliError(
        `--older-than must be a number and a unit (m, h, d or w), like 30d, not '${olderThan}'`,
        'usage',
      );
    const keep = keepText === undefined ? undefined : Number(keepText);
    if (keep !== undefined && !(Number.isInteger(keep) && keep >= 0))
      throw new CliError(`--keep must be a whole number (0 or more), not '${keepText}'`, 'usage');
    const ao = await ctx.client();
    const everything = age === undefined && keep === undefined;
    if (everything && options.yes !== true) {
      if (!process.stdin.isTTY) {
        throw new CliError(
          'Refusing to delete every session without confirmation — pass --yes (or run it in a terminal to be asked); ao-delete NAME deletes one',
          'confirmation_needed',
        );
      }
      const { counts } = await ao.sessions.list({ limit: 1 });
      const count = Object.values(counts).reduce((sum, n) => sum + n, 0);
      if (!count) {
        ctx.out(ctx.json ? JSON.stringify({ deleted: [] }) : 'No sessions to delete.');
        return;
      }
      if (!(await confirm(`Stop and delete all ${count} session${count === 1 ? '' : 's'} with their events? [y/N] `))) {
        throw new CliError('Nothing deleted', 'cancelled');
      }
    }
    const deleted = everything
      ? await ao.sessions.clean()
      : await ao.sessions.prune({ before: age === undefined ? undefined : new Date(Date.now() - age), keep });
    if (ctx.json) ctx.outJson({ deleted });
    else if (deleted.length)
      ctx.out(`Deleted ${deleted.length} session${deleted.length === 1 ? '' : 's'}: ${deleted.join(', ')}`);
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
