import { join } from 'node:path';
import type { components, operations } from '../../sdk/generated/runtime.js';

type SessionChange = components['schemas']['SessionChange'];
import { createApp } from '../common/http/app.js';
import { unprocessable } from '../common/contract/problem.js';
import type { Handlers } from '../common/http/operations.js';
import { openSse } from '../common/http/sse.js';
import { serveLocked, VERSION, type CommonServerOptions, type RunningServer } from '../common/http/server.js';
import { registryBlueprints } from './registry-blueprints.js';
import { ApprovalService } from './approvals.js';
import { approvalHandlers } from './approval-handlers.js';
import { writeRuntimeUrl } from '../common/storage/runtime-url.js';
import { SessionService, type BlueprintSource } from './session-service.js';
import { openRuntimeStore } from './store/select-store.js';
import {
  cliBinsFromEnv,
  createExecutor,
  executorOptionsFromEnv,
  type ExecutorOptions,
  type RunHooks,
} from '../executor/index.js';
import { findClis } from '../executor/clis/index.js';
import { localRunPort } from './run-port.js';
import { DEFAULT_LEASE_SECONDS } from './leases.js';
import { RunLeases } from './run-leases.js';
import { runnerHandlers } from './runner-handlers.js';
import { defaultRunnerName } from './runner-name.js';
import { Callbacks } from './callbacks.js';
import { LimitGuard } from './limit-guard.js';
import { describeAllowlist, runEndDeliveries, sessionWebhookCheck, type WebhookOptions } from './webhooks.js';
import { WebhookSender } from './webhook-sender.js';
import { dashboardFiles, defaultDashboardDir } from './dashboard-files.js';
import { registryProxy, REGISTRY_PREFIX } from './registry-proxy.js';
import { runtimeInfo, type RuntimeInfo } from './runtime-info.js';
import { runtimeDocument } from '../common/contract/contract.js';
import { metricsResponse, ServerMetrics } from '../common/telemetry/metrics.js';
import { RuntimeMetrics } from './runtime-metrics.js';
import { runLog } from './run-log.js';
import { tracingEnabled } from '../common/telemetry/trace-ids.js';
import type { Tracing } from '../common/telemetry/tracing.js';
import { WarmResumes } from './warm-resumes.js';
import { RunnerPools } from './runner-pools.js';
import { WarmCredentials } from './warm-credentials.js';
import { agentOf } from './agent-credentials.js';
import { Scopes } from './scope.js';
import { Tokens } from './tokens.js';
import type { AuditLog } from '../common/audit/audit-log.js';
import { runtimeAuditLog } from './audit.js';
import { accessHandlers } from './access-handlers.js';
import { DashboardLogins, SESSION_COOKIE } from './dashboard-login.js';
import { isAgent, principalOf } from '../common/http/principal.js';
import { lastRun } from './session-store.js';
import type { GitHubOptions } from './pull-request.js';
import { Scheduler } from './scheduler.js';
import { scheduleHandlers } from './schedule-handlers.js';
import { openScheduleStores } from './store/schedule-store.js';
import { Triggers } from './triggers.js';
import { UsageLimitWaiter } from './usage-limit-waiter.js';
import { StallWatchdog } from './stall-watchdog.js';
import { DEFAULT_LIMIT_POLICY, type LimitPolicy } from './usage-limits.js';

export interface RuntimeOptions extends CommonServerOptions {
  /** The Agent Registry that blueprints are read from. */
  registryUrl: URL;
  /** Directory a session works in when none is given. Default: the runtime's working directory. */
  defaultProjectDir?: string;
  /**
   * `local` (default) runs Claude Code here; `none` leaves runs queued for an executor that runs
   * elsewhere and reports through `POST /sessions/{name}/events`.
   */
  executor?: 'local' | 'none';
  executorOptions?: Partial<ExecutorOptions>;
  /** Where to notify when runs end (AGENT_ORCHESTRATOR_WEBHOOK_URL, _SECRET). */
  webhooks?: WebhookOptions;
  /** Replaces the registry client (tests of the runtime alone). */
  blueprints?: BlueprintSource;
  /** The built dashboard served at `/`. Default: dist/dashboard of this package. */
  dashboardDir?: string;
  /** How long a runner's lease on a run lasts without a heartbeat (AGENT_ORCHESTRATOR_LEASE_SECONDS). */
  leaseSeconds?: number | undefined;
  /** The name of this runtime's own runner in leases; stable per data dir by default. */
  runnerName?: string | undefined;
  /** Where pull requests are opened, and the token (AGENT_ORCHESTRATOR_GITHUB_API_URL, _TOKEN). */
  github?: GitHubOptions;
  /** Counts for `GET /metrics` (default true; false only to measure what counting costs, bench/events.ts). */
  metrics?: boolean;
  /** How sessions are resumed after the account's usage limit (AGENT_ORCHESTRATOR_USAGE_LIMIT_MARGIN_SECONDS; usage-limits.ts). */
  usageLimits?: Partial<LimitPolicy> & { rescanMs?: number };
  /** How often the stall watchdog looks at the running runs (stall-watchdog.ts; default 5 s). */
  stallCheckMs?: number;
}

export interface RunningRuntime extends RunningServer {
  sessions: SessionService;
  /** Where the dashboard answers, or undefined when it has not been built. */
  dashboardUrl: string | undefined;
  /** A one-time login link to the dashboard for the admin (`aof up` prints one), or undefined when it is not built. */
  loginLink(): string | undefined;
}

export async function startRuntime(options: RuntimeOptions): Promise<RunningRuntime> {
  let sessions!: SessionService;
  // Known before listening unless the port is picked then (0): runs re-queued at start-up wait for it.
  let agentUrl = options.url.port === '0' ? '' : options.url.origin;
  let approvals!: ApprovalService;
  let logins!: DashboardLogins;
  let tracing: Tracing | undefined;
  const dashboard = dashboardFiles(options.dashboardDir ?? defaultDashboardDir(), [
    ...Object.keys(runtimeDocument.paths),
    REGISTRY_PREFIX,
  ]);
  const server = await serveLocked(options, 'runtime', 'Agent Runtime', async () => {
    const opened = await openRuntimeStore(options);
    const runnerName = options.runnerName ?? defaultRunnerName(options.dataDir);
    // Counters carry this process's name as runners know it: stable per data dir, across restarts.
    const metrics =
      options.metrics === false ? undefined : new RuntimeMetrics(new ServerMetrics(runnerName), opened, options.logger);
    const store = metrics ? metrics.timedStore(opened) : opened;
    // The OpenTelemetry SDK is loaded only when traces are on.
    tracing = tracingEnabled()
      ? (await import('../common/telemetry/tracing.js')).startTracing('aof-runtime')
      : undefined;
    const blueprints = options.blueprints ?? registryBlueprints(options.registryUrl, options.token);
    sessions = new SessionService(
      store,
      blueprints,
      options.defaultProjectDir ?? process.cwd(),
      join(options.dataDir, 'worktrees'),
    );
    if (metrics) sessions.useRunObserver(metrics);
    if (tracing) {
      const { RunTracing } = await import('./run-tracing.js');
      sessions.useRunObserver(new RunTracing(tracing, (name) => sessions.getStored(name), options.logger));
    }
    sessions.useRunObserver(runLog(options.logger));
    const { rescanMs, ...limitPolicy } = options.usageLimits ?? {};
    sessions.limitPolicy = { ...DEFAULT_LIMIT_POLICY, ...limitPolicy };
    const limitWaiter = new UsageLimitWaiter(sessions, {
      policy: sessions.limitPolicy,
      logger: options.logger,
      ...(rescanMs ? { rescanMs } : {}),
    });
    sessions.useRunObserver({ started() {}, firstEvent() {}, ended: (s, r) => limitWaiter.ended(s, r) });
    sessions.useMergeReport((name, into, outcome) => {
      if ('merged' in outcome)
        options.logger.info(
          `merged session '${name}' into '${into}' after its run resolved the conflict (now at ${outcome.merged.commit.slice(0, 12)})`,
        );
      else if ('resolving' in outcome)
        options.logger.info(
          `merging session '${name}' into '${into}' still conflicts in ${outcome.resolving.files.join(', ')}; sent back to it again (run ${outcome.resolving.run})`,
        );
      else options.logger.warn(`merging session '${name}' into '${into}' again failed: ${outcome.failed}`);
    });
    approvals = await ApprovalService.open(store.approvals, sessions, options.logger);
    const guard = new LimitGuard(sessions, options.logger);
    const warmCredentials = new WarmCredentials(options.dataDir);
    const runnerPools = new RunnerPools();
    const hooks: RunHooks = {
      started: (spec, startedAt) => guard.started(spec.session, startedAt),
      progressed: (spec, parser) => guard.noted(spec.session, parser.billedUsage(), parser.turns),
      warm: {
        credential: (slot) => warmCredentials.mint(slot),
        bind: (name, run, credential) =>
          warmCredentials.bind(name, run, credential, (hash) =>
            sessions.updateRun(name, run, (stored) => {
              stored.credential_hash = hash;
            }),
          ),
        awaitsCallbacks: (name) => sessions.awaitsCallbacks(name),
      },
    };
    const callbacks = new Callbacks(store.callbacks, sessions, options.logger, { shared: store.notices !== undefined });
    const webhookUrl = options.webhooks?.url;
    sessions.useWebhookCheck(sessionWebhookCheck(options.webhooks ?? {}));
    options.logger.info(describeAllowlist(options.webhooks ?? {}));
    const webhooks = new WebhookSender(store.webhooks, options.webhooks ?? {}, options.logger, (outcome) =>
      metrics?.webhookAttempt(outcome),
    );
    // The sender looks at the outbox once a run's end stored notices there (and on its own timer).
    sessions.useWebhooks(
      (session, run) => runEndDeliveries(webhookUrl, session, run),
      () => webhooks.wake(),
    );
    const stopListening = [callbacks.listen()];
    // What was pending when the runtime last stopped (or crashed) is sent again.
    webhooks.start();
    const maxConcurrent = options.executorOptions?.maxConcurrent ?? executorOptionsFromEnv().maxConcurrent;
    const leaseMs = (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
    const leases = new RunLeases(sessions, {
      maxConcurrent,
      leaseMs,
      logger: options.logger,
      // A resume a runner started ahead waits a moment for it (runners heard from within three leases).
      warmResumes: new WarmResumes(
        async (name) => {
          const stored = await sessions.getStored(name);
          return stored ? lastRun(stored) : undefined;
        },
        (runner, now) => runnerPools.keepsWarm(runner, now, 3 * leaseMs),
      ),
      // Limits hold for runs on runners elsewhere too: they report what the run was billed so far.
      watch: {
        started: (session, run) => guard.started(session.name, run.started_at, session),
        progressed: (name, usage, turns) => guard.noted(name, usage, turns),
      },
    });
    // The account's queued runs wait while a usage limit holds it.
    leases.useHolds(() => limitWaiter.claimable());
    let executor: Awaited<ReturnType<typeof createExecutor>> | undefined;
    if (options.executor !== 'none') {
      // Which agent CLIs this host has: the runs of the others wait for a runner that has them.
      const settings = { ...executorOptionsFromEnv(), ...options.executorOptions };
      const clis = await findClis(
        { ...cliBinsFromEnv(settings.env), ...settings.cliBins, claude: settings.claudeBin },
        settings.env.PATH,
      );
      options.logger.info(clis.summary);
      executor = await createExecutor(
        localRunPort(
          sessions,
          leases,
          runnerName,
          { runtimeUrl: () => agentUrl, tracing: tracing !== undefined },
          clis.tags,
        ),
        { dataDir: options.dataDir, logger: options.logger, ...options.executorOptions },
        hooks,
      );
    }
    if (executor) sessions.useScheduler(executor);
    // After the re-adoption above: this runtime's own leases are renewed before any is judged expired.
    leases.startSweeping();
    await callbacks.recover();
    // Every runtime process fires schedules; the store lets one make each firing.
    const scheduleStores = await openScheduleStores(options);
    const checkAgent = async (name: string) => {
      const found = await blueprints.find(name);
      if (!found)
        throw unprocessable('body.agent', `Agent '${name}' not found in the Agent Registry`, 'agent-not-found');
      if (found.status !== 'active')
        throw unprocessable('body.agent', `Agent '${name}' is inactive; activate it first`, 'agent-inactive');
    };
    const scheduler = new Scheduler(scheduleStores.schedules, sessions, {
      claimant: runnerName,
      claimMs: (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000,
      logger: options.logger,
      checkAgent,
    });
    const triggers = new Triggers(scheduleStores.triggers, sessions, checkAgent);
    scheduler.start();
    limitWaiter.start();
    const watchdog = new StallWatchdog(sessions, options.logger, options.stallCheckMs);
    watchdog.start();
    const scopes = new Scopes(sessions, approvals);
    const tokens = new Tokens(store.tokens);
    const audit = runtimeAuditLog(
      store.audit,
      options.logger,
      async (id) => (await store.approvals.get(id))?.session ?? null,
    );
    logins = new DashboardLogins({ token: options.token, principalOfToken: (hash) => tokens.principalOfHash(hash) });
    const app = createApp<operations>({
      api: 'runtime',
      handlers: {
        ...runtimeHandlers(sessions, callbacks, scopes, audit, () =>
          runtimeInfo({
            ...options,
            sessions,
            executor,
            maxConcurrent,
            runnerPools: () => runnerPools.list(Date.now(), 3 * leases.leaseSeconds * 1000),
          }),
        ),
        ...accessHandlers(audit, logins),
        getMetrics: () => metricsResponse(metrics?.server),
        createPullRequest: async ({ path, body }) => ({
          status: 201,
          body: await sessions.pullRequest(path.name, body ?? {}, options.github ?? {}),
        }),
        ...approvalHandlers(approvals, scopes),
        ...runnerHandlers(leases, { tracing: tracing !== undefined, warm: warmCredentials, pools: runnerPools }),
        ...scheduleHandlers(scheduler, triggers),
        listTokens: async () => ({ status: 200, body: { tokens: await tokens.list() } }),
        createToken: async ({ body }) => ({ status: 201, body: await tokens.create(body.name, body.role) }),
        revokeToken: async ({ path }) => {
          await tokens.revoke(path.name);
          return { status: 204, body: undefined };
        },
      },
      security: {
        url: options.url,
        allowedOrigins: options.allowedOrigins ?? [],
        allowedHosts: options.allowedHosts,
        token: options.token,
        authenticate: async (credential) =>
          (await agentOf(
            credential,
            (name) => sessions.getStored(name),
            (given) => warmCredentials.bindingOf(given),
          )) ??
          (await tokens.principalOf(credential)) ??
          (await logins.principalOf(credential, Date.now())),
        sessionCookie: { name: SESSION_COOKIE, authenticate: (value) => logins.principalOf(value, Date.now()) },
        // The dashboard's files and its sign-in link, and events for triggers: those carry a signature instead of a token.
        isPublic: (ctx) =>
          dashboard.serves(ctx) ||
          (ctx.method === 'GET' && ctx.path === '/login') ||
          (ctx.method === 'POST' && /^\/triggers\/[^/]+$/.test(ctx.path)),
      },
      authorize: scopes.authorize(),
      afterOperation: audit.after,
      logger: options.logger,
      metrics: metrics?.server,
      tracing,
      extras: [dashboard.middleware, registryProxy(options.registryUrl, SESSION_COOKIE)],
    });
    // Agents keep going without us: a restarted runtime re-adopts them.
    return {
      app,
      onClose: async () => {
        stopListening.forEach((off) => {
          off();
        });
        await scheduler.close();
        await limitWaiter.close();
        await watchdog.close();
        await scheduleStores.close();
        await webhooks.close();
        approvals.close();
        await leases.stop();
        await callbacks.close();
        await executor?.detach();
        await store.close();
        await tracing?.close();
      },
      // Where the permission tools of running agents find this runtime, after a restart on another port too.
      onListening: (url) => writeRuntimeUrl(options.dataDir, url),
    };
  });
  agentUrl = server.url;
  const dashboardUrl = dashboard.available ? `${server.url}/` : undefined;
  options.logger.info(dashboardUrl ? `Dashboard at ${dashboardUrl}` : 'Dashboard not built (npm run build)');
  const loginLink = () => {
    if (!dashboardUrl) return undefined;
    return `${server.url}/login?code=${logins.newCode({ admin: true }, Date.now()).code}`;
  };
  return { ...server, sessions, dashboardUrl, loginLink };
}

function runtimeHandlers(
  sessions: SessionService,
  callbacks: Callbacks,
  scopes: Scopes,
  audit: AuditLog,
  info: () => Promise<RuntimeInfo>,
): Omit<
  Handlers<operations>,
  | keyof ReturnType<typeof approvalHandlers>
  | keyof ReturnType<typeof accessHandlers>
  | keyof ReturnType<typeof runnerHandlers>
  | keyof ReturnType<typeof scheduleHandlers>
  | 'listTokens'
  | 'createToken'
  | 'revokeToken'
  | 'getMetrics'
  | 'createPullRequest'
> {
  return {
    getHealth: () => ({ status: 200, body: { status: 'ok', service: 'agent-runtime', version: VERSION } }),
    getRuntimeInfo: async () => ({ status: 200, body: await info() }),
    whoAmI: ({ ctx }) => ({ status: 200, body: principalOf(ctx) }),
    listSessions: async ({ query, ctx }) => {
      // An agent's pages hold only its subtree, filtered before paging (so they are full), and its counts are of its subtree.
      const visible = await scopes.visible(principalOf(ctx));
      const page = await sessions.list({
        limit: query.limit,
        cursor: query.cursor,
        states: query.state,
        agent: query.agent,
        prefix: query.prefix,
        project_dir: query.project_dir,
        waiting: query.waiting,
        parent: query.parent,
        names: visible,
      });
      if (!visible) return { status: 200, body: page };
      const counts = { queued: 0, running: 0, finished: 0, failed: 0, stopped: 0 };
      for (const name of visible) {
        const stored = await sessions.getStored(name);
        if (stored) counts[lastRun(stored).state]++;
      }
      return {
        status: 200,
        body: { ...page, counts },
      };
    },
    createSession: async ({ body, ctx }) => {
      const session = await sessions.create(body, principalOf(ctx));
      return { status: 201, body: session, headers: { Location: `/sessions/${session.name}` } };
    },
    pruneSessions: async ({ body, ctx }) => {
      const deleted = await sessions.prune(body, principalOf(ctx));
      // The audit log is kept as long as the sessions it is about: what is older than `before` goes too.
      if (body.before !== undefined) await audit.prune(body.before);
      return { status: 200, body: { deleted } };
    },
    deleteAllSessions: async ({ ctx }) => ({ status: 200, body: { deleted: await sessions.clean(principalOf(ctx)) } }),
    getSession: async ({ path }) => ({ status: 200, body: await sessions.get(path.name) }),
    deleteSession: async ({ path, query, ctx }) => {
      await sessions.delete(path.name, {
        tree: query.tree === true,
        discard: query.discard === true,
        by: principalOf(ctx),
      });
      return { status: 204, body: undefined };
    },
    getSessionStatus: async ({ path, query }) => ({ status: 200, body: await sessions.status(path.name, query.wait) }),
    getSessionResult: async ({ path }) => ({ status: 200, body: await sessions.result(path.name) }),
    resumeSession: async ({ path, body }) => ({ status: 202, body: await sessions.resume(path.name, body.prompt) }),
    forkSession: async ({ path, body, ctx }) => {
      const session = await sessions.fork(path.name, body, principalOf(ctx));
      return { status: 201, body: session, headers: { Location: `/sessions/${session.name}` } };
    },
    stopSession: async ({ path, query, ctx }) => ({
      status: 200,
      body: await sessions.stop(path.name, { tree: query.tree === true, by: principalOf(ctx) }),
    }),
    getSessionTree: async ({ path }) => ({ status: 200, body: await sessions.tree(path.name) }),
    getSessionChanges: async ({ path, query }) => ({
      status: 200,
      body: await sessions.changes(path.name, {
        file: query.file,
        stat: query.stat === true,
        maxBytes: query.max_bytes,
      }),
    }),
    listSessionCheckpoints: async ({ path }) => ({ status: 200, body: await sessions.checkpoints(path.name) }),
    mergeSession: async ({ path, body }) => {
      const result = await sessions.merge(path.name, body);
      return 'resolving' in result ? { status: 202, body: result } : { status: 200, body: result };
    },
    reviewSession: async ({ path, body }) => ({ status: 202, body: await sessions.review(path.name, body) }),
    mergeChildren: async ({ path, body }) => ({
      status: 200,
      body: await sessions.mergeChildren(path.name, body.into),
    }),
    listSessionCallbacks: async ({ path }) => {
      await sessions.get(path.name);
      return { status: 200, body: { callbacks: await callbacks.list(path.name) } };
    },
    listSessionEvents: async ({ path, query }) => ({
      status: 200,
      body: await sessions.events(path.name, query.after ?? 0, query.limit ?? 100),
    }),
    appendSessionEvents: async ({ path, body }) => ({
      status: 201,
      body: { events: await sessions.record(path.name, body.events) },
    }),
    streamSessionEvents: async ({ path, query, headers, ctx }) => {
      const name = path.name;
      await sessions.get(name); // 404 before the stream opens
      const lastEventId = headers['last-event-id'];
      const { channel, result } = openSse(ctx);
      const unfollow = sessions.follow(name, {
        events: {
          after: lastEventId !== undefined ? Number(lastEventId) : (query.after ?? 0),
          send: (event) => channel.send({ id: event.seq, event: event.type, data: event }),
        },
        ended: () => channel.end(),
      });
      channel.onClose(unfollow);
      return result;
    },
    getUsage: async ({ query, ctx }) => {
      const asked = query.sessions ? new Set(query.sessions.split(',').filter(Boolean)) : undefined;
      const visible = await scopes.visible(principalOf(ctx));
      return {
        status: 200,
        body: await sessions.usage({
          agent: query.agent,
          sessions: visible ? new Set([...(asked ?? visible)].filter((name) => visible.has(name))) : asked,
        }),
      };
    },
    streamSessionChanges: ({ ctx }) => {
      const { channel, result } = openSse(ctx);
      const principal = principalOf(ctx);
      // An agent hears of its subtree only; the checks run one after the other, so changes keep their order.
      let sending = Promise.resolve();
      const send = (change: SessionChange) => channel.send({ event: 'session', data: change });
      const off = sessions.onChange((change) => {
        if (!isAgent(principal)) return send(change);
        sending = sending
          .then(async () => {
            if (await scopes.within(change.name, principal.name, false)) send(change);
          })
          .catch(() => undefined);
      });
      // Changes are not stored, so what other processes changed meanwhile cannot be replayed: the
      // stream ends, and its client lists again (as after any drop) instead of missing them unaware.
      const offResync = sessions.onResync(() => channel.end());
      channel.onClose(() => {
        off();
        offResync();
      });
      return result;
    },
  };
}
