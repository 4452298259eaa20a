import type { operations } from '../../sdk/generated/runtime.js';
import type { Handlers } from '../common/http/operations.js';
import type { ApprovalService } from './approvals.js';
import type { Scopes } from './scope.js';
import { principalOf } from '../common/http/principal.js';

type ApprovalOperations = Pick<operations, 'askApproval' | 'listApprovals' | 'getApproval' | 'answerApproval'>;

/** The approval routes of the runtime's contract. */
export function approvalHandlers(approvals: ApprovalService, scopes: Scopes): Handlers<ApprovalOperations> {
  return {
    askApproval: async ({ path, body }) => ({ status: 201, body: await approvals.ask(path.name, body) }),
    listApprovals: async ({ query, ctx }) => {
      const visible = await scopes.visible(principalOf(ctx));
      const found = await approvals.list(query);
      return { status: 200, body: { approvals: visible ? found.filter((a) => visible.has(a.session)) : found } };
    },
    getApproval: async ({ path, query }) => ({ status: 200, body: await approvals.get(path.id, query.wait) }),
    answerApproval: async ({ path, body, ctx }) => ({
      status: 200,
      body: await approvals.answer(path.id, body, principalOf(ctx)),
    }),
  };
}
