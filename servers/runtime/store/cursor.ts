/**
 * The position of a session in the list order (last activity first: `updated_at` descending, then
 * `name` ascending), and the opaque cursor that carries it from one page to the next.
 *
 * A cursor names the last session of a page rather than an offset, so a page stays correct when
 * sessions are created, updated or deleted between two requests: the next page starts strictly
 * after that position. Pure and deterministic; every store backend orders by `compareListOrder`.
 */
export interface ListPosition {
  updated_at: string;
  name: string;
}

/** Thrown for a cursor that no page of ours produced; the API answers 400 naming `query.cursor`. */
export class BadCursorError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'BadCursorError';
  }
}

/** Negative when `a` comes before `b` in the list. */
export function compareListOrder(a: ListPosition, b: ListPosition): number {
  if (a.updated_at !== b.updated_at) return a.updated_at > b.updated_at ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Whether `item` comes strictly after `position` in the list. */
export const isAfter = (item: ListPosition, position: ListPosition): boolean => compareListOrder(item, position) > 0;

export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.updated_at, position.name]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): ListPosition {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadCursorError('is not a cursor from a previous page (pass next_cursor unchanged)');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    Number.isNaN(Date.parse(parsed[0])) ||
    !parsed[1]
  ) {
    throw new BadCursorError('is not a cursor from a previous page (pass next_cursor unchanged)');
  }
  return { updated_at: parsed[0], name: parsed[1] };
}
