#!/usr/bin/env node
import type { Approval, ApprovalState, Orchestrator } from '../sdk/index.js';
import { describeApproval } from './lib/approvals.js';
import { checkName, CliError, main, stringOption } from './lib/cli.js';

const STATES: ApprovalState[] = ['pending', 'approved', 'denied', 'cancelled'];

await main({
  name: 'ao-approvals',
  description: [
    'Lists the approval requests that wait for an answer: which session asks to use which tool, and until when.',
    'Answer them with ao-approve or ao-deny. With --follow, prints each new request as it comes, until interrupted (Ctrl-C).',
  ],
  options: [
    { name: 'follow', short: 'f', type: 'boolean', description: 'Keep printing new pending requests as agents ask' },
    { name: 'all', type: 'boolean', description: 'Answered and cancelled requests too' },
    {
      name: 'state',
      type: 'string',
      value: 'STATE',
      description: `Only requests in this state (${STATES.join(', ')})`,
    },
    { name: 'session', type: 'string', value: 'NAME', description: 'Only the requests of this session' },
  ],
  examples: ['ao-approvals', 'ao-approvals --follow', 'ao-approvals --all --session fix-tests', 'ao-approvals --json'],
  async run(ctx, _args, options) {
    const stateOption = stringOption(options, 'state');
    if (stateOption !== undefined && !STATES.includes(stateOption as ApprovalState)) {
      throw new CliError(`--state must be one of ${STATES.join(', ')}, not '${stateOption}'`, 'usage');
    }
    if (options.follow && (options.all || (stateOption && stateOption !== 'pending')))
      throw new CliError('--follow prints pending requests only; drop --all/--state', 'usage');
    const session = stringOption(options, 'session');
    if (session !== undefined) checkName(session);
    const state = options.all ? undefined : ((stateOption as ApprovalState | undefined) ?? 'pending');
    const ao = await ctx.client();
    const print = (approval: Approval) =>
      ctx.json ? process.stdout.write(`${JSON.stringify(approval)}\n`) : ctx.out(describeApproval(approval));
    if (!options.follow) {
      const approvals = await ao.approvals.list({ state, session });
      if (ctx.json) ctx.outJson({ approvals });
      else if (approvals.length) ctx.out(approvals.map((approval) => describeApproval(approval)).join('\n'));
      else if (session !== undefined && (await sessionMissing(ao, session)))
        throw new CliError(`Session '${session}' not found — see ao-list-sessions`, 'session_not_found');
      else
        ctx.note(
          `No ${state ?? ''}${state ? ' ' : ''}approval requests${session ? ` of session '${session}'` : ''}${state === 'pending' ? ' — agents in approval mode ask here as they work (ao-approvals --follow waits for them)' : ''}`,
        );
      return;
    }
    // Subscribe first, then list: a request made in between is printed by the first change.
    const seen = new Set<string>();
    const printNew = async () => {
      for (const approval of await ao.approvals.list({ state: 'pending', session })) {
        if (seen.has(approval.id)) continue;
        seen.add(approval.id);
        print(approval);
      }
    };
    const changes = ao.sessions.changes();
    await printNew();
    for await (const change of changes) {
      if (change.change === 'approvals' && (session === undefined || change.name === session)) await printNew();
    }
  },
});

/** Whether no session has this name (an empty list of its requests is then a typo, not quiet). */
async function sessionMissing(ao: Orchestrator, name: string): Promise<boolean> {
  const { ApiError } = await import('../sdk/index.js');
  try {
    await ao.sessions.status(name);
    return false;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'session-not-found') return true;
    throw error;
  }
}
