/** What `ao-approvals`, `ao-approve` and `ao-deny` share: how a request reads, and how one is found and answered. */
import type { Approval, Orchestrator } from '../../sdk/index.js';
import { describePrincipal } from '../../sdk/principal.js';
import { clause } from '../../sdk/advice.js';
import { CliError, NAME_PATTERN, type Context } from './cli.js';
import { formatToolCall } from './format.js';

/** `apr_1f…  fix-tests (run 2)  Bash(command="rm -rf build")  pending, expires in 9 min 58 s`. */
export function describeApproval(approval: Approval, now = Date.now()): string {
  const state =
    approval.state === 'pending'
      ? `pending, expires in ${Math.max(0, Math.round((Date.parse(approval.expires_at) - now) / 1000))} s`
      : `${approval.state}${answeredBy(approval.answered_by, approval.answerer)}${approval.message ? `: ${approval.message}` : ''}`;
  return `${approval.id}  ${approval.session} (run ${approval.run})  ${formatToolCall(approval.tool, approval.input)}  ${state}`;
}

/** ` by alice (operator)`, ` by timeout`: who (or what) answered; empty when nobody has. */
export function answeredBy(
  by: Approval['answered_by'] | undefined,
  answerer: Approval['answerer'] | undefined,
): string {
  if (answerer) return ` by ${describePrincipal(answerer)}`;
  return by ? ` by ${by.replace('_', ' ')}` : '';
}

/** Answers the request with this id, or the oldest pending one of the session with this name. */
export async function answerApproval(
  ctx: Context,
  target: string,
  decision: { approve: true } | { approve: false; message?: string | undefined },
): Promise<void> {
  if (!/^apr_[A-Za-z0-9]+$/.test(target) && !NAME_PATTERN.test(target)) {
    throw new CliError(
      `'${target}' is neither a session name nor an approval request id (apr_...) — see ao-approvals`,
      'usage',
    );
  }
  const ao: Orchestrator = await ctx.client();
  const { NotFoundError, ConflictError } = await import('../../sdk/index.js');
  try {
    const found = await ao.approvals.find(target);
    if (!found)
      throw new CliError(
        `Session '${target}' has no pending approval request — see ao-approvals`,
        'no_pending_approval',
      );
    const answered = decision.approve
      ? await ao.approvals.approve(found.id)
      : await ao.approvals.deny(found.id, { message: decision.message });
    if (ctx.json) ctx.outJson(answered);
    else ctx.out(describeApproval(answered));
  } catch (error) {
    if (error instanceof NotFoundError)
      throw new CliError(`No session or approval request '${target}' — see ao-approvals`, 'approval_not_found');
    if (error instanceof ConflictError)
      throw new CliError(`${clause(error.message)} — see ao-approvals --all`, 'approval_answered');
    throw error;
  }
}
