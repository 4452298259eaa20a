#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';
import { treeNodes } from './lib/tree.js';

const active = (state: string) => state === 'queued' || state === 'running';

await main({
  name: 'ao-stop',
  args: ['name'],
  description: [
    'Stops the active run of a session (Claude Code and everything it started) and prints the new state;',
    'on stderr, which sessions it stopped, or that nothing was running.',
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
    const tree = options.tree === true;
    // What runs before the stop: the sessions this stop ends.
    const before = tree
      ? treeNodes(await ao.sessions.tree(name!)).filter((node) => active(node.state))
      : [await ao.sessions.status(name!)].filter((status) => active(status.state));
    const session = await ao.sessions.stop(name!, { tree });
    const stopped = before.map((node) => node.name);
    if (ctx.json) ctx.outJson({ name: session.name, state: session.state, stopped });
    else ctx.out(session.state);
    if (ctx.json) return;
    if (!stopped.length)
      ctx.note(
        tree
          ? `Nothing was running: no session in the tree of '${name}' was queued or running`
          : `Nothing was running: session '${name}' had already ${session.state === 'stopped' ? 'been stopped' : session.state} — continue it with ao-resume ${name} -p PROMPT`,
      );
    else if (tree)
      ctx.note(`Stopped ${stopped.length === 1 ? '1 session' : `${stopped.length} sessions`}: ${stopped.join(', ')}`);
    else if (session.state !== 'stopped')
      ctx.note(`Session '${name}' ended as ${session.state} before the stop reached it`);
  },
});
