import type { WebhookOutcome } from './store/interfaces.js';

/**
 * What an attempt got: an HTTP status, an error before one (network, timeout), or a refusal to send
 * at all (a session's URL whose host now resolves to an address it may not reach, webhook-targets.ts).
 */
export type AttemptResult = { status: number } | { error: string } | { refused: string };

/**
 * How a delivery goes on after its `attempts`-th attempt: a 2xx delivers it; a network error, a
 * timeout, a 429 or a 5xx is tried again after `delays[attempts - 1]`, or given up once the delays
 * run out; any other status (a 3xx is not followed, a 4xx) and a refusal are final.
 */
export function afterAttempt(attempts: number, result: AttemptResult, delays: readonly number[]): WebhookOutcome {
  if ('status' in result && result.status >= 200 && result.status < 300) return { state: 'delivered' };
  const error =
    'status' in result ? `HTTP ${result.status}` : 'refused' in result ? `not sent: ${result.refused}` : result.error;
  if (!isRetryable(result)) return { state: 'given_up', error };
  const delay = delays[attempts - 1];
  return delay === undefined ? { state: 'given_up', error } : { state: 'pending', error, retryInMs: delay };
}

/** Whether a failed attempt may be tried again: a network error, a timeout, a 429 or a 5xx. */
export function isRetryable(result: AttemptResult): boolean {
  if ('refused' in result) return false;
  return !('status' in result) || result.status === 429 || result.status >= 500;
}
