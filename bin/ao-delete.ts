#!/usr/bin/env node
import type { Session } from '../sdk/index.js';
import { checkName, main } from './lib/cli.js';
import { treeNodes } from './lib/tree.js';

await main({
  name: 'ao-delete',
  args: ['name'],
  description: [
    'Deletes one session with its events, stopping its run first if one is active, and says what it deleted.',
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
    const tree = options.tree === true;
    const discard = options.discard === true;
    // What the delete takes with it: the sessions, and which worktree branches stay.
    const names = tree ? treeNodes(await ao.sessions.tree(name!)).map((node) => node.name) : [name!];
    const sessions = (await Promise.all(names.map((n) => ao.sessions.get(n).catch(() => null)))).filter(
      (s): s is Session => s !== null,
    );
    await ao.sessions.delete(name!, { tree, discard });
    const kept = discard ? [] : sessions.filter((s) => s.worktree);
    if (ctx.json) {
      ctx.outJson({
        deleted: name,
        ...(tree ? { sessions: names } : {}),
        ...(kept.length ? { kept_branches: kept.map((s) => s.worktree!.branch) } : {}),
      });
      return;
    }
    const below = names.length - 1;
    ctx.out(
      tree && below
        ? `Deleted session '${name}' and ${below === 1 ? '1 session' : `${below} sessions`} below it: ${names.slice(1).join(', ')}`
        : `Deleted session '${name}'${tree ? ' (it had started no session)' : ''}`,
    );
    for (const s of kept)
      ctx.out(
        `${tree ? `Session '${s.name}': its` : 'Its'} work is kept on branch ${s.worktree!.branch} in ${s.worktree!.repository}, what it left uncommitted committed there (git log ${s.worktree!.branch}; git branch -D ${s.worktree!.branch} deletes it)`,
      );
  },
});
