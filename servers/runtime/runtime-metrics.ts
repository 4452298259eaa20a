/**
 * The runtime's metrics: what this process saw runs do (started, ended, tokens, cost, durations),
 * webhook attempts and store latency, per process; and, read from the store at each scrape, the state
 * every replica shares (queue, runs in flight, runners, approvals, callbacks, webhook backlog).
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { Logger } from '../common/logger.js';
import { BoundedLabel, DURATION_BUCKETS, type ServerMetrics } from '../common/telemetry/metrics.js';
import { isLeased } from './leases.js';
import { type Event, lastRun, type RunState, type StoredRun, type StoredSession } from './session-store.js';
import type { ExclusiveTx, RuntimeStore } from './store/interfaces.js';

/** What the session service tells about runs as their changes are kept (SessionService.useRunObserver). */
export interface RunObserver {
  started(session: StoredSession, run: StoredRun): void;
  /** The agent's first event of the run (its process is up and talking). */
  firstEvent(session: StoredSession, run: StoredRun): void;
  ended(session: StoredSession, run: StoredRun): void;
  /** Events recorded for the run (tool calls, for their spans). */
  recorded?(session: StoredSession, run: StoredRun, events: Event[]): void;
}

export type WebhookAttemptOutcome = 'delivered' | 'retried' | 'given_up';

/** Distinct blueprints and models named in labels; more read `other`. */
const MAX_BLUEPRINTS = 50;
const MAX_MODELS = 20;

const TOKEN_KINDS = [
  ['input', 'input_tokens'],
  ['output', 'output_tokens'],
  ['cache_creation', 'cache_creation_input_tokens'],
  ['cache_read', 'cache_read_input_tokens'],
] as const;

interface SharedState {
  queued: number;
  running: number;
  runnersLive: number;
  claims: number;
  approvalsPending: number;
  callbacksPending: number;
  webhooksPending: number;
  sessions: Record<RunState, number>;
}

export class RuntimeMetrics implements RunObserver {
  private readonly blueprints = new BoundedLabel(MAX_BLUEPRINTS);
  private readonly models = new BoundedLabel(MAX_MODELS);
  private readonly runsStarted: Counter<'blueprint'>;
  private readonly runsEnded: Counter<'state' | 'blueprint'>;
  private readonly tokens: Counter<'kind' | 'model'>;
  private readonly cost: Counter<'blueprint' | 'model'>;
  private readonly runDuration: Histogram<'state'>;
  private readonly firstEventDelay: Histogram<never>;
  private readonly webhookAttempts: Counter<'outcome'>;
  private reading: Promise<SharedState | null> | undefined;

  constructor(
    readonly server: ServerMetrics,
    private readonly store: RuntimeStore,
    private readonly logger: Logger,
  ) {
    const m = server;
    this.runsStarted = m.counter('aof_runs_started_total', 'Runs that started (their agent is up), by blueprint', [
      'blueprint',
    ]);
    this.runsEnded = m.counter('aof_runs_ended_total', 'Runs that ended, by end state and blueprint', [
      'state',
      'blueprint',
    ]);
    this.tokens = m.counter('aof_tokens_total', 'Tokens billed to ended runs, by kind and model', ['kind', 'model']);
    this.cost = m.counter('aof_cost_usd_total', 'Cost of ended runs in US dollars, by blueprint and model', [
      'blueprint',
      'model',
    ]);
    this.runDuration = m.histogram(
      'aof_run_duration_seconds',
      'From the start of a run to its end, by end state (runs stopped in the queue are left out)',
      ['state'],
      DURATION_BUCKETS,
    );
    this.firstEventDelay = m.histogram(
      'aof_run_time_to_first_event_seconds',
      "From the start of a run (its agent's process is there) to the agent's first event",
      [],
      DURATION_BUCKETS,
    );
    this.webhookAttempts = m.counter(
      'aof_webhook_deliveries_total',
      'Webhook delivery attempts, by outcome (delivered, retried later, given up)',
      ['outcome'],
    );
    for (const outcome of ['delivered', 'retried', 'given_up'] as const) this.webhookAttempts.inc({ outcome }, 0);

    const shared = <K extends keyof SharedState>(name: string, help: string, key: K) =>
      m.sharedGauge(name, help, async (gauge: Gauge<never>) => {
        const state = await this.sharedState();
        if (state) gauge.set(state[key] as number);
      });
    shared('aof_runs_queued', 'Runs waiting for a slot or a runner, on every replica', 'queued');
    shared('aof_runs_running', 'Runs in flight, on every runner and replica', 'running');
    shared('aof_runners_live', 'Runners (runtimes included) holding a live lease on a run', 'runnersLive');
    shared('aof_runner_claims', 'Runs held under a live lease (claimed by a runner)', 'claims');
    shared('aof_approvals_pending', 'Approval requests waiting for an answer', 'approvalsPending');
    shared('aof_callbacks_pending', "Children's callbacks not yet delivered to their parents", 'callbacksPending');
    shared(
      'aof_webhook_deliveries_pending',
      'Webhook notices in the outbox not yet delivered (the backlog)',
      'webhooksPending',
    );
    m.sharedGauge(
      'aof_sessions',
      "Sessions stored, by their last run's state",
      async (gauge: Gauge<'state'>) => {
        const state = await this.sharedState();
        if (state) for (const [key, count] of Object.entries(state.sessions)) gauge.set({ state: key }, count);
      },
      ['state'],
    );
    m.sharedGauge(
      'aof_store_up',
      'Whether the store answered the reads of this scrape (1) or not (0)',
      async (gauge) => {
        gauge.set((await this.sharedState()) ? 1 : 0);
      },
    );
  }

  started(session: StoredSession): void {
    this.runsStarted.inc({ blueprint: this.blueprints.of(session.agent) });
  }

  firstEvent(_session: StoredSession, run: StoredRun): void {
    const seconds = secondsBetween(run.started_at, run.first_event_at);
    if (seconds !== null) this.firstEventDelay.observe(seconds);
  }

  ended(session: StoredSession, run: StoredRun): void {
    const blueprint = this.blueprints.of(session.agent);
    this.runsEnded.inc({ state: run.state, blueprint });
    const seconds = secondsBetween(run.started_at, run.ended_at);
    if (seconds !== null) this.runDuration.observe({ state: run.state }, seconds);
    const model = this.models.of(session.model ?? session.blueprint?.model);
    if (run.usage) {
      for (const [kind, field] of TOKEN_KINDS) {
        const count = run.usage[field];
        if (count) this.tokens.inc({ kind, model }, count);
      }
    }
    if (run.cost_usd) this.cost.inc({ blueprint, model }, run.cost_usd);
  }

  webhookAttempt(outcome: WebhookAttemptOutcome): void {
    this.webhookAttempts.inc({ outcome });
  }

  /** The store, each operation timed (`aof_store_operation_duration_seconds`). */
  timedStore(store: RuntimeStore): RuntimeStore {
    const m = this.server;
    const exclusiveTimer = m.timed({ exclusive: store.exclusive.bind(store) }, 'store');
    const tryTimer = m.timed({ tryExclusive: store.tryExclusive.bind(store) }, 'store');
    const timedTx = (tx: ExclusiveTx): ExclusiveTx => ({
      sessions: m.timed(tx.sessions, 'sessions'),
      events: m.timed(tx.events, 'events'),
      conversations: tx.conversations,
      approvals: tx.approvals,
      webhooks: tx.webhooks,
      notify: (notices) => tx.notify(notices),
      clock: () => tx.clock(),
    });
    return {
      sessions: m.timed(store.sessions, 'sessions'),
      events: m.timed(store.events, 'events'),
      conversations: m.timed(store.conversations, 'conversations'),
      approvals: m.timed(store.approvals, 'approvals'),
      tokens: m.timed(store.tokens, 'tokens'),
      audit: m.timed(store.audit, 'audit'),
      callbacks: m.timed(store.callbacks, 'callbacks'),
      webhooks: m.timed(store.webhooks, 'webhooks'),
      exclusive: (name, work) => exclusiveTimer.exclusive(name, (tx) => work(timedTx(tx))),
      tryExclusive: (name, work) => tryTimer.tryExclusive(name, (tx) => work(timedTx(tx))),
      notices: store.notices,
      clock: () => store.clock(),
      close: () => store.close(),
    };
  }

  /** One read of the store per scrape, shared by every gauge of it; null when the store did not answer. */
  private sharedState(): Promise<SharedState | null> {
    this.reading ??= this.readShared().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readShared(): Promise<SharedState | null> {
    try {
      const now = Date.now();
      const [active, approvals, callbacksPending, webhooksPending, sessions] = await Promise.all([
        this.store.sessions.page({ states: ['queued', 'running'] }, null, Number.MAX_SAFE_INTEGER),
        this.store.approvals.find({ state: 'pending' }),
        this.store.callbacks.countPending(),
        this.store.webhooks.countPending(),
        this.store.sessions.counts(),
      ]);
      const runs = active.map(lastRun);
      const leased = runs.filter((run) => isLeased(run, now));
      return {
        queued: runs.filter((run) => run.state === 'queued').length,
        running: runs.filter((run) => run.state === 'running').length,
        runnersLive: new Set(leased.map((run) => run.lease!.runner)).size,
        claims: leased.length,
        approvalsPending: approvals.length,
        callbacksPending,
        webhooksPending,
        sessions,
      };
    } catch (error) {
      this.logger.warn(`metrics: could not read the shared state from the store: ${(error as Error).message}`);
      return null;
    }
  }
}

function secondsBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : null;
}
