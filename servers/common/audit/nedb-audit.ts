import type Datastore from 'nedb-promises';
import { openCollection } from '../storage/data-dir.js';
import { type AuditEntry, type AuditFilter, type AuditPosition, type AuditStore, matchesAudit } from './audit-store.js';

type AuditDocument = Omit<AuditEntry, 'id'> & { _id: string };

/**
 * An audit log in one nedb file of the data dir (the runtime's `audit.db`, the registry's
 * `registry-audit.db`), keyed by the entry's id. A page is a query on the indexed `at` (newest
 * first), filtered as nedb reads it.
 */
export class NedbAuditStore implements AuditStore {
  private constructor(private readonly db: Datastore<AuditDocument>) {}

  static async open(dataDir: string, file = 'audit.db'): Promise<NedbAuditStore> {
    return new NedbAuditStore(await openCollection<AuditDocument>(dataDir, file, [{ fieldName: 'at' }]));
  }

  async append(entry: AuditEntry): Promise<void> {
    const { id, ...rest } = entry;
    await this.db.insert({ ...rest, _id: id });
  }

  async page(filter: AuditFilter, after: AuditPosition | null, limit: number): Promise<AuditEntry[]> {
    const query: Record<string, unknown> = {};
    if (filter.principal !== undefined) query['principal.name'] = filter.principal;
    if (filter.kind !== undefined) query['principal.kind'] = filter.kind;
    if (filter.session !== undefined) query.session = filter.session;
    if (filter.operation !== undefined) query.operation = filter.operation;
    if (filter.outcome !== undefined) query.outcome = filter.outcome;
    const at: Record<string, string> = {};
    if (filter.since !== undefined) at.$gte = filter.since;
    if (after) at.$lte = after.at;
    if (Object.keys(at).length) query.at = at;
    const found: AuditEntry[] = [];
    // Entries at the cursor's own time are read again and skipped by id: a page holds `limit` after it.
    for (let skip = 0; found.length < limit; ) {
      const docs = await this.db
        .find(query)
        .sort({ at: -1, _id: -1 })
        .skip(skip)
        .limit(limit + 50);
      for (const { _id, ...rest } of docs) {
        const entry = { id: _id, ...rest } as AuditEntry;
        if (after && !(entry.at < after.at || (entry.at === after.at && entry.id < after.id))) continue;
        if (matchesAudit(entry, filter)) found.push(entry);
        if (found.length === limit) break;
      }
      if (docs.length < limit + 50) break;
      skip += docs.length;
    }
    return found;
  }

  async prune(before: string): Promise<number> {
    return this.db.remove({ at: { $lt: before } }, { multi: true });
  }
}
