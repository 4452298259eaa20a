import type { Client } from 'openapi-fetch';
import type { components, paths } from '../generated/runtime.js';
import { data } from '../http.js';

export type AuditEntry = components['schemas']['AuditEntry'];
export type AuditPage = components['schemas']['AuditPage'];
export type AuditOutcome = components['schemas']['AuditOutcome'];

/** What a page of the audit log is filtered by (all given must hold), and where it starts. */
export interface AuditQuery {
  /** What this principal did: a person's token name, `admin`, or an agent's session. */
  principal?: string | undefined;
  kind?: 'person' | 'agent' | 'runner' | undefined;
  /** What was done to this session (or its approval requests). */
  session?: string | undefined;
  /** An operationId, e.g. `deleteSession`. */
  operation?: string | undefined;
  outcome?: AuditOutcome | undefined;
  /** At or after this time (ISO 8601). */
  since?: string | undefined;
  limit?: number | undefined;
  /** The `next_cursor` of the page before. */
  cursor?: string | undefined;
}

/** Who did what in the Agent Runtime: `ao.audit` (people's credentials only). */
export class Audit {
  constructor(private readonly client: Client<paths>) {}

  /** One page, newest first; follow `next_cursor` until it is null. */
  page(query: AuditQuery = {}): Promise<AuditPage> {
    const defined = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
    return data(this.client.GET('/audit', { params: { query: defined } }));
  }

  /** Every matching entry, newest first, page after page. */
  async *all(query: Omit<AuditQuery, 'cursor'> = {}): AsyncGenerator<AuditEntry> {
    let cursor: string | undefined;
    do {
      const page = await this.page({ ...query, cursor });
      yield* page.entries;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }
}
