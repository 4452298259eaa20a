/**
 * Server-Sent Events as async iterables. `for await (const e of stream)` reads; `break` (or
 * `stream.abort()`) closes the HTTP request. A dropped connection can be resumed with
 * `Last-Event-ID`, so the caller sees each event once and in order.
 */
import { ConnectionError, type ServiceName } from './errors.js';
import { backoffMs } from './backoff.js';

/** One parsed SSE message. */
export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** Opens the stream; `lastEventId` is the id of the last message seen, on reconnects. */
export type Connect = (
  signal: AbortSignal,
  lastEventId: string | undefined,
) => Promise<ReadableStream<Uint8Array> | null>;

export interface ReconnectOptions {
  /** Reconnect after a drop, sending `Last-Event-ID`. When false, a drop ends the stream with a ConnectionError. */
  resume: boolean;
  /** How many reconnects in a row may fail before giving up. Default 5. */
  maxRetries?: number | undefined;
  /** The first wait before reconnecting, doubled on each failure up to 5 s. Default 250 ms (the server's `retry:` wins). */
  retryDelayMs?: number | undefined;
  /** Told before each reconnect, with what broke the connection (e.g. to say the server is unreachable). */
  onRetry?: ((error: unknown) => void) | undefined;
}

/**
 * An async iterable over one live stream. It can be iterated once. The request is cancelled when
 * the loop ends early (`break`, `return`, a throw in the loop body), on `abort()`, or when the
 * `signal` given to the SDK aborts (then the loop throws that signal's reason, like fetch does).
 */
export class EventStream<T> implements AsyncIterable<T> {
  readonly controller = new AbortController();
  private started = false;
  private readonly forwardAbort = () => this.controller.abort(this.signal?.reason);

  constructor(
    private readonly produce: (signal: AbortSignal) => AsyncGenerator<T, void, undefined>,
    private readonly signal?: AbortSignal | undefined,
  ) {
    if (signal?.aborted) this.controller.abort(signal.reason);
    else signal?.addEventListener('abort', this.forwardAbort, { once: true });
  }

  /** Closes the stream; a loop waiting for the next event ends quietly. */
  abort(): void {
    this.controller.abort();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.started) throw new Error('An EventStream can be iterated only once; ask the SDK for a new one');
    this.started = true;
    return this.run();
  }

  private async *run(): AsyncGenerator<T, void, undefined> {
    const signal = this.controller.signal;
    try {
      yield* this.produce(signal);
    } catch (error) {
      if (!signal.aborted) throw error;
      // Aborted by the caller's signal: surface it. Aborted by break/abort(): end quietly.
      if (this.signal?.aborted) throw this.signal.reason;
    } finally {
      this.controller.abort();
      this.signal?.removeEventListener('abort', this.forwardAbort);
    }
  }
}

const STABLE_MS = 10_000;

/** Connects, parses, and (when `resume`) reconnects after drops with bounded retries. */
export async function* followSse(
  service: ServiceName,
  baseUrl: string,
  connect: Connect,
  signal: AbortSignal,
  options: ReconnectOptions,
): AsyncGenerator<SseMessage, void, undefined> {
  // Loaded on first use: the CLI imports the SDK on every call and most calls never stream.
  const { createParser } = await import('eventsource-parser');
  const maxRetries = options.maxRetries ?? 5;
  let delayMs = options.retryDelayMs ?? 250;
  let lastEventId: string | undefined;
  let failures = 0;
  let connected = false;

  for (;;) {
    let dropped: unknown = new Error('the server closed the stream');
    let body: ReadableStream<Uint8Array> | null = null;
    try {
      body = await connect(signal, lastEventId);
      connected = true;
    } catch (error) {
      // Failing to connect at first, or an HTTP error (404, 401, ...), is an answer, not a drop.
      if (!connected || !options.resume || !(error instanceof ConnectionError)) throw error;
      dropped = error;
    }

    if (body) {
      const connectedAt = Date.now();
      let progressed = false;
      const reader = body.getReader();
      const decoder = new TextDecoder();
      const queue: SseMessage[] = [];
      const parser = createParser({
        onEvent: (m) => queue.push({ id: m.id, event: m.event, data: m.data }),
        onRetry: (ms) => {
          delayMs = ms;
        },
      });
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(decoder.decode(value, { stream: true }));
          while (queue.length) {
            const message = queue.shift()!;
            if (message.id !== undefined) lastEventId = message.id;
            progressed = true;
            yield message;
          }
        }
      } catch (error) {
        if (signal.aborted) throw error;
        dropped = error;
      } finally {
        // On break this runs with the request still open: cancelling the reader closes it.
        reader.cancel().catch(() => {});
      }
      // A connection that delivered messages, or stayed up a while (a quiet stream that a proxy
      // cut), was a success: the retry budget starts over. One that keeps dropping at once does not.
      if (progressed || Date.now() - connectedAt >= STABLE_MS) failures = 0;
    }

    if (signal.aborted) throw signal.reason;
    if (!options.resume) {
      throw new ConnectionError(service, baseUrl, dropped, `Lost the event stream from ${service} at ${baseUrl}`);
    }
    if (failures >= maxRetries) {
      throw dropped instanceof ConnectionError
        ? dropped
        : new ConnectionError(
            service,
            baseUrl,
            dropped,
            `Lost the event stream from ${service} at ${baseUrl} and could not resume it after ${maxRetries} attempts`,
          );
    }
    failures++;
    options.onRetry?.(dropped);
    await sleep(backoffMs(failures - 1, delayMs), signal);
  }
}

/** Waits `ms`; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
