#!/usr/bin/env node
import { checkName, CliError, main } from './lib/cli.js';
import type { SessionTree } from '../sdk/index.js';
import { formatCost } from './lib/format.js';

/** One line per node, indented by depth: name, state, own cost, and the subtree's cost and tokens. */
function lines(node: SessionTree, depth = 0): string[] {
  const tokens = node.tree.usage.input_tokens + node.tree.usage.output_tokens;
  const rolled = node.children.length
    ? `, with descendants ${formatCost(node.tree.cost_usd, node.tree.estimated)} (${node.tree.sessions} sessions, ${tokens} tokens)`
    : '';
  const own = `${'  '.repeat(depth)}${node.name}  ${node.state}  ${formatCost(node.cost_usd, node.estimated)}${rolled}`;
  return [own, ...node.children.flatMap((child) => lines(child, depth + 1))];
}

await main({
  name: 'ao-tree',
  args: ['name'],
  description: [
    'Shows a session and every session it started (and they started), each with its state and cost,',
    'and the cost and tokens rolled up over its descendants.',
  ],
  examples: [`ao-tree lead`, `ao-tree lead --json`],
  async run(ctx, [name]) {
    checkName(name!);
    const ao = await ctx.client();
    const { NotFoundError } = await import('../sdk/index.js');
    try {
      const tree = await ao.sessions.tree(name!);
      if (ctx.json) ctx.outJson(tree);
      else {
        ctx.out(lines(tree).join('\n'));
        if (tree.tree.estimated)
          ctx.note('~ marks a cost estimated from the tokens billed: a run still going, or one ended without a cost');
      }
    } catch (error) {
      if (error instanceof NotFoundError)
        throw new CliError(`Session '${name}' not found — see ao-list-sessions`, 'session_not_found');
      throw error;
    }
  },
});
