import { createHash, createHmac } from 'node:crypto';
import type { components } from '../../sdk/generated/runtime.js';
import type { StoredRun, StoredSession } from './session-store.js';
import type { NewWebhookDelivery } from './store/interfaces.js';

export type WebhookPayload = components['schemas']['WebhookPayload'];

export interface WebhookOptions {
  /** Told about every run that ends (AGENT_ORCHESTRATOR_WEBHOOK_URL); sessions may name their own too. */
  url?: string | undefined;
  /** Key of the HMAC-SHA256 signature (AGENT_ORCHESTRATOR_WEBHOOK_SECRET); unsigned without one. */
  secret?: string | undefined;
  /** Pauses between attempts: one try, then one more after each. Default 1, 2, 4, 8 and 16 s. */
  retryDelaysMs?: number[];
  /** How long one attempt may take. Default 10 s. */
  attemptTimeoutMs?: number;
  /** How often the outbox is looked at for deliveries that no sender holds (another process died). Default 5 s. */
  pollMs?: number;
  /** How long finished deliveries are kept (default 7 days), and at most how many (default 1000). */
  keepFinishedMs?: number;
  keepFinished?: number;
}

export const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16000];

/** The signature header's value for `body`: `sha256=<hex HMAC-SHA256 with the secret>`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function webhookPayload(session: StoredSession, run: StoredRun): WebhookPayload {
  return {
    event: 'run.ended',
    session: session.name,
    run: run.number,
    state: run.state as WebhookPayload['state'],
    error: run.error,
    result: run.result,
    cost_usd: run.cost_usd,
    usage: run.usage,
    parent: session.parent ?? null,
    at: run.ended_at ?? new Date().toISOString(),
  };
}

/**
 * The `X-AOF-Delivery` id of a run's notice to `url`, in the form of a UUID: derived from the run
 * (its session's creation time tells a session apart from an earlier one of the same name), so an
 * end recorded twice (after a crash between two writes of the embedded store) adds no second notice.
 */
export function deliveryId(session: StoredSession, run: StoredRun, url: string): string {
  const hex = createHash('sha256')
    .update(JSON.stringify([session.name, session.created_at, run.number, run.queued_at, url]))
    .digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The notices of a run that ended: one per URL (the runtime-wide one, the session's own), none without. */
export function runEndDeliveries(
  runtimeUrl: string | undefined,
  session: StoredSession,
  run: StoredRun,
): NewWebhookDelivery[] {
  const urls = [...new Set([runtimeUrl, session.webhook_url].filter((u): u is string => Boolean(u)))];
  if (!urls.length) return [];
  const body = JSON.stringify(webhookPayload(session, run));
  return urls.map((url) => ({ id: deliveryId(session, run, url), session: session.name, run: run.number, url, body }));
}

/** A URL safe to log: no credentials, no query (either may hold a secret). */
export function shown(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}
