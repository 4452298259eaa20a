/**
 * Who did what, for one server: an entry per write a person or an agent makes (refused attempts too),
 * naming the principal, the operation (its operationId, and in words), what it was about and how it
 * ended. No request body is kept, so prompts, tokens and answers' messages never reach the log. What
 * is audited and what an entry is about are the server's rules (the runtime's: servers/runtime/audit.ts;
 * the registry's: servers/registry/audit.ts); the log, its pages and its cursor are the same for both,
 * so `ao-audit` reads the two as one.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { Logger } from '../logger.js';
import type { Principal } from '../http/principal.js';
import { invalid } from '../contract/problem.js';
import type { AuditEntry, AuditFilter, AuditOutcome, AuditPosition, AuditStore } from './audit-store.js';

export type AuditPage = { entries: AuditEntry[]; next_cursor: string | null };

export const DEFAULT_AUDIT_LIMIT = 100;

/** What an entry is about, read from the request (never its body's content, but for a new thing's name). */
export interface AuditSubject {
  session: string | null;
  target: string | null;
}

/** A server's rules: which requests are written, how an operation reads in words, what a request is about. */
export interface AuditRules {
  isAudited(operationId: string, method: string): boolean;
  actionOf(operationId: string): string;
  subjectOf(operationId: string, ctx: Context): AuditSubject | Promise<AuditSubject>;
}

/** How a status reads in the log. */
export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'done';
  return status === 401 || status === 403 ? 'refused' : 'failed';
}

/** The name a request's JSON body gives (a new session's, token's or blueprint's), cut to 200 characters. */
export function bodyNameOf(ctx: Context): string | null {
  const body = (ctx.request as { body?: unknown }).body;
  return body && typeof body === 'object' && typeof (body as { name?: unknown }).name === 'string'
    ? (body as { name: string }).name.slice(0, 200)
    : null;
}

export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly logger: Logger,
    private readonly rules: AuditRules,
  ) {}

  /** The hook for the contract's router (servers/common/http/operations.ts `AfterOperation`). */
  readonly after = async (operationId: string, ctx: Context, status: number): Promise<void> => {
    const principal = (ctx.state as { principal?: Principal }).principal;
    // Without a principal, nobody was checked (a sign-in with a bad link): nobody to name.
    if (!principal || !this.rules.isAudited(operationId, ctx.method)) return;
    try {
      await this.store.append({
        id: entryId(),
        at: new Date().toISOString(),
        principal,
        operation: operationId,
        action: this.rules.actionOf(operationId),
        ...(await this.rules.subjectOf(operationId, ctx)),
        outcome: outcomeOf(status),
        status,
      });
    } catch (error) {
      // The write itself is done (or refused) already: a log that could not be written is told, not answered.
      this.logger.error(`could not write the audit entry of ${operationId}`, error);
    }
  };

  async list(filter: AuditFilter & { limit?: number | undefined; cursor?: string | undefined }): Promise<AuditPage> {
    const { limit = DEFAULT_AUDIT_LIMIT, cursor, ...rest } = filter;
    const after = cursor === undefined ? null : decodeAuditCursor(cursor);
    const since = rest.since === undefined ? undefined : new Date(rest.since).toISOString();
    const found = await this.store.page({ ...rest, since }, after, limit + 1);
    const entries = found.slice(0, limit);
    const last = entries[entries.length - 1];
    return { entries, next_cursor: found.length > limit && last ? encodeAuditCursor(last) : null };
  }

  /** Deletes entries older than `before` (the retention of `ao-clean --before`); resolves with how many. */
  prune(before: string): Promise<number> {
    return this.store.prune(new Date(before).toISOString());
  }
}

/** Ids sort by time within one millisecond too (a counter), and never collide across processes (random). */
let counter = 0;
function entryId(): string {
  counter = (counter + 1) % 0x100000;
  return `aud_${Date.now().toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
}

function encodeAuditCursor(position: AuditPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id]), 'utf8').toString('base64url');
}

function decodeAuditCursor(cursor: string): AuditPosition {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      !Number.isNaN(Date.parse(parsed[0]))
    )
      return { at: parsed[0], id: parsed[1] };
  } catch {}
  throw invalid('query.cursor', 'is not a cursor from a previous page (pass next_cursor unchanged)');
}
