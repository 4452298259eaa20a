#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';

await main({
  name: 'ao-delete',
  args: ['name'],
  description: [
    'Deletes one session with its events, stopping its run first if one is active.',
    'Other sessions and the agent blueprints are kept. To delete every session: ao-clean.',
  ],
  examples: [`ao-delete fix-tests`, `ao-delete fix-tests --json`],
  async run(ctx, [name]) {
    checkName(name!);
    ctx.about({ session: name });
    const ao = await ctx.client();
    await ao.sessions.delete(name!);
    if (ctx.json) ctx.outJson({ deleted: name });
    else ctx.out(`Deleted session '${name}'`);
  },
});
