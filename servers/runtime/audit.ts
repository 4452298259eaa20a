/**
 * The runtime's rules for its audit log (servers/common/audit/audit-log.ts): every operation but
 * reads and the runner endpoints (whose reports are what runs do, recorded as their events) is
 * written, refused attempts too; an entry is about a session, an approval request or a token.
 */
import type { Context } from 'koa';
import type { operations } from '../../sdk/generated/runtime.js';
import type { Logger } from '../common/logger.js';
import { AuditLog, type AuditSubject, bodyNameOf } from '../common/audit/audit-log.js';
import type { AuditStore } from '../common/audit/audit-store.js';
import { actionOf } from './actions.js';

/** Writes that are not audited: the runner endpoints and the executors' event reports (what runs do). */
const NOT_AUDITED = new Set<keyof operations>(['claimRun', 'heartbeatRunner', 'reportRun', 'appendSessionEvents']);

/** Reads that are audited all the same: a sign-in to the dashboard. */
const AUDITED_READS = new Set<keyof operations>(['useLoginLink']);

/** Whether a request for `operationId` with `method` is written to the log. */
export function isAudited(operationId: string, method: string): boolean {
  const id = operationId as keyof operations;
  if (NOT_AUDITED.has(id)) return false;
  return (method !== 'GET' && method !== 'HEAD') || AUDITED_READS.has(id);
}

/** The runtime's audit log; `sessionOfApproval` names an approval request's session, to file an answer under it. */
export function runtimeAuditLog(
  store: AuditStore,
  logger: Logger,
  sessionOfApproval: (id: string) => Promise<string | null>,
): AuditLog {
  const subjectOf = async (operationId: string, ctx: Context): Promise<AuditSubject> => {
    const params = ctx.params as Record<string, string | undefined>;
    const bodyName = bodyNameOf(ctx);
    switch (operationId as keyof operations) {
      case 'createSession':
        return { session: bodyName, target: null };
      case 'forkSession':
        // Filed under the source; the fork's name is its target.
        return { session: params.name ?? null, target: bodyName };
      case 'answerApproval': {
        const id = params.id ?? null;
        const session = id ? await sessionOfApproval(id).catch(() => null) : null;
        return { session, target: id };
      }
      case 'createToken':
        return { session: null, target: bodyName };
      case 'revokeToken':
        return { session: null, target: params.name ?? null };
      default:
        return { session: params.name ?? null, target: params.id ?? null };
    }
  };
  return new AuditLog(store, logger, { isAudited, actionOf, subjectOf });
}
