import type { Queries } from '../storage/postgres.js';
import type { AuditEntry, AuditFilter, AuditPosition, AuditStore } from './audit-store.js';

/**
 * An audit log in one table of the columns of `aof_audit` (the runtime's, servers/runtime/store/postgres-access-schema.ts;
 * the registry's `aof_registry_audit`), written and read by every process of that server on the database.
 */
export class PostgresAuditStore implements AuditStore {
  constructor(
    private readonly db: Queries,
    /** A constant of ours, never input: it is written into the SQL. */
    private readonly table: 'aof_audit' | 'aof_registry_audit' = 'aof_audit',
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.table} (id, at, principal_kind, principal_name, principal, operation, action, session, target, outcome, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
      [
        entry.id,
        entry.at,
        entry.principal.kind,
        entry.principal.name,
        JSON.stringify(entry.principal),
        entry.operation,
        entry.action,
        entry.session,
        entry.target,
        entry.outcome,
        entry.status,
      ],
    );
  }

  async page(filter: AuditFilter, after: AuditPosition | null, limit: number): Promise<AuditEntry[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (value: unknown) => `$${values.push(value)}`;
    if (filter.principal !== undefined) where.push(`principal_name = ${param(filter.principal)}`);
    if (filter.kind !== undefined) where.push(`principal_kind = ${param(filter.kind)}`);
    if (filter.session !== undefined) where.push(`session = ${param(filter.session)}`);
    if (filter.operation !== undefined) where.push(`operation = ${param(filter.operation)}`);
    if (filter.outcome !== undefined) where.push(`outcome = ${param(filter.outcome)}`);
    if (filter.since !== undefined) where.push(`at >= ${param(filter.since)}`);
    if (after) {
      const at = param(after.at);
      where.push(`(at < ${at} OR (at = ${at} AND id < ${param(after.id)}))`);
    }
    const { rows } = await this.db.query<AuditEntry>(
      `SELECT id, at, principal, operation, action, session, target, outcome, status FROM ${this.table}
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ${param(limit)}`,
      values,
    );
    return rows;
  }

  async prune(before: string): Promise<number> {
    return (await this.db.query(`DELETE FROM ${this.table} WHERE at < $1`, [before])).rowCount ?? 0;
  }
}
