#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';

await main({
  name: 'ao-status',
  args: ['name'],
  description: [
    'Prints the state of a session as one word:',
    'queued, running, finished, failed, stopped, or not_existent (no such session; still exit 0).',
    'A session that waits for your answer to an approval request reads "running (asks: ao-approvals)".',
  ],
  examples: [`ao-status fix-tests`, `ao-status fix-tests --json`],
  async run(ctx, [name]) {
    checkName(name!);
    const ao = await ctx.client();
    const { ApiError } = await import('../sdk/index.js');
    let state: string;
    let pending = 0;
    try {
      const status = await ao.sessions.status(name!);
      state = status.state;
      pending = status.pending_approvals;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'session-not-found')) throw error;
      state = 'not_existent';
    }
    if (ctx.json) ctx.outJson(state === 'not_existent' ? { name, state } : { name, state, pending_approvals: pending });
    else ctx.out(pending ? `${state} (asks: ao-approvals)` : state);
  },
});
