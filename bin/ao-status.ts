#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';

await main({
  name: 'ao-status',
  args: ['name'],
  description: [
    'Prints the state of a session as one word:',
    'queued, running, finished, failed, stopped, or not_existent (no such session; still exit 0).',
    'A session that waits for your answer to an approval request reads "running (asks: ao-approvals)".',
    'With --who, also who started it and who stopped its last run (with --json: created_by, stopped_by).',
  ],
  options: [{ name: 'who', type: 'boolean', description: 'Also print who started the session and who stopped it' }],
  examples: [
    `ao-status fix-tests`,
    `ao-status fix-tests --who`,
    `ao-status fix-tests --json`,
    `ao-status fix-tests --who --json`,
  ],
  async run(ctx, [name], options) {
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
    const word = pending ? `${state} (asks: ao-approvals)` : state;
    if (state === 'not_existent') return ctx.json ? ctx.outJson({ name, state }) : ctx.out(word);
    if (!options.who) return ctx.json ? ctx.outJson({ name, state, pending_approvals: pending }) : ctx.out(word);
    const { describePrincipal } = await import('../sdk/principal.js');
    const session = await ao.sessions.get(name!);
    const last = session.runs[session.runs.length - 1];
    const stoppedBy = last?.stopped_by;
    if (ctx.json)
      return ctx.outJson({
        name,
        state,
        pending_approvals: pending,
        created_by: session.created_by ?? null,
        ...(stoppedBy !== undefined ? { stopped_by: stoppedBy } : {}),
      });
    ctx.out(
      [
        word,
        `started by ${session.created_by ? describePrincipal(session.created_by) : 'someone (not recorded)'}`,
        ...(stoppedBy !== undefined ? [`stopped by ${stoppedBy ? describePrincipal(stoppedBy) : 'a limit'}`] : []),
      ].join('\n'),
    );
  },
});
