/**
 * The registry's rules for its audit log (servers/common/audit/audit-log.ts): every blueprint write,
 * by a person or an agent, refused attempts too, about the blueprint it names (`target`; `session`
 * is always null). Kept in the registry's own store, beside the blueprints, in the shape of the
 * runtime's log: `ao-audit` reads both and merges them by time.
 */
import type { Context } from 'koa';
import type { operations } from '../../sdk/generated/registry.js';
import { AuditLog, type AuditSubject, bodyNameOf } from '../common/audit/audit-log.js';
import type { AuditStore } from '../common/audit/audit-store.js';
import type { Logger } from '../common/logger.js';

/** Each operation of the registry's contract in a person's words, for refusals and the log's `action`. */
export const REGISTRY_ACTIONS: Record<keyof operations, string> = {
  getHealth: 'check health',
  getMetrics: 'read the metrics',
  listAgents: 'list blueprints',
  getAgent: 'read blueprints',
  createAgent: 'create blueprints',
  updateAgent: 'change blueprints',
  deleteAgent: 'delete blueprints',
  setAgentStatus: 'activate or deactivate blueprints',
  listAudit: 'read the audit log',
};

/** The operations that change blueprints: written to the log. */
export const BLUEPRINT_WRITES = new Set<keyof operations>([
  'createAgent',
  'updateAgent',
  'deleteAgent',
  'setAgentStatus',
]);

export function registryAuditLog(store: AuditStore, logger: Logger): AuditLog {
  return new AuditLog(store, logger, {
    isAudited: (operationId) => BLUEPRINT_WRITES.has(operationId as keyof operations),
    actionOf: (operationId) => REGISTRY_ACTIONS[operationId as keyof operations] ?? operationId,
    subjectOf: (operationId, ctx: Context): AuditSubject => ({
      session: null,
      target:
        operationId === 'createAgent'
          ? bodyNameOf(ctx)
          : ((ctx.params as Record<string, string | undefined>).name?.slice(0, 200) ?? null),
    }),
  });
}
