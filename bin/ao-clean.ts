#!/usr/bin/env node
import { main } from './lib/cli.js';

await main({
  name: 'ao-clean',
  description: [
    'Stops every running session and deletes all sessions with their events.',
    'Agent blueprints in the Agent Registry are kept.',
  ],
  examples: [`ao-clean`, `ao-clean --json`],
  async run(ctx) {
    const ao = await ctx.client();
    const deleted = await ao.sessions.clean();
    if (ctx.json) ctx.outJson({ deleted });
    else if (deleted.length) ctx.out(`Deleted ${deleted.length} session${deleted.length === 1 ? '' : 's'}: ${deleted.join(', ')}`);
    else ctx.out('No sessions to delete.');
  },
});
