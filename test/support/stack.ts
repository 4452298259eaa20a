import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Orchestrator } from '../../sdk/index.js';
import type { ExecutorOptions } from '../../servers/executor/index.js';
import { startRuntime, type RunningRuntime, type RuntimeOptions } from '../../servers/runtime/server.js';
import { ensureTokenFile } from '../../servers/common/storage/token-file.js';
import type { Logger } from '../../servers/common/logger.js';
import { agentBin, claudeChildEnv, type AgentKind } from './claude-env.js';
import { startFakeModel, type FakeModel } from './fake-model.js';
import { startRuntimeProcess, type RuntimeProcess } from './runtime-process.js';
import { removeDir, startTestRegistry, tempDir, testLogger, type TestRegistry } from './servers.js';

export interface StackOptions {
  /** The agent the runtime starts: the pinned Claude Code CLI (default) or the fake agent (fake-agent.mjs). */
  agent?: AgentKind;
  executor?: 'local' | 'none';
  executorOptions?: Partial<ExecutorOptions>;
  token?: string;
  /** Run the runtime as its own process (`node dist/bin/aof.js runtime`), so a test can SIGKILL it. */
  runtimeProcess?: boolean;
  /** A command the runtime process is started through (e.g. `setpriv ...` to drop root's capabilities). */
  runtimeWrapper?: string[];
  /** Where the (in-process) runtime sends webhooks. */
  webhooks?: RuntimeOptions['webhooks'];
  /** Where the (in-process) runtime opens pull requests, and its token. */
  github?: RuntimeOptions['github'];
  /** More environment for the runtime process. */
  runtimeEnv?: Record<string, string>;
  /** A postgres:// URL: the registry and the runtime keep their data there (test/support/postgres.ts). */
  databaseUrl?: string;
  /** Where the in-process runtime writes its log (default: nowhere, or stderr with AOF_TEST_LOGS). */
  logger?: Logger;
  /** How long runners' leases last (short, so that a lost runner shows quickly). */
  leaseSeconds?: number;
  /**
   * Claude Code logs in as a subscription (CLAUDE_CODE_OAUTH_TOKEN, no API key): it then reports the
   * API's usage-limit headers as a `rate_limit_event` with the reset time (see fake-model.ts).
   */
  subscription?: boolean;
  /** How the (in-process) runtime resumes runs after a usage limit (a short margin and back-off). */
  usageLimits?: RuntimeOptions['usageLimits'];
  /** How often the (in-process) runtime's stall watchdog looks (short, so that a stall shows quickly). */
  stallCheckMs?: number;
  /** More variables for the agents (FAKE_AGENT_TURN_MS: the fake agent's pace between turns). */
  agentEnv?: Record<string, string>;
}

/**
 * Everything a session needs, real and on loopback: the Agent Registry, the Agent Runtime with its
 * local executor driving the pinned Claude Code CLI, and the fake model that CLI talks to.
 */
export class TestStack {
  runtimeUrl = '';
  runtimeChild: ChildProcess | undefined;
  private runtimeProcess: RuntimeProcess | undefined;
  private inProcessRuntime: RunningRuntime | undefined;

  private constructor(
    readonly options: StackOptions,
    readonly root: string,
    readonly registry: TestRegistry,
    readonly fake: FakeModel,
    /** The token the runtime process keeps in its data dir, when none is configured. */
    readonly fileToken?: string | undefined,
  ) {}

  /** What a person's client sends: the configured token, or the one in the data dir. */
  get token(): string | undefined {
    return this.options.token ?? this.fileToken;
  }

  static async start(options: StackOptions = {}): Promise<TestStack> {
    const root = await tempDir('aof-stack-');
    // The registry asks the runtime about agents' credentials; the runtime starts after it.
    let stack: TestStack | undefined;
    await Promise.all(['data', 'claude-config', 'project'].map((dir) => mkdir(join(root, dir))));
    // `aof` without a token keeps one in its data dir; the registry (here in process) is given it, as
    // `aof up` gives both servers the one token.
    const fileToken =
      options.runtimeProcess && !options.token ? (await ensureTokenFile(join(root, 'data'))).token : undefined;
    const registry = await startTestRegistry({
      dataDir: join(root, 'registry-data'),
      token: options.token ?? fileToken,
      databaseUrl: options.databaseUrl,
      runtimeUrl: () => stack?.runtimeUrl,
    });
    const fake = await startFakeModel();
    stack = new TestStack(options, root, registry, fake, fileToken);
    await stack.startRuntime();
    return stack;
  }

  get dataDir() {
    return join(this.root, 'data');
  }
  get configDir() {
    return join(this.root, 'claude-config');
  }
  get projectDir() {
    return join(this.root, 'project');
  }

  /** The environment of a Claude Code child: offline, against the fake model. */
  get agentEnv(): Record<string, string> {
    const env = { ...claudeChildEnv(this.fake.url, this.configDir), ...this.options.agentEnv };
    if (this.options.subscription) {
      delete env.ANTHROPIC_API_KEY;
      env.CLAUDE_CODE_OAUTH_TOKEN = 'test-subscription-token';
    }
    return env;
  }

  /** The environment of a client (an `ao-*` command): both URLs, the token, and the agent env for nested runs. */
  get clientEnv(): Record<string, string> {
    return {
      ...this.agentEnv,
      AGENT_ORCHESTRATOR_SESSION_API_URL: this.runtimeUrl,
      AGENT_ORCHESTRATOR_AGENT_API_URL: this.registry.url,
      ...(this.options.token ? { AGENT_ORCHESTRATOR_API_TOKEN: this.options.token } : {}),
      // No token configured: the commands find the one in the data dir, as a person's would.
      ...(this.fileToken ? { AGENT_ORCHESTRATOR_DATA_DIR: this.dataDir } : {}),
    };
  }

  client(): Orchestrator {
    // parent null: tests run inside an aof session must not make every session a child of it.
    return new Orchestrator({
      runtimeUrl: this.runtimeUrl,
      registryUrl: this.registry.url,
      token: this.token ?? null,
      parent: null,
    });
  }

  get sessions(): RunningRuntime['sessions'] | undefined {
    return this.inProcessRuntime?.sessions;
  }

  async startRuntime(): Promise<void> {
    if (this.options.runtimeProcess) {
      await this.startRuntimeProcess();
      return;
    }
    const runtimeOptions: RuntimeOptions = {
      url: new URL('http://127.0.0.1:0'),
      dataDir: this.dataDir,
      databaseUrl: this.options.databaseUrl,
      registryUrl: new URL(this.registry.url),
      defaultProjectDir: this.projectDir,
      token: this.options.token,
      logger: this.options.logger ?? testLogger('runtime'),
      executor: this.options.executor ?? 'local',
      executorOptions: {
        claudeBin: agentBin(this.options.agent),
        env: this.agentEnv,
        stopGraceMs: 2000,
        ...this.options.executorOptions,
      },
      ...(this.options.leaseSeconds ? { leaseSeconds: this.options.leaseSeconds } : {}),
      ...(this.options.webhooks ? { webhooks: this.options.webhooks } : {}),
      ...(this.options.github ? { github: this.options.github } : {}),
      ...(this.options.usageLimits ? { usageLimits: this.options.usageLimits } : {}),
      ...(this.options.stallCheckMs ? { stallCheckMs: this.options.stallCheckMs } : {}),
    };
    this.inProcessRuntime = await startRuntime(runtimeOptions);
    this.runtimeUrl = this.inProcessRuntime.url;
  }

  private async startRuntimeProcess(): Promise<void> {
    const env: Record<string, string> = {
      ...this.agentEnv,
      // A restart comes back on the same port, so clients that were waiting can reconnect.
      AGENT_ORCHESTRATOR_SESSION_API_URL: this.runtimeUrl || 'http://127.0.0.1:0',
      AGENT_ORCHESTRATOR_AGENT_API_URL: this.registry.url,
      AGENT_ORCHESTRATOR_DATA_DIR: this.dataDir,
      AGENT_ORCHESTRATOR_CLAUDE_BIN: agentBin(this.options.agent),
      ...(this.options.databaseUrl ? { AGENT_ORCHESTRATOR_DATABASE_URL: this.options.databaseUrl } : {}),
      ...(this.options.executorOptions?.maxConcurrent
        ? { AGENT_ORCHESTRATOR_MAX_CONCURRENT: String(this.options.executorOptions.maxConcurrent) }
        : {}),
      ...(this.options.token ? { AGENT_ORCHESTRATOR_API_TOKEN: this.options.token } : {}),
      ...(this.options.executor === 'none' ? { AGENT_ORCHESTRATOR_EXECUTOR: 'none' } : {}),
      ...(this.options.leaseSeconds ? { AGENT_ORCHESTRATOR_LEASE_SECONDS: String(this.options.leaseSeconds) } : {}),
      // A suite run with the warm pool forced on (AGENT_ORCHESTRATOR_WARM_ALL=1) forces it here too.
      ...warmPoolEnv(),
      ...this.options.runtimeEnv,
    };
    const runtime = await startRuntimeProcess({ env, cwd: this.projectDir, wrapper: this.options.runtimeWrapper });
    this.runtimeProcess = runtime;
    this.runtimeChild = runtime.child;
    this.runtimeUrl = runtime.url;
  }

  /** Stops the runtime (agents keep running) and starts it again on the same data dir. */
  async restartRuntime(): Promise<void> {
    if (this.runtimeChild) {
      await this.killRuntime();
    } else {
      await this.inProcessRuntime?.close();
    }
    await this.startRuntime();
  }

  /** Starts the (in-process) runtime again with more executor options (an environment that names the fake's URL, say). */
  async restartRuntimeWith(executorOptions: Partial<ExecutorOptions>): Promise<void> {
    this.options.executorOptions = { ...this.options.executorOptions, ...executorOptions };
    await this.restartRuntime();
  }

  /** Stops the runtime process with SIGTERM, as a service manager would; `startRuntime` starts it again. */
  async stopRuntime(): Promise<void> {
    await this.runtimeProcess?.stop();
  }

  /** The runtime process's log lines so far (of its latest start). */
  get runtimeLog(): string[] {
    return this.runtimeProcess?.log ?? [];
  }

  /** Kills the runtime process without warning, as a crash would. */
  async killRuntime(): Promise<void> {
    await this.runtimeProcess?.kill();
  }

  async close(): Promise<void> {
    // Stop every agent first: a closed runtime leaves its agents running by design.
    await this.client()
      .sessions.clean()
      .catch(() => undefined);
    await this.runtimeProcess?.stop();
    await this.inProcessRuntime?.close();
    await this.registry.close();
    await this.fake.close();
    await removeDir(this.root);
  }
}

/** The warm pool's variables of the tests' own environment (an in-process runtime reads them itself). */
function warmPoolEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (name.startsWith('AGENT_ORCHESTRATOR_WARM_') && value !== undefined) env[name] = value;
  return env;
}
