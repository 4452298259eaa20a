/**
 * Who did what: one entry per write a person or an agent makes to the runtime (every operation but
 * reads and the runner endpoints, whose reports are what runs do, recorded as their events), refused
 * attempts too. An entry names the principal, the operation (its operationId, and in words), what it
 * was about (a session; an approval request's id or a token's name) and how it ended. No request
 * body is kept, so prompts, tokens and answers' messages never reach the log.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { operations } from '../../sdk/generated/runtime.js';
import type { Logger } from '../common/logger.js';
import type { Principal } from '../common/principal.js';
import { invalid } from '../common/problem.js';
import { actionOf } from './actions.js';
import type { AuditEntry, AuditFilter, AuditOutcome, AuditPosition, AuditStore } from './store/audit-store.js';

export type AuditPage = { entries: AuditEntry[]; next_cursor: string | null };

/** Writes that are not audited: the runner endpoints and the executors' event reports (what runs do). */
const NOT_AUDITED = new Set<keyof operations>(['claimRun', 'heartbeatRunner', 'reportRun', 'appendSessionEvents']);

/** Reads that are audited all the same: a sign-in to the dashboard. */
const AUDITED_READS = new Set<keyof operations>(['useLoginLink']);

export const DEFAULT_AUDIT_LIMIT = 100;

/** What an entry is about, read from the request (never its body's content, but for a new session's name). */
export interface AuditSubject {
  session: string | null;
  target: string | null;
}

/** How a status reads in the log. */
export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'done';
  return status === 401 || status === 403 ? 'refused' : 'failed';
}

/** Whether a request for `operationId` with `method` is written to the log. */
export function isAudited(operationId: string, method: string): boolean {
  const id = operationId as keyof operations;
  if (NOT_AUDITED.has(id)) return false;
  return (method !== 'GET' && method !== 'HEAD') || AUDITED_READS.has(id);
}

export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly logger: Logger,
    /** The session of an approval request, to file an answer under it. */
    private readonly sessionOfApproval: (id: string) => Promise<string | null>,
  ) {}

  /** The hook for the contract's router (servers/common/operations.ts `AfterOperation`). */
  readonly after = async (operationId: string, ctx: Context, status: number): Promise<void> => {
    const principal = (ctx.state as { principal?: Principal }).principal;
    // Without a principal, nobody was checked (a sign-in with a bad link): nobody to name.
    if (!principal || !isAudited(operationId, ctx.method)) return;
    try {
      await this.store.append({
        id: entryId(),
        at: new Date().toISOString(),
        principal,
        operation: operationId,
        action: actionOf(operationId),
        ...(await this.subjectOf(operationId, ctx)),
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

  /** Deletes entries older than `before` (the retention of `ao-clean --before`). */
  prune(before: string): Promise<number> {
    return this.store.prune(new Date(before).toISOString());
  }

  private async subjectOf(operationId: string, ctx: Context): Promise<AuditSubject> {
    const params = ctx.params as Record<string, string | undefined>;
    const body = (ctx.request as { body?: unknown }).body;
    const bodyName =
      body && typeof body === 'object' && typeof (body as { name?: unknown }).name === 'string'
        ? ((body as { name: string }).name.slice(0, 200) as string)
        : null;
    switch (operationId as keyof operations) {
      case 'createSession':
        return { session: bodyName, target: null };
      case 'forkSession':
        // Filed under the source; the fork's name is its target.
        return { session: params.name ?? null, target: bodyName };
      case 'answerApproval': {
        const id = params.id ?? null;
        const session = id ? await this.sessionOfApproval(id).catch(() => null) : null;
        return { session, target: id };
      }
      case 'createToken':
        return { session: null, target: bodyName };
      case 'revokeToken':
        return { session: null, target: params.name ?? null };
      default:
        return { session: params.name ?? null, target: params.id ?? null };
    }
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
