import type { paths as RegistryPaths } from './generated/registry.js';
import type { components, paths as RuntimePaths } from './generated/runtime.js';
import { resolveConfig, type OrchestratorOptions } from './config.js';
import { createApiClient, data } from './http.js';
import { Agents } from './resources/agents.js';
import { Approvals } from './resources/approvals.js';
import { Schedules } from './resources/schedules.js';
import { Sessions } from './resources/sessions.js';
import { Triggers } from './resources/triggers.js';
import { Tokens } from './resources/tokens.js';
import { Audit } from './resources/audit.js';
import type { Health, RuntimeInfo } from './types.js';

/**
 * The client for both servers: sessions in the Agent Runtime, blueprints in the Agent Registry.
 *
 * ```ts
 * const ao = new Orchestrator();
 * await ao.sessions.create({ name: 'fix-tests', prompt: 'Make npm test pass' });
 * const { result } = await ao.sessions.waitForResult('fix-tests');
 * ```
 *
 * Failures throw: ApiError subclasses (NotFoundError, ConflictError, ...) for error statuses,
 * ConnectionError when a server cannot be reached.
 */
export class Orchestrator {
  readonly sessions: Sessions;
  readonly agents: Agents;
  readonly approvals: Approvals;
  /** People's named tokens, for an admin. */
  readonly tokens: Tokens;
  /** Who did what: the audit logs of the runtime and the registry (people's credentials only). */
  readonly audit: Audit;
  /** Sessions started (or resumed) at set times. */
  readonly schedules: Schedules;
  /** Sessions started (or resumed) by signed events. */
  readonly triggers: Triggers;
  readonly #runtimeUrl: string;
  readonly #registryUrl: string;
  readonly #runtime;
  readonly #registry;

  constructor(options: OrchestratorOptions = {}) {
    const config = resolveConfig(options);
    this.#runtimeUrl = config.runtimeUrl;
    this.#registryUrl = config.registryUrl;
    this.#runtime = createApiClient<RuntimePaths>('Agent Runtime', config.runtimeUrl, config);
    this.#registry = createApiClient<RegistryPaths>('Agent Registry', config.registryUrl, config);
    this.sessions = new Sessions(this.#runtime, config.runtimeUrl, config.parent);
    this.agents = new Agents(this.#registry);
    this.approvals = new Approvals(this.#runtime);
    this.tokens = new Tokens(this.#runtime);
    this.audit = new Audit(this.#runtime, this.#registry);
    this.schedules = new Schedules(this.#runtime);
    this.triggers = new Triggers(this.#runtime);
  }

  /** The Agent Runtime's base URL. */
  get runtimeUrl(): string {
    return this.#runtimeUrl;
  }

  /** The Agent Registry's base URL. */
  get registryUrl(): string {
    return this.#registryUrl;
  }

  /** Who this client's credential names: a person (with a role) or an agent (its session and run). */
  whoami(): Promise<components['schemas']['Principal']> {
    return data(this.#runtime.GET('/whoami'));
  }

  /**
   * A one-time link that signs a browser in to the dashboard as this client's person (its role too),
   * good once, for two minutes; the token never goes into a URL (`aof dashboard` prints one).
   */
  loginLink(): Promise<components['schemas']['LoginLink']> {
    return data(this.#runtime.POST('/login-links'));
  }

  /** Ends the dashboard session whose cookie this client sends (the dashboard's sign-out). */
  async logout(): Promise<void> {
    await data(this.#runtime.POST('/logout'));
  }

  /** Asks both servers; throws (ConnectionError, most likely) when either is not up. */
  async health(): Promise<{ runtime: Health; registry: Health }> {
    const [runtime, registry] = await Promise.all([
      data(this.#runtime.GET('/health')),
      data(this.#registry.GET('/health')),
    ]);
    return { runtime, registry };
  }

  /**
   * The metrics of one server (`runtime`, the default, or `registry`) in Prometheus' text format, as a
   * scraper reads them from `GET /metrics` (docs/operations.md lists them).
   */
  metrics(server: 'runtime' | 'registry' = 'runtime'): Promise<string> {
    return data(
      server === 'registry'
        ? this.#registry.GET('/metrics', { parseAs: 'text' })
        : this.#runtime.GET('/metrics', { parseAs: 'text' }),
    );
  }

  /** What the runtime is doing: its concurrency cap, running runs, the queue in order, whether the registry answers. */
  runtimeInfo(): Promise<RuntimeInfo> {
    return data(this.#runtime.GET('/runtime'));
  }
}
