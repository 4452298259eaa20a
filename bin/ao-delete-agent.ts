#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';

await main({
  name: 'ao-delete-agent',
  args: ['name'],
  description: [
    'Deletes an agent blueprint from the Agent Registry.',
    'Sessions started from it keep their copy of its settings: they keep working and can be resumed.',
  ],
  examples: [`ao-delete-agent reviewer`],
  async run(ctx, [name]) {
    checkName(name!, 'Agent');
    ctx.about({ agent: name });
    const ao = await ctx.client();
    await ao.agents.delete(name!);
    if (ctx.json) ctx.outJson({ deleted: name });
    else ctx.out(`Deleted agent '${name}'`);
  },
});
