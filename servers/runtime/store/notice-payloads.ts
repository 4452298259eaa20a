import type { Notice } from './interfaces.js';

/**
 * How notices travel between runtime processes as PostgreSQL notification payloads: JSON naming the
 * sending process (`from`), so a process skips its own, and the notices of one transaction. PostgreSQL
 * refuses a payload of 8000 bytes or more, so a long list is cut into several payloads, in order.
 * Pure: no connection here (postgres-notices.ts sends and hears them).
 */

/** Below PostgreSQL's 8000-byte limit for one payload, with room to spare. */
export const MAX_PAYLOAD_BYTES = 7500;

export interface Payload {
  from: string;
  notices: Notice[];
}

/** The payloads that carry `notices` from process `from`, each under MAX_PAYLOAD_BYTES. */
export function encodePayloads(from: string, notices: readonly Notice[]): string[] {
  const payloads: string[] = [];
  let batch: Notice[] = [];
  const encode = (list: Notice[]) => JSON.stringify({ from, notices: list } satisfies Payload);
  for (const notice of notices) {
    const next = [...batch, notice];
    if (batch.length && Buffer.byteLength(encode(next)) > MAX_PAYLOAD_BYTES) {
      payloads.push(encode(batch));
      batch = [notice];
    } else {
      batch = next;
    }
  }
  if (batch.length) payloads.push(encode(batch));
  for (const payload of payloads) {
    // One notice is small (a session name and numbers); one that is not would be refused by PostgreSQL.
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
      throw new Error(`a notice of ${Buffer.byteLength(payload)} bytes is too long to send`);
  }
  return payloads;
}

/** The payload's sender and notices, or null for a payload that is not one of ours. */
export function decodePayload(text: string | undefined): Payload | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<Payload>;
    return typeof value.from === 'string' && Array.isArray(value.notices) ? (value as Payload) : null;
  } catch {
    return null;
  }
}
