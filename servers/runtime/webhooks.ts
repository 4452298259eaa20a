import { createHash, createHmac } from 'node:crypto';
import type { components } from '../../sdk/generated/runtime.js';
import type { StoredRun, StoredSession } from './session-store.js';
import type { NewWebhookDelivery } from './store/interfaces.js';
import { unprocessable } from '../common/contract/problem.js';
import { systemResolve } from './webhook-post.js';
import {
  allowedAddresses,
  hostOf,
  parseAllowedHosts,
  WebhookRefused,
  type Resolve,
  type WebhookAllowlist,
} from './webhook-targets.js';

export type WebhookPayload = components['schemas']['WebhookPayload'];

export interface WebhookOptions {
  /** Told about every run that ends (AGENT_ORCHESTRATOR_WEBHOOK_URL); sessions may name their own too. */
  url?: string | undefined;
  /**
   * What a session's own URL may reach besides public addresses (AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS):
   * host names, addresses, CIDR ranges (webhook-targets.ts). The runtime-wide `url` is not checked.
   */
  allowedHosts?: string[] | undefined;
  /** Resolves host names for that check. Default: the system's resolver. */
  resolve?: Resolve;
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

/** The allowlist of the options; throws (naming the variable) on an entry it cannot read. */
export function webhookAllowlist(options: WebhookOptions): WebhookAllowlist {
  return parseAllowedHosts((options.allowedHosts ?? []).join(','));
}

/** Whether `url` is the operator's runtime-wide URL (trusted, never checked). */
export function isOperatorUrl(url: string, options: WebhookOptions): boolean {
  if (!options.url) return false;
  try {
    return new URL(url).href === new URL(options.url).href;
  } catch {
    return false;
  }
}

/**
 * The check of a session's `webhook_url` at creation: refused (422 `webhook-not-allowed` naming
 * `body.webhook_url`) when its host is, or resolves to, an address the runtime may not send to, or
 * does not resolve. Checked again at each attempt, since a name may resolve elsewhere by then.
 */
export function sessionWebhookCheck(options: WebhookOptions): (url: string) => Promise<void> {
  const allow = webhookAllowlist(options);
  const resolve = options.resolve ?? systemResolve;
  return async (url) => {
    if (isOperatorUrl(url, options)) return;
    const host = hostOf(new URL(url));
    try {
      await allowedAddresses(host, allow, resolve);
    } catch (error) {
      const why =
        error instanceof WebhookRefused
          ? error.message
          : `${host} could not be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
      throw unprocessable('body.webhook_url', why, 'webhook-not-allowed');
    }
  };
}

/** What the start-up log says a session's webhook may reach. */
export function describeAllowlist(options: WebhookOptions): string {
  const entries = webhookAllowlist(options).entries;
  return entries.length
    ? `session webhooks may reach public addresses and ${entries.join(', ')} (AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS)`
    : 'session webhooks may reach public addresses only (AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS lists others: loopback, private, link-local)';
}
