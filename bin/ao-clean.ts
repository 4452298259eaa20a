#!/usr/bin/env node
import { parseAge } from './lib/age.js';
import { CliError, main, stringOption } from './lib/cli.js';

await main({
  name: 'ao-clean',
  description: [
    'Stops every running session and deletes all sessions with their events.',
    'With --older-than or --keep, deletes only old sessions that have ended (retention), and gives their disk space back.',
    'Agent blueprints in the Agent Registry are kept.',
  ],
  options: [
    { name: 'older-than', type: 'string', value: 'AGE', description: 'Only ended sessions last active longer ago than AGE (30d, 12h, 2w, 90m)' },
    { name: 'keep', type: 'string', value: 'N', description: 'Only ended sessions beyond the N most recently active' },
  ],
  examples: [`ao-clean`, `ao-clean --json`, `ao-clean --older-than 30d`, `ao-clean --keep 1000`, `ao-clean --older-than 7d --keep 100`],
  async run(ctx, _args, options) {
    const olderThan = stringOption(options, 'older-than');
    const keepText = stringOption(options, 'keep');
    const age = olderThan === undefined ? undefined : parseAge(olderThan);
    if (age === null) throw new CliError(`--older-than must be a number and a unit (m, h, d or w), like 30d, not '${olderThan}'`, 'usage');
    const keep = keepText === undefined ? undefined : Number(keepText);
    if (keep !== undefined && !(Number.isInteger(keep) && keep >= 0)) throw new CliError(`--keep must be a whole number (0 or more), not '${keepText}'`, 'usage');
    const ao = await ctx.client();
    const deleted = age === undefined && keep === undefined
      ? await ao.sessions.clean()
      : await ao.sessions.prune({ before: age === undefined ? undefined : new Date(Date.now() - age), keep });
    if (ctx.json) ctx.outJson({ deleted });
    else if (deleted.length) ctx.out(`Deleted ${deleted.length} session${deleted.length === 1 ? '' : 's'}: ${deleted.join(', ')}`);
    else ctx.out('No sessions to delete.');
  },
});
