import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { components } from '../../sdk/generated/runtime.js';
import type { Logger } from '../common/logger.js';
import type { SessionChange, SessionService } from './session-service.js';
import { isFinal, type StoredRun, type StoredSession } from './session-store.js';

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

/** A URL safe to log: no credentials, no query (either may hold a secret). */
const shown = (url: string) => {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
};

/**
 * Tells webhooks when a run ends: a POST of the WebhookPayload, signed, retried with backoff on a
 * network error, a timeout, a 429 or a 5xx (every attempt of one notice has the same delivery id,
 * so a receiver can drop duplicates). Another 4xx is final. In memory: a notice still being retried
 * when the runtime stops is not sent.
 */
export class Webhooks {
  private readonly closed = new AbortController();

  constructor(private readonly sessions: SessionService, private readonly options: WebhookOptions, private readonly logger: Logger) {}

  /** Follows the sessions' changes made by this process (another runtime process sends its own). */
  listen(): () => void {
    return this.sessions.onChange((change, local) => local && void this.changed(change).catch((error) => {
      this.logger.warn(`webhook for session '${change.name}' not sent: ${error instanceof Error ? error.message : String(error)}`);
    }));
  }

  /** Gives up the retries still waiting. */
  close(): void {
    this.closed.abort();
  }

  private async changed(change: SessionChange): Promise<void> {
    if (change.change !== 'state' || !change.state || !isFinal(change.state)) return;
    const session = await this.sessions.getStored(change.name);
    const run = session?.runs.find((r) => r.number === change.run);
    if (!session || !run) return;
    const urls = [...new Set([this.options.url, session.webhook_url].filter((u): u is string => Boolean(u)))];
    if (!urls.length) return;
    const body = JSON.stringify(webhookPayload(session, run));
    for (const url of urls) {
      void this.send(url, body, `run ${run.number} of session '${session.name}'`);
    }
  }

  private async send(url: string, body: string, what: string): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-aof-event': 'run.ended', 'x-aof-delivery': randomUUID() };
    if (this.options.secret) headers['x-aof-signature'] = signBody(this.options.secret, body);
    const delays = this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      let failure: string;
      try {
        const response = await fetch(url, {
          method: 'POST', headers, body, redirect: 'manual',
          signal: AbortSignal.any([AbortSignal.timeout(this.options.attemptTimeoutMs ?? 10_000), this.closed.signal]),
        });
        await response.body?.cancel();
        if (response.ok) return;
        failure = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 429) {
          this.logger.warn(`webhook ${shown(url)} refused the notice of ${what} (${failure}); not retried`);
          return;
        }
      } catch (error) {
        if (this.closed.signal.aborted) return;
        failure = error instanceof Error ? (error.cause as Error | undefined)?.message ?? error.message : String(error);
      }
      const delay = delays[attempt];
      if (delay === undefined) {
        this.logger.warn(`webhook ${shown(url)} for ${what} failed ${attempt + 1} times (last: ${failure}); given up`);
        return;
      }
      try {
        await sleep(delay, undefined, { signal: this.closed.signal });
      } catch {
        return;
      }
    }
  }
}
