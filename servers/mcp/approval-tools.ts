/**
 * Approval tools: so that a parent agent (or any MCP client) sees what its child sessions ask to do
 * and answers, as a person would with `ao-approvals`, `ao-approve` and `ao-deny`.
 */
import { z } from 'zod';
import type { Approval } from '../../sdk/index.js';
import { clause } from '../../sdk/advice.js';
import { guarded, ok, problemCodeOf, ToolFailure } from './format.js';
import { defineTool } from './tool.js';
import { describePrincipal } from '../../sdk/principal.js';

const APPROVAL = z.object({
  id: z.string(),
  session: z.string(),
  run: z.number().int(),
  tool: z.string(),
  input: z.record(z.string(), z.unknown()),
  state: z.enum(['pending', 'approved', 'denied', 'cancelled']),
  asked_at: z.string(),
  expires_at: z.string(),
  answered_by: z.string().nullable(),
  answerer: z.string().nullable().describe('Who answered: the person (token name, role) or ancestor agent'),
  message: z.string().nullable(),
});

const brief = (approval: Approval) => ({
  id: approval.id,
  session: approval.session,
  run: approval.run,
  tool: approval.tool,
  input: approval.input,
  state: approval.state,
  asked_at: approval.asked_at,
  expires_at: approval.expires_at,
  answered_by: approval.answered_by,
  answerer: approval.answerer ? describePrincipal(approval.answerer) : null,
  message: approval.message,
});

const line = (approval: Approval) =>
  `${approval.id}: session '${approval.session}' asks to use ${approval.tool} ${JSON.stringify(approval.input).slice(0, 300)} (${approval.state}, expires ${approval.expires_at})`;

export const listApprovalRequests = defineTool({
  name: 'list_approval_requests',
  title: 'List approval requests',
  description:
    'Lists what agent sessions in approval mode ask permission for and wait on (pending requests by default): which session, which tool, with what input. Answer each with answer_approval_request.',
  inputSchema: z.strictObject({
    session: z.string().optional().describe('Only the requests of this session'),
    all: z.boolean().optional().describe('Answered and cancelled requests too (default: pending only)'),
  }),
  outputSchema: z.object({ approvals: z.array(APPROVAL) }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args, { ao }) =>
    guarded(async () => {
      const approvals = await ao().approvals.list({ state: args.all ? undefined : 'pending', session: args.session });
      const text = approvals.length ? approvals.map(line).join('\n') : 'No approval requests wait for an answer.';
      return ok(text, { approvals: approvals.map(brief) });
    }),
});

export const answerApprovalRequest = defineTool({
  name: 'answer_approval_request',
  title: 'Approve or deny an approval request',
  description:
    "Answers what an agent session asked permission for: approve lets it use the tool; deny refuses, and the message (say why, and what to do instead) reaches the agent's model. Target a request by id, or a session by name (its oldest pending request).",
  inputSchema: z.strictObject({
    target: z.string().min(1).describe('A request id (apr_...) or a session name'),
    decision: z.enum(['approve', 'deny']).describe('approve or deny'),
    message: z.string().min(1).max(10_000).optional().describe('For deny: what the agent is told'),
  }),
  outputSchema: z.object({ approval: APPROVAL }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: (args, { ao }) =>
    guarded(async () => {
      try {
        const found = await ao().approvals.find(args.target);
        if (!found)
          throw new ToolFailure(
            `Session '${args.target}' has no pending approval request — see list_approval_requests`,
          );
        const answered =
          args.decision === 'approve'
            ? await ao().approvals.approve(found.id)
            : await ao().approvals.deny(found.id, { message: args.message });
        return ok(
          `${answered.id} ${answered.state}: session '${answered.session}' ${answered.state === 'approved' ? 'may use' : 'may not use'} ${answered.tool}`,
          { approval: brief(answered) },
        );
      } catch (error) {
        const code = problemCodeOf(error);
        if (code === 'approval-not-found' || code === 'session-not-found')
          throw new ToolFailure(`No session or approval request '${args.target}' — see list_approval_requests`);
        if (code === 'approval-answered')
          throw new ToolFailure(`${clause((error as Error).message)} — see list_approval_requests with all: true`);
        throw error;
      }
    }),
});
