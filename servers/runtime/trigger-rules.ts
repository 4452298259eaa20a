/**
 * The rules of triggers, pure: the signature check, paths into a payload, the filter (a small
 * expression language, compiled by filtrex: comparisons, and/or/not, arithmetic, `in`; no calls, no
 * access beyond the payload's own fields), and which session a branch names.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { compileExpression } from 'filtrex';

/** Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` with `secret`; never leaks timing. */
export function signatureMatches(secret: string, body: Buffer | string, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The signature a sender puts on `body` (for tests and for `aof` senders). */
export const signatureOf = (secret: string, body: Buffer | string) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** The value at `path` (`a.b.0.c`) of the payload: own fields only (never a prototype's). */
export function valueAt(payload: unknown, path: string): unknown {
  let value: unknown = payload;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A payload value as text in a prompt: strings as they are, anything else as JSON; missing, empty. */
export function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Compiles a filter; throws a message for people when it is not an expression. */
export function compileFilter(expression: string): (payload: unknown) => boolean {
  const run = compileExpression(expression, {
    customProp: (name: string, _get: unknown, object: unknown) => valueAt(object, name),
  });
  return (payload) => {
    const result = run(payload as object) as unknown;
    if (result instanceof Error) throw result;
    return Boolean(result);
  };
}

/** The session a branch belongs to (`aof/<session>`, as worktrees are named), or null. */
export function sessionOfBranch(branch: unknown): string | null {
  if (typeof branch !== 'string') return null;
  const match = /^(?:refs\/heads\/)?aof\/([A-Za-z0-9][A-Za-z0-9_-]{0,59})$/.exec(branch);
  return match ? match[1]! : null;
}
