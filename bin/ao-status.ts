#!/usr/bin/env node
import type { SessionStatus } from '../sdk/index.js';
import { checkName, main } from './lib/cli.js';

await main({
  name: 'ao-status',
  args: ['name'],
  description: [
    'Prints the state of a session as one word:',
    'queued, running, finished, failed, stopped, or not_existent (no such session; still exit 0).',
    'A session that waits for your answer to an approval request reads "running (asks: ao-approvals)".',
    'One whose run hit the account\'s usage limit reads "stopped (hit the usage limit; resumes at 15:02 UTC)":',
    'the runtime resumes it by itself then. A run the stall watchdog found silent says so the same way.',
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
    let because: Pick<SessionStatus, 'usage_limit' | 'stalled_at' | 'reason'> = {};
    try {
      const status = await ao.sessions.status(name!);
      state = status.state;
      pending = status.pending_approvals;
      const { usage_limit, stalled_at, reason } = status;
      because = {
        ...(usage_limit ? { usage_limit } : {}),
        ...(stalled_at ? { stalled_at } : {}),
        ...(reason ? { reason } : {}),
      };
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'session-not-found')) throw error;
      state = 'not_existent';
    }
    const word = pending ? `${state} (asks: ao-approvals)` : because.reason ? `${state} (${because.reason})` : state;
    if (state === 'not_existent') return ctx.json ? ctx.outJson({ name, state }) : ctx.out(word);
    if (!options.who)
      return ctx.json ? ctx.outJson({ name, state, pending_approvals: pending, ...because }) : ctx.out(word);
    const { describePrincipal } = await import('../sdk/principal.js');
    const session = await ao.sessions.get(name!);
    const last = session.runs[session.runs.length - 1];
    const stoppedBy = last?.stopped_by;
    if (ctx.json)
      return ctx.outJson({
        name,
        state,
        pending_approvals: pending,
        ...because,
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
