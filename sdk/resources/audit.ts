import type { Client } from 'openapi-fetch';
import type { paths as RegistryPaths } from '../generated/registry.js';
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
  /** An operationId, e.g. `deleteSession` (the runtime's) or `updateAgent` (the registry's). */
  operation?: string | undefined;
  outcome?: AuditOutcome | undefined;
  /** At or after this time (ISO 8601). */
  since?: string | undefined;
  limit?: number | undefined;
  /** The `next_cursor` of the page before. */
  cursor?: string | undefined;
}

/** Newest first: `at`, then `id`, both descending (the order of both servers' pages). */
const isNewer = (a: AuditEntry, b: AuditEntry) => a.at > b.at || (a.at === b.at && a.id > b.id);

/**
 * Who did what: `ao.audit` (people's credentials only). Each server keeps the log of its own writes
 * (the runtime: sessions, approvals, tokens; the registry: blueprints), in one shape; `all` reads
 * both as one log, newest first.
 */
export class Audit {
  constructor(
    private readonly runtime: Client<paths>,
    private readonly registry: Client<RegistryPaths>,
  ) {}

  /** One page of the runtime's log, newest first; follow `next_cursor` until it is null. */
  page(query: AuditQuery = {}): Promise<AuditPage> {
    return data(this.runtime.GET('/audit', { params: { query: defined(query) } }));
  }

  /** One page of the registry's log (blueprint writes), newest first; follow `next_cursor` until it is null. */
  registryPage(query: AuditQuery = {}): Promise<AuditPage> {
    return data(this.registry.GET('/audit', { params: { query: defined(query) } }));
  }

  /** Every matching entry of both logs, merged newest first, page after page. */
  async *all(query: Omit<AuditQuery, 'cursor'> = {}): AsyncGenerator<AuditEntry> {
    const runtime = pages((cursor) => this.page({ ...query, cursor }));
    // No blueprint write is about a session: a query by session is the runtime's alone.
    if (query.session !== undefined) {
      yield* runtime;
      return;
    }
    const registry = pages((cursor) => this.registryPage({ ...query, cursor }));
    let [a, b] = await Promise.all([runtime.next(), registry.next()]);
    while (!a.done || !b.done) {
      if (b.done || (!a.done && !isNewer(b.value, a.value))) {
        yield a.value as AuditEntry;
        a = await runtime.next();
      } else {
        yield b.value;
        b = await registry.next();
      }
    }
  }
}

async function* pages(read: (cursor: string | undefined) => Promise<AuditPage>): AsyncGenerator<AuditEntry> {
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    yield* page.entries;
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
}

const defined = (query: AuditQuery) =>
  Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
