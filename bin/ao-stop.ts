#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';

await main({
  name: 'ao-stop',
  args: ['name'],
  description: [
    'Stops the active run of a session (Claude Code and everything it started) and prints the new state.',
    'Stopping a session that is not running changes nothing. The session stays; continue it with ao-resume.',
  ],
  options: [
    { name: 'tree', type: 'boolean', description: 'Also stop every session it started, and theirs (see ao-tree)' },
  ],
  examples: [`ao-stop long-job`, `ao-stop lead --tree`],
  async run(ctx, [name], options) {
    checkName(name!);
    ctx.about({ session: name });
    const ao = await ctx.client();
    const session = await ao.sessions.stop(name!, { tree: options.tree === true });
    if (ctx.json) ctx.outJson({ name: session.name, state: session.state });
    else ctx.out(session.state);
  },
});
