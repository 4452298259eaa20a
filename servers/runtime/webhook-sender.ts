import { Pump } from './pump.js';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../common/logger.js';
import type { WebhookDelivery, WebhookOutcome, WebhookStore } from './store/interfaces.js';
import { afterAttempt, isRetryable, type AttemptResult } from './webhook-retries.js';
import { postWebhook, systemResolve } from './webhook-post.js';
import { type Resolve, type WebhookAllowlist, WebhookRefused } from './webhook-targets.js';
import {
  DEFAULT_RETRY_DELAYS_MS,
  isOperatorUrl,
  shown,
  signBody,
  webhookAllowlist,
  type WebhookOptions,
} from './webhooks.js';

/** Deliveries claimed at once. */
const CLAIM_BATCH = 16;
/** Attempts in flight at most: a receiver that was down for long gets its backlog a few at a time. */
const MAX_IN_FLIGHT = 32;
/** How long past an attempt's timeout a claim lasts: time to record the attempt. */
const CLAIM_MARGIN_MS = 5_000;
/** Finished deliveries are pruned at most this often. */
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Sends the notices of the webhook outbox (WebhookStore): claims the due ones, POSTs each (signed at
 * send time, under its stored delivery id), records how the attempt went, and sleeps until the next
 * one is due. Every runtime process sharing a store runs one; a claim makes each attempt one
 * process's, and when a process dies, its claims run out and another one goes on. It looks at the
 * outbox again when a run ends here (`listen`), after each attempt, and every `pollMs` (for what
 * other processes left).
 */
export class WebhookSender {
  private readonly claimant = randomUUID();
  private readonly closed = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** Looks at the outbox, one look at a time; woken by run ends, attempts that end, and its own timer. */
  private readonly pumping = new Pump(
    () => {
      clearTimeout(this.timer);
      return this.pump();
    },
    (error) => this.logger.warn(`webhook outbox not read: ${message(error)}`),
  );
  private prunedAt = 0;

  private readonly guard: { allow: WebhookAllowlist; resolve: Resolve };

  constructor(
    private readonly store: WebhookStore,
    private readonly options: WebhookOptions,
    private readonly logger: Logger,
    /** Told how each recorded attempt went (the metrics). */
    private readonly attempted: (outcome: 'delivered' | 'retried' | 'given_up') => void = () => {},
  ) {
    this.guard = { allow: webhookAllowlist(options), resolve: options.resolve ?? systemResolve };
  }

  /** Starts sending what is due, pending deliveries left by an earlier run of the runtime too. */
  start(): void {
    this.wake();
  }

  /** Looks at the outbox now (or right after the look in progress): a run's end stored notices there. */
  wake(): void {
    if (this.closed.signal.aborted) return;
    this.pumping.wake();
  }

  /**
   * Stops: attempts in flight are cut short and their claims given back (their deliveries stay
   * pending, for the next start or another process); resolves once nothing touches the store.
   */
  async close(): Promise<void> {
    this.closed.abort();
    clearTimeout(this.timer);
    await this.pumping.close();
    await Promise.all([...this.inFlight]);
  }

  private async pump(): Promise<void> {
    const pollMs = this.options.pollMs ?? 5_000;
    let wait = pollMs;
    try {
      await this.prune();
      const claimMs = (this.options.attemptTimeoutMs ?? 10_000) + CLAIM_MARGIN_MS;
      for (;;) {
        if (this.closed.signal.aborted) return;
        const room = Math.min(CLAIM_BATCH, MAX_IN_FLIGHT - this.inFlight.size);
        if (room <= 0) return this.sleep(pollMs); // each attempt that ends looks again
        const due = await this.store.claim(this.claimant, claimMs, room);
        for (const delivery of due) this.track(this.attempt(delivery));
        if (due.length < room) break;
      }
      const next = await this.store.nextDueInMs();
      if (next !== null) wait = Math.min(next, pollMs);
    } catch (error) {
      this.logger.warn(`webhook outbox not read (tried again in ${pollMs} ms): ${message(error)}`);
    }
    this.sleep(wait);
  }

  private sleep(ms: number): void {
    if (this.closed.signal.aborted) return;
    this.timer = setTimeout(() => this.wake(), ms);
    this.timer.unref();
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((error) => this.logger.warn(`webhook attempt not recorded: ${message(error)}`))
      .finally(() => {
        this.inFlight.delete(tracked);
        // The delivery's next attempt (or the next delivery's, when many wait) is timed from here.
        this.wake();
      });
    this.inFlight.add(tracked);
  }

  private async attempt(delivery: WebhookDelivery): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-aof-event': 'run.ended',
      'x-aof-delivery': delivery.id,
    };
    if (this.options.secret) headers['x-aof-signature'] = signBody(this.options.secret, delivery.body);
    let result: AttemptResult;
    try {
      const status = await postWebhook(delivery.url, {
        headers,
        body: delivery.body,
        signal: AbortSignal.any([AbortSignal.timeout(this.options.attemptTimeoutMs ?? 10_000), this.closed.signal]),
        // The operator's own URL is trusted; a session's goes only where the allowlist lets it.
        guard: isOperatorUrl(delivery.url, this.options) ? undefined : this.guard,
      });
      result = { status };
    } catch (error) {
      if (this.closed.signal.aborted) {
        await this.store.release(delivery.id, this.claimant);
        return;
      }
      if (error instanceof WebhookRefused) result = { refused: error.message };
      else {
        // A timeout's reason is its cause.
        const text =
          error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
        // Stored and logged: never with the URL's query or credentials, should an error quote it.
        result = { error: text.split(delivery.url).join(shown(delivery.url)) };
      }
    }
    const attempts = delivery.attempts + 1;
    const outcome = afterAttempt(attempts, result, this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS);
    const kept = await this.store.settle(delivery.id, this.claimant, outcome);
    this.report(delivery, attempts, result, outcome, kept);
  }

  private report(
    delivery: WebhookDelivery,
    attempts: number,
    result: AttemptResult,
    outcome: WebhookOutcome,
    kept: boolean,
  ): void {
    const what = `webhook ${shown(delivery.url)} for run ${delivery.run} of session '${delivery.session}' (delivery ${delivery.id})`;
    if (kept) this.attempted(outcome.state === 'pending' ? 'retried' : outcome.state);
    if (!kept) {
      this.logger.warn(`${what}: attempt ${attempts} outlasted its claim; another sender has it now`);
    } else if (outcome.state === 'pending') {
      this.logger.info(`${what}: attempt ${attempts} failed (${outcome.error}); next in ${outcome.retryInMs} ms`);
    } else if (outcome.state === 'given_up') {
      this.logger.warn(
        'refused' in result
          ? `${what} was not sent (${result.refused}); not retried`
          : isRetryable(result)
            ? `${what} failed ${attempts} times (last: ${outcome.error}); given up`
            : `${what} refused the notice (${outcome.error}); not retried`,
      );
    } else if (attempts > 1) {
      this.logger.info(`${what}: delivered at attempt ${attempts}`);
    }
  }

  /** Finished deliveries are kept for a while (to look at), not for ever. */
  private async prune(): Promise<void> {
    if (Date.now() - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = Date.now();
    await this.store.prune({
      olderThanMs: this.options.keepFinishedMs ?? 7 * 24 * 3600_000,
      keep: this.options.keepFinished ?? 1000,
    });
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
