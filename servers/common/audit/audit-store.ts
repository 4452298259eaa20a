import type { components } from '../../../sdk/generated/runtime.js';

export type AuditEntry = components['schemas']['AuditEntry'];
export type AuditOutcome = components['schemas']['AuditOutcome'];

/** What a page of the audit log is filtered by; every given field must hold. */
export interface AuditFilter {
  /** The principal's name (a token's name, `admin`, an agent's session). */
  principal?: string | undefined;
  kind?: AuditEntry['principal']['kind'] | undefined;
  session?: string | undefined;
  operation?: string | undefined;
  outcome?: AuditOutcome | undefined;
  /** At or after this ISO time. */
  since?: string | undefined;
}

/** Where a page of the audit log starts after: the last entry of the page before (newest first: `at`, then `id`, descending). */
export interface AuditPosition {
  at: string;
  id: string;
}

/**
 * The audit log (servers/common/audit/audit-log.ts writes it): entries are added, read newest first by page,
 * and pruned by age; never changed. Every backend orders by `at` then `id`, both descending.
 */
export interface AuditStore {
  append(entry: AuditEntry): Promise<void>;
  /** Up to `limit` entries matching `filter`, strictly after `after`, newest first. */
  page(filter: AuditFilter, after: AuditPosition | null, limit: number): Promise<AuditEntry[]>;
  /** Deletes the entries older than `before` (an ISO time); resolves with how many. */
  prune(before: string): Promise<number>;
}

/** Whether `entry` comes strictly after `position` (newest first). */
export const isAfterPosition = (entry: AuditPosition, position: AuditPosition): boolean =>
  entry.at < position.at || (entry.at === position.at && entry.id < position.id);

export function matchesAudit(entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.principal !== undefined && entry.principal.name !== filter.principal) return false;
  if (filter.kind !== undefined && entry.principal.kind !== filter.kind) return false;
  if (filter.session !== undefined && entry.session !== filter.session) return false;
  if (filter.operation !== undefined && entry.operation !== filter.operation) return false;
  if (filter.outcome !== undefined && entry.outcome !== filter.outcome) return false;
  if (filter.since !== undefined && entry.at < filter.since) return false;
  return true;
}
