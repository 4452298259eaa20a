#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';

await main({
  name: 'ao-delete',
  args: ['name'],
  description: [
    'Deletes one session with its events, stopping its run first if one is active.',
    'Other sessions and the agent blueprints are kept. To delete every session: ao-clean.',
    'A session with a worktree: what it left uncommitted is committed to its branch aof/NAME, the worktree',
    'is removed and the branch kept, unless --discard.',
  ],
  options: [
    { name: 'tree', type: 'boolean', description: 'Also delete every session it started, and theirs (see ao-tree)' },
    {
      name: 'discard',
      type: 'boolean',
      description: "Also delete the session's worktree branch (aof/NAME) and what it holds",
    },
  ],
  examples: [
    `ao-delete fix-tests`,
    `ao-delete fix-tests --json`,
    `ao-delete lead --tree`,
    `ao-delete try-cache --discard`,
  ],
  async run(ctx, [name], options) {
    checkName(name!);
    ctx.about({ session: name });
    const ao = await ctx.client();
    await ao.sessions.delete(name!, { tree: options.tree === true, discard: options.discard === true });
    if (ctx.json) ctx.outJson({ deleted: name });
    else ctx.out(`Deleted session '${name}'`);
  },
});
