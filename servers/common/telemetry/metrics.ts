/**
 * Metrics for Prometheus (prom-client). Two registries: what this process counted carries an
 * `instance` label (counters and histograms are per process: sum them over instances), what is read
 * from the shared store at scrape time does not (every replica answers the same: take one, or `max`).
 */
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { notFound } from '../contract/problem.js';

/** Seconds, from a few milliseconds (a store read, a warm start) to an hour (a long run). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Seconds, for HTTP requests and store operations: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

let processRegistry: Registry | undefined;

/**
 * Node's own metrics (event-loop delay, memory, CPU, handles), collected once per process however many
 * servers it runs: each collector keeps a timer of its own for as long as the process lives (the
 * event-loop delay monitor wakes every 10 ms, and prom-client has no way to stop it), so one per server
 * would leave one behind every server closed. The delay keeps prom-client's sampling (10 ms): Node
 * records each sample's whole interval, so the standard `nodejs_eventloop_lag_*` values, and alerts on
 * them, mean what they mean everywhere.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class ServerMetrics {
  /** Counted by this process; every series carries `instance`. */
  readonly local = new Registry();
  /** Read from the store at scrape time, the same on every replica. */
  readonly shared = new Registry();
  private readonly httpRequests: Counter<'operation' | 'status'>;
  private readonly httpDuration: Histogram<'operation'>;
  private readonly storeDuration: Histogram<'operation'>;

  constructor(readonly instance: string) {
    this.local.setDefaultLabels({ instance });
    // Node's own (event-loop delay, memory, CPU, handles) under their standard names, with this
    // server's `instance` label: the process's collectors, shown by each of its servers.
    // (getMetricsAsArray is typed as plain objects; they are the metrics themselves.)
    for (const metric of processMetrics().getMetricsAsArray()) this.local.registerMetric(metric as unknown as Metric);
    this.httpRequests = new Counter({
      name: 'aof_http_requests_total',
      help: 'HTTP requests answered, by operation (the contract operationId, "other" for the rest) and status',
      labelNames: ['operation', 'status'],
      registers: [this.local],
    });
    this.httpDuration = new Histogram({
      name: 'aof_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (to the start of the stream for event streams), by operation',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers: [this.local],
    });
    this.storeDuration = new Histogram({
      name: 'aof_store_operation_duration_seconds',
      help: 'Time a store operation took (an exclusive write includes its work), by operation',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers: [this.local],
    });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.local] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.local] });
  }

  /** A gauge of shared state; `read` runs at each scrape. */
  sharedGauge<L extends string>(
    name: string,
    help: string,
    read: (gauge: Gauge<L>) => Promise<void>,
    labelNames: readonly L[] = [],
  ): Gauge<L> {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.shared],
      async collect() {
        await read(this);
      },
    });
  }

  observeRequest(operation: string, status: number, seconds: number): void {
    this.httpRequests.inc({ operation, status: String(status) });
    this.httpDuration.observe({ operation }, seconds);
  }

  /** `target` with each method call timed as `<name>.<method>` (promises until they settle). */
  timed<T extends object>(target: T, name: string): T {
    const histogram = this.storeDuration;
    const wrappers = new Map<PropertyKey, unknown>();
    return new Proxy(target, {
      get(object, key, receiver) {
        const value = Reflect.get(object, key, receiver);
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        let wrapper = wrappers.get(key);
        if (!wrapper) {
          const child = histogram.labels({ operation: `${name}.${key}` });
          wrapper = function (this: unknown, ...args: unknown[]) {
            const started = performance.now();
            const result = (value as (...a: unknown[]) => unknown).apply(object, args);
            if (result instanceof Promise) {
              const done = () => child.observe((performance.now() - started) / 1000);
              result.then(done, done);
            } else {
              child.observe((performance.now() - started) / 1000);
            }
            return result;
          };
          wrappers.set(key, wrapper);
        }
        return wrapper;
      },
    });
  }

  get contentType(): string {
    return this.local.contentType;
  }

  /** The exposition text: this process's metrics, then the shared gauges. */
  async text(): Promise<string> {
    const [local, shared] = await Promise.all([this.local.metrics(), this.shared.metrics()]);
    return shared ? `${local}\n${shared}` : local;
  }
}

/**
 * A label whose values are bounded: the first `max` distinct values are kept, later ones read
 * `other`; an empty value reads `none`.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  of(value: string | null | undefined): string {
    if (!value) return 'none';
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}

/** `GET /metrics` of either server. */
export async function metricsResponse(metrics: ServerMetrics | undefined) {
  if (!metrics) throw notFound('This server was started without metrics');
  return { status: 200 as const, text: await metrics.text(), contentType: metrics.contentType };
}
