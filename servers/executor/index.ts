import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { agentBaseEnv, asUser, resolveAgentUser, userDirectory, type AgentUser } from './agent-user.js';
import { closeDataDir, gitCommonDir, openToUser, userMayWorkIn } from './agent-access.js';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../../sdk/backoff.js';
import type { Logger } from '../common/logger.js';
import { checkOutput, retryPrompt } from '../common/contract/output-schema.js';
import { HttpProblem } from '../common/contract/problem.js';
import { agentEnvironment } from './agent-environment.js';
import type { ClaimedRun, EventInput, RunPort } from './run-port.js';
import { KNOWN_RUN_SPEC_VERSIONS, runSpecRefusal, type RunSpec } from './run-spec.js';
import {
  adoptAgent,
  inspectProjectDir,
  readExitCode,
  runFiles,
  signalGroup,
  spawnAgent,
  type AgentProcess,
  type Exit,
  type RunFiles,
} from './agent-process.js';
import { resolveExecutable } from './claude-command.js';
import { agentMcpServers } from './permission-server.js';
import {
  cliNotFoundReason,
  startWarnings,
  conversationMovedNote,
  exitReason,
  startFailureReason,
  unexpectedFailureReason,
} from './failure-reasons.js';
import { LineTail } from './line-tail.js';
import { locateConversation, readConversation, restoreConversation } from './conversation-files.js';
import { CLI_SUPPORT, type CliName } from '../common/agent/agent-clis.js';
import { outputInstruction } from '../common/contract/output-schema.js';
import { adapterFor, writeCliFiles } from './clis/index.js';
import type { CliAdapter, CliRun, Normaliser, Usage } from './clis/types.js';
import { WarmPool } from './warm-pool.js';
import { type ColdSpawn, WarmRuns } from './warm-runs.js';
import { warmOptionsFromEnv, type WarmOptions } from './warm-options.js';

export interface ExecutorOptions {
  dataDir: string;
  logger: Logger;
  /** The Claude Code CLI: a path, or a name looked up on PATH. */
  claudeBin: string;
  /** The other agent CLIs (AGENT_ORCHESTRATOR_CODEX_BIN, ...): a path, or a name looked up on PATH. */
  cliBins?: Partial<Record<CliName, string>> | undefined;
  /** Runs at once; the rest wait `queued`, first come first served. */
  maxConcurrent: number;
  /** Permission mode when the blueprint sets none. */
  permissionMode: string;
  /** How long a stopped agent gets between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  /** The agents' environment (where the user's login and settings live). */
  env: NodeJS.ProcessEnv;
  /** How often to look for queued runs when nothing wakes the executor (runs queued on other processes). */
  pollMs?: number | undefined;
  /** Where the agents run, said in a failure to start them when it is not the runtime's host (a runner). */
  where?: string | undefined;
  /** The RunSpec versions it runs; a run of another version ends `failed` (`run-spec-version`). */
  specVersions?: readonly number[] | undefined;
  /** The Unix user agents run as (AGENT_ORCHESTRATOR_AGENT_USER; agent-user.ts), when not the runtime's. */
  agentUser?: string | undefined;
  /** The pool of warm Claude Code processes (used when the hooks can bind their credentials). */
  warm?: WarmOptions | undefined;
}

/**
 * 8 by default: an agent spends most of a run waiting on the model, so a 2-core machine keeps
 * up with several, and at ~300 MB resident each, 8 stay far below 24 GiB. CPU becomes the limit
 * only when many agents compute at once (tools, local models), which is when to lower it.
 */
export const DEFAULT_MAX_CONCURRENT = 8;

export function executorOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Omit<ExecutorOptions, 'dataDir' | 'logger'> {
  const max = Number(env.AGENT_ORCHESTRATOR_MAX_CONCURRENT);
  return {
    claudeBin: env.AGENT_ORCHESTRATOR_CLAUDE_BIN || 'claude',
    cliBins: cliBinsFromEnv(env),
    maxConcurrent: Number.isInteger(max) && max > 0 ? max : DEFAULT_MAX_CONCURRENT,
    permissionMode: env.AGENT_ORCHESTRATOR_PERMISSION_MODE || 'bypassPermissions',
    stopGraceMs: 5000,
    env,
    agentUser: env.AGENT_ORCHESTRATOR_AGENT_USER || undefined,
    warm: warmOptionsFromEnv(env),
  };
}

/** Each agent CLI's executable: its variable (AGENT_ORCHESTRATOR_CODEX_BIN, ...), else its name on PATH. */
export function cliBinsFromEnv(env: NodeJS.ProcessEnv): Record<CliName, string> {
  const bins = {} as Record<CliName, string>;
  for (const [cli, support] of Object.entries(CLI_SUPPORT) as Array<[CliName, (typeof CLI_SUPPORT)[CliName]]>) {
    bins[cli] = env[support.binEnv] || support.defaultBin;
  }
  return bins;
}

/** What a run's output parser (its CLI's normaliser, clis/) tells while the run goes. */
export interface RunProgress {
  billedUsage(): Usage | null;
  readonly turns: number;
}

/** What the executor's owner (the runtime, a runner) watches of each run. */
export interface RunHooks {
  /** A run's process exists (or was re-adopted; `startedAt` is when it started); resolves to a function to call once it has ended. */
  started(spec: RunSpec, startedAt: string | null): Promise<() => void>;
  /** The run's output so far was recorded; `parser` knows what it was billed. */
  progressed(spec: RunSpec, parser: RunProgress): void;
  /**
   * Warm processes start before their run exists: each gets a credential of its own (`credential`),
   * tied to the run that takes it (`bind`, also to give a run its own credential back).
   */
  warm?: {
    credential(slot: string): string;
    bind(session: string, run: number, credential: string): Promise<void>;
    /** Whether children of `session` that call it back when they end are queued or running. */
    awaitsCallbacks?(session: string): Promise<boolean>;
  };
}

/** What the runtime's session service asks of the executor (its RunScheduler). */
export interface Executor {
  /** A run of session `name` was queued. */
  enqueue(name: string): void;
  /** Ends the agent of session `name`'s run; false when this executor does not run it. */
  stop(name: string): Promise<boolean>;
  /** Forgets the run files of session `name` (it was deleted). */
  forget(name: string): Promise<void>;
  /** Stops following the agents without stopping them; a restarted runtime re-adopts them. */
  detach(): Promise<void>;
  /** Its cap, the sessions it runs now, and its warm processes per key. */
  snapshot(): { maxConcurrent: number; active: string[]; warm?: ReturnType<WarmPool['figures']> };
}

class ActiveRun {
  process: AgentProcess | undefined;
  /** Set when the run is no longer this runner's: nothing more is reported. */
  fenced = false;
  /** Set once the run's end was recorded: its lease is over, and the runtime's word on it no longer matters. */
  ended = false;
  done: Promise<void> = Promise.resolve();
  /** Resolves once the process is spawned, or when the run ends without one. */
  readonly spawned: Promise<void>;
  private markSpawned!: () => void;

  constructor(readonly claim: ClaimedRun) {
    this.spawned = new Promise((resolve) => {
      this.markSpawned = resolve;
    });
  }

  attach(process: AgentProcess): void {
    this.process = process;
    this.markSpawned();
  }

  settle(): void {
    this.markSpawned();
  }
}

/**
 * Creates an executor on `port` (the runtime's own, or a runner's), re-adopts the agents its runner
 * left running and starts claiming queued runs.
 */
export async function createExecutor(
  port: RunPort,
  options: Partial<ExecutorOptions> & Pick<ExecutorOptions, 'dataDir' | 'logger'>,
  hooks?: RunHooks,
): Promise<Executor> {
  const settings = { ...executorOptionsFromEnv(), ...options };
  for (const warning of await startWarnings({ ...settings, isRoot: process.getuid?.() === 0 }))
    settings.logger.warn(warning);
  const user = settings.agentUser ? await resolveAgentUser(settings.agentUser, process.getuid?.() === 0) : undefined;
  if (user) settings.logger.info(`agents run as the Unix user '${user.name}' (uid ${user.uid})`);
  const executor = new LocalExecutor(port, { ...settings, env: agentBaseEnv(settings.env, user) }, hooks, user);
  await executor.warm?.pool.start();
  await executor.recover();
  executor.start();
  return executor;
}

class LocalExecutor implements Executor {
  private readonly active = new Map<string, ActiveRun>();
  private claiming = false;
  private claimAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private beatTimer: NodeJS.Timeout | undefined;
  private readonly runsDir: string;
  readonly warm: WarmRuns | undefined;
  private detaching = false;
  private signalDetach!: () => void;
  private readonly detached = new Promise<'detached'>((resolve) => {
    this.signalDetach = () => resolve('detached');
  });

  constructor(
    private readonly port: RunPort,
    private readonly options: ExecutorOptions,
    private readonly hooks?: RunHooks,
    /** The Unix user agents run as, when not this process's (agent-user.ts). */
    private readonly user?: AgentUser,
  ) {
    this.runsDir = join(options.dataDir, 'runs');
    const warm = options.warm;
    if (hooks?.warm && warm && (warm.all || warm.max > 0)) {
      const pool = new WarmPool({
        warmDir: join(options.dataDir, 'warm'),
        logger: options.logger,
        max: warm.max,
        idleTtlMs: warm.idleTtlSeconds * 1000,
        all: warm.all,
        maxMemory: (warm.maxMemoryMb ?? 0) * 1024 * 1024,
        slotEnv: (slot) => ({ AGENT_ORCHESTRATOR_API_TOKEN: hooks.warm!.credential(slot) }),
      });
      this.warm = new WarmRuns(pool, hooks.warm.bind, options.logger);
    }
  }

  /**
   * Before an agent of another user starts: the data dir closed to it (again: entries may have been
   * made since), its working dir opened to it. Null when it may work there; else why not.
   */
  private async openTo(user: AgentUser, dir: string): Promise<string | null> {
    try {
      await closeDataDir(this.options.dataDir);
      await openToUser(user, dir);
      // A worktree's commits go to its repository's git dir, outside the worktree.
      const git = await gitCommonDir(dir);
      if (git) await openToUser(user, git);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null; // A missing dir is the spawn's to tell (inspectProjectDir).
      return `could not open '${dir}' to the agents' Unix user '${user.name}': ${(error as Error).message}`;
    }
    return userMayWorkIn(user, dir);
  }

  /** A run was queued: look for runs to start. */
  enqueue(_name: string): void {
    this.pump();
  }

  /** Claims runs from now on, and keeps the leases of the runs it has alive. */
  start(): void {
    this.pump();
    const every = (ms: number, work: () => void) => {
      const timer = setInterval(work, ms);
      timer.unref();
      this.timers.push(timer);
    };
    if (!this.port.waits) every(this.options.pollMs ?? 1000, () => this.pump());
    // A third of the lease, as long as the runtime says a lease lasts now.
    const beat = () => {
      this.beatTimer = setTimeout(
        () => void this.heartbeat().finally(() => !this.detaching && beat()),
        Math.max(100, Math.floor(this.port.leaseMs / 3)),
      );
      this.beatTimer.unref();
    };
    beat();
  }

  async stop(name: string): Promise<boolean> {
    const entry = this.active.get(name);
    if (!entry) return false;
    await entry.spawned;
    if (!entry.process) return false;
    await entry.process.stop(this.options.stopGraceMs);
    await entry.done;
    return true;
  }

  snapshot() {
    return {
      maxConcurrent: this.options.maxConcurrent,
      active: [...this.active.keys()],
      ...(this.warm ? { warm: this.warm.pool.figures() } : {}),
    };
  }

  async forget(name: string): Promise<void> {
    await rm(join(this.runsDir, name), { recursive: true, force: true });
  }

  async detach(): Promise<void> {
    this.detaching = true;
    this.timers.forEach((timer) => {
      clearInterval(timer);
    });
    clearTimeout(this.beatTimer);
    this.signalDetach();
    await Promise.all([...this.active.values()].map((entry) => entry.done));
    await this.warm?.pool.close();
  }

  /** Re-adopts the agents of the runs this runner holds (or collects what they left), or starts them. */
  async recover(): Promise<void> {
    for (const claim of await this.port.held()) {
      const { spec } = claim;
      const files = runFiles(this.runsDir, spec.session, spec.run);
      if (claim.running || existsSync(files.pid)) {
        this.track(claim, async (entry) => this.resumeFollowing(claim, files, entry));
      } else {
        this.track(claim, (entry) => this.execute(claim, entry));
      }
    }
  }

  /** Claims runs while there is room; runs it claims start at once. One claimer at a time. */
  private pump(): void {
    if (this.detaching) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    void (async () => {
      try {
        do {
          this.claimAgain = false;
          while (!this.detaching && this.active.size < this.options.maxConcurrent) {
            const claim = await this.port.claim();
            if (!claim || this.detaching) break;
            this.track(claim, (entry) => this.execute(claim, entry));
          }
        } while (this.claimAgain && !this.detaching);
      } catch (error) {
        // The store or the runtime cannot be reached now: the next wake-up or poll tries again.
        this.options.logger.warn(`could not claim a run: ${(error as Error).message}`);
        if (this.port.waits) await sleep(1000);
      } finally {
        this.claiming = false;
        if (this.port.waits && !this.detaching && this.active.size < this.options.maxConcurrent) this.pump();
      }
    })();
  }

  /** Keeps the leases of the runs alive; ends the agents of runs to stop, and of runs no longer ours. */
  private async heartbeat(): Promise<void> {
    // A run whose end was recorded holds no lease any more (its heartbeat would say `lost`).
    const entries = [...this.active.values()].filter((entry) => !entry.ended);
    // A runner's warm processes are told to the runtime even while it runs nothing.
    const warmPool = this.port.reportsWarmPool ? this.warm?.pool.figures() : undefined;
    if ((!entries.length && !warmPool) || this.detaching) return;
    let statuses: string[];
    try {
      statuses = await this.port.heartbeat(
        entries.map((e) => e.claim),
        warmPool,
      );
    } catch (error) {
      this.options.logger.warn(`heartbeat failed (retrying): ${(error as Error).message}`);
      return;
    }
    entries.forEach((entry, i) => {
      if (statuses[i] === 'stop') void entry.spawned.then(() => entry.process?.stop(this.options.stopGraceMs));
      if (statuses[i] === 'lost' && !entry.ended) this.fence(entry);
    });
  }

  /** The run is no longer ours (lease lost, run ended or deleted): its agent ends, nothing more is reported. */
  private fence(entry: ActiveRun): void {
    if (entry.fenced) return;
    entry.fenced = true;
    this.options.logger.warn(
      `session '${entry.claim.spec.session}': run ${entry.claim.spec.run} is no longer this runner's; ending its agent`,
      { session: entry.claim.spec.session, run: entry.claim.spec.run },
    );
    void entry.spawned.then(() => {
      if (entry.process?.pid) signalGroup(entry.process.pid, 'SIGKILL');
    });
  }

  private track(claim: ClaimedRun, work: (entry: ActiveRun) => Promise<void>): void {
    const name = claim.spec.session;
    const entry = new ActiveRun(claim);
    this.active.set(name, entry);
    entry.done = work(entry)
      .catch((error) => this.failUnexpectedly(entry, error))
      .finally(() => {
        entry.settle();
        this.active.delete(name);
        this.pump();
      });
  }

  private async execute(claim: ClaimedRun, entry: ActiveRun): Promise<void> {
    const { spec } = claim;
    const refusal = runSpecRefusal(spec, this.options.specVersions ?? KNOWN_RUN_SPEC_VERSIONS);
    if (refusal) {
      // A RunSpec of a version this executor does not know may mean anything: not run at all.
      await this.fail(entry, refusal);
      return;
    }
    if (claim.running || claim.stopRequested) return;
    const files = runFiles(this.runsDir, spec.session, spec.run);
    let mcpServers: Record<string, unknown> | null = null;
    try {
      // One level at a time: a recursive mkdir reports ENOENT where the real error is EROFS or EACCES.
      for (const dir of [this.runsDir, dirname(files.dir), files.dir]) {
        await mkdir(dir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
      }
      mcpServers = agentMcpServers(spec, { dataDir: this.options.dataDir, nodePath: process.execPath });
      if (mcpServers) {
        // An agent of another user reads its MCP config from a directory of its own (it sees no run file).
        if (this.user) files.mcpConfig = join(await userDirectory(this.user), 'mcp.json');
        await writeFile(files.mcpConfig, JSON.stringify({ mcpServers }), { mode: 0o600 });
        if (this.user) await chown(files.mcpConfig, this.user.uid, this.user.gid);
      }
    } catch (error) {
      await this.fail(entry, startFailureReason(error, { stage: 'run-files', dir: files.dir }));
      return;
    }
    const adapter = adapterFor(spec.agent.cli);
    const support = CLI_SUPPORT[adapter.name];
    const configured = this.binOf(adapter.name);
    const bin = await resolveExecutable(configured, this.options.env.PATH);
    if (!bin) {
      await this.fail(entry, cliNotFoundReason(configured, support));
      return;
    }
    // Only Claude Code runs warm, moves between hosts (its conversation kept with the session) and
    // runs as the agent's own Unix user: the other CLIs keep their state in this user's files.
    const isClaude = adapter.name === 'claude';
    if (isClaude && this.user) {
      const refusal = await this.openTo(this.user, spec.project_dir);
      if (refusal) {
        await this.fail(entry, refusal);
        return;
      }
    }
    // Continue the conversation once the CLI has opened it. A run stopped before the CLI saved
    // anything leaves no conversation to resume: then it is opened anew (a fork's first run forks again).
    let conversation: CliRun['conversation'] = {
      id: spec.conversation.id || null,
      started: spec.conversation.started,
      fork_of: spec.conversation.fork_of,
    };
    if (isClaude && spec.conversation.saved && (conversation.started || conversation.fork_of))
      await this.restoreConversation(spec, conversation.started);
    let prompt = spec.prompt;
    let retried = false;
    for (let attempt = 0; ; attempt++) {
      const run: CliRun = { ...spec, prompt, conversation };
      let cold: ColdSpawn;
      let priorUsage: Usage | null | undefined;
      try {
        ({ cold, priorUsage } = await this.launch(adapter, bin, spec, run, files, mcpServers));
        // A tail must never read the output of an earlier attempt; an empty file to watch from the start.
        await Promise.all([
          rm(files.exit, { force: true }),
          writeFile(files.prompt, prompt, { mode: 0o600 }),
          writeFile(files.stream, '', { mode: 0o600 }),
          writeFile(files.stderr, '', { mode: 0o600 }),
          priorUsage !== undefined && writeFile(priorUsageFile(files), JSON.stringify(priorUsage), { mode: 0o600 }),
        ]);
      } catch (error) {
        await this.fail(entry, startFailureReason(error, { stage: 'run-files', dir: files.dir }));
        return;
      }
      let agent: AgentProcess;
      try {
        // Warm processes run as the runtime's user: with agents of another user, every run starts cold.
        const warm = isClaude && attempt === 0 && !this.user ? await this.warm?.start(spec, files, prompt, cold) : null;
        agent =
          warm ??
          (await spawnAgent(
            bin,
            cold.args,
            files,
            spec.project_dir,
            cold.env,
            isClaude && this.user ? asUser(this.user) : [],
          ));
      } catch (error) {
        const where = (error as NodeJS.ErrnoException).syscall?.startsWith('spawn')
          ? {
              stage: 'spawn' as const,
              projectDir: spec.project_dir,
              projectDirProblem: await inspectProjectDir(spec.project_dir),
            }
          : { stage: 'run-files' as const, dir: files.dir };
        await this.fail(entry, startFailureReason(error, where));
        return;
      }
      entry.attach(agent);
      // The run is `running` from the moment its process exists (not from the CLI's first line).
      if (attempt === 0) await this.record(entry, [], { started: true });
      const parser = adapter.normaliser(run, { priorUsage: priorUsage ?? null });
      const outcome = await this.follow(entry, files, agent, 0, {
        resumed: conversation.started,
        adapter,
        parser,
        retry: retried ? undefined : (answer) => retryFor(spec.output_schema, answer),
      });
      // The conversation the CLI opened (a warm Claude Code process opens the one it was started with).
      conversation = { ...conversation, id: parser.sessionId ?? conversation.id };
      if (isClaude && outcome === 'ended' && !entry.fenced && this.warm) {
        // A parent whose children will call it back is resumed soon: its resume starts warm.
        const awaits = await this.hooks?.warm?.awaitsCallbacks?.(spec.session).catch(() => false);
        const next: CliRun = { ...run, conversation: { ...conversation, started: true } };
        const { cold: resumed } = await this.launch(adapter, bin, spec, next, files, mcpServers);
        this.warm.ended(spec, resumed, Date.now(), awaits === true);
      }
      if (outcome === 'ended' || outcome === 'detached' || entry.fenced) return;
      if (await this.whileUnreachable(claim, 'waiting until it is back', () => this.port.stopRequested(claim))) {
        await this.end(entry, { exit_code: null, signal: null, reason: 'stopped by request' });
        return;
      }
      if (outcome === 'no-conversation') {
        conversation = { ...conversation, started: false };
        continue;
      }
      // The answer broke the output schema: ask once more in the same conversation and run.
      retried = true;
      conversation = { ...conversation, started: true };
      prompt = outcome.retry.prompt;
      await this.whileUnreachable(claim, 'waiting until it is back', () => this.port.startRetry(claim, prompt));
      // Said in the run's events: the answer before was rejected, and what follows is the retry.
      await this.record(entry, [{ type: 'output_retry', data: { attempt: 2, errors: outcome.retry.errors } }]);
    }
  }

  /** The executable configured for a CLI: a path, or a name looked up on PATH. */
  private binOf(cli: CliName): string {
    if (cli === 'claude') return this.options.claudeBin;
    return this.options.cliBins?.[cli] ?? CLI_SUPPORT[cli].defaultBin;
  }

  /**
   * How a run starts cold, through its CLI's adapter: its flags, where, and with which environment
   * (the one place an agent's environment is made), its files written. `priorUsage` is what the
   * conversation had been billed before (CLIs that report running totals).
   */
  private async launch(
    adapter: CliAdapter,
    bin: string,
    spec: RunSpec,
    run: CliRun,
    files: RunFiles,
    mcpServers: Record<string, unknown> | null,
  ): Promise<{ cold: ColdSpawn; priorUsage: Usage | null | undefined }> {
    const env = {
      ...withoutServerSecrets(this.options.env),
      ...spec.env.vars,
      ...agentEnvironment(this.port.runtimeUrl, spec.env.credential),
    };
    const command = await adapter.command(run, {
      defaultPermissionMode: this.options.permissionMode,
      runDir: files.dir,
      sessionDir: cliSessionDir(this.runsDir, spec.session),
      env,
      outputInstruction: spec.output_schema ? outputInstruction(spec.output_schema) : undefined,
      mcpConfigPath: mcpServers ? files.mcpConfig : null,
    });
    await writeCliFiles(command.files);
    return {
      cold: {
        bin,
        args: command.args,
        cwd: spec.project_dir,
        env: { ...env, ...command.env },
        mcpServers,
        perSession: [...Object.keys(spec.env.vars), 'AGENT_ORCHESTRATOR_API_TOKEN'],
      },
      priorUsage: command.priorUsage,
    };
  }

  /** How to read a run's output again (a re-adopted or ended run): its CLI's normaliser, as the run started it. */
  private async parserFor(spec: RunSpec, prompt: string, files: RunFiles): Promise<Normaliser> {
    const priorUsage = await readFile(priorUsageFile(files), 'utf8')
      .then((text) => JSON.parse(text) as Usage | null)
      .catch(() => null);
    return adapterFor(spec.agent.cli).normaliser({ prompt, agent: spec.agent }, { priorUsage });
  }

  private async resumeFollowing(claim: ClaimedRun, files: RunFiles, entry: ActiveRun): Promise<void> {
    const { spec } = claim;
    // A run in its output-schema retry: the stream holds the retry's output only.
    const parsed = await this.whileUnreachable(claim, 'its agent is followed once it is back', () =>
      this.port.parsedEvents(claim),
    );
    const recorded = parsed - (claim.retry?.events_before ?? 0);
    const prompt = claim.retry?.prompt ?? spec.prompt;
    const adopted = adoptAgent(files);
    if (adopted) {
      this.options.logger.info(`re-adopted the running agent of session '${spec.session}' (pid ${adopted.pid})`, {
        session: spec.session,
        run: spec.run,
      });
      entry.attach(adopted);
      // Spawned before the last runtime could say so: running from now at the latest.
      if (!claim.running) await this.record(entry, [], { started: true });
      await this.follow(entry, files, adopted, recorded, {
        adapter: adapterFor(spec.agent.cli),
        parser: await this.parserFor(spec, prompt, files),
      });
      return;
    }
    // The agent ended while no runtime was watching: collect what it wrote, then close the run.
    const ended: AgentProcess = {
      pid: 0,
      exited: readExitCode(files).then((code) => ({ code, signal: null })),
      stop: async () => undefined,
    };
    await this.follow(entry, files, ended, recorded, {
      lostReason: 'runtime restarted',
      adapter: adapterFor(spec.agent.cli),
      parser: await this.parserFor(spec, prompt, files),
    });
  }

  /**
   * The last resort when running or following a run threw (a store that cannot write, a bug): the
   * run ends `failed` with the reason, its agent (if any) is ended, and the runtime goes on. If even
   * that cannot be recorded (the store still cannot write: out of file descriptors, a full disk), it
   * is tried again, less and less often, until it is recorded or the executor detaches (the run then
   * stays as stored, and the next start retries it); the run keeps its place among those running
   * meanwhile, so the executor does not take on more work than it can record.
   */
  private async failUnexpectedly(entry: ActiveRun, error: unknown): Promise<void> {
    const name = entry.claim.spec.session;
    const where = { session: name, run: entry.claim.spec.run };
    this.options.logger.error(`run of session '${name}' failed in the executor`, error, where);
    if (entry.process?.pid) signalGroup(entry.process.pid, 'SIGKILL');
    const reason = unexpectedFailureReason(error);
    for (let attempt = 0; !this.detaching; attempt++) {
      try {
        await this.end(entry, { exit_code: null, signal: null, reason });
        return;
      } catch (again) {
        if (attempt === 0)
          this.options.logger.error(`could not record the failure of session '${name}' (trying again)`, again, where);
        await Promise.race([sleep(backoffMs(attempt, 200)), this.detached]);
      }
    }
  }

  /**
   * Records the agent's output as it comes, then its end. `skip` events were recorded before a
   * restart. Answers 'no-conversation' (and records nothing) when a resume found no conversation.
   */
  private async follow(
    entry: ActiveRun,
    files: RunFiles,
    agent: AgentProcess,
    skip: number,
    options: {
      resumed?: boolean;
      lostReason?: string;
      retry?: ((answer: Normaliser['result']) => OutputRetry | null) | undefined;
      /** The run's CLI: whether its output says a resume found no conversation. */
      adapter: CliAdapter;
      /** How to read the output: the CLI's normaliser. */
      parser: Normaliser;
    },
  ): Promise<'ended' | 'detached' | 'no-conversation' | { retry: OutputRetry }> {
    const { claim } = entry;
    const { spec } = claim;
    const name = spec.session;
    const { adapter, parser } = options;
    const ended = await this.hooks?.started(spec, claim.startedAt ?? null);
    let toSkip = skip;
    let recorded = false;
    let noConversation = false;
    // Events wait here when the store refuses them (a full disk): the next lines, or the end, retry.
    const pending: EventInput[] = [];
    const flush = async () => {
      const batch = pending.splice(0);
      if (!batch.length) return;
      try {
        await this.record(entry, batch);
      } catch (error) {
        pending.unshift(...batch);
        throw error;
      }
    };
    const tail = new LineTail(files.stream, async (lines) => {
      let events = lines.flatMap((line) => parser.parse(line));
      for (const event of events)
        if (event.type === 'session_start') {
          // What the runtime records too (a warm process opens the conversation it was started with).
          if (event.data.claude_session_id) spec.conversation.id = event.data.claude_session_id;
          spec.conversation.started = true;
        }
      if (options.resumed && !recorded && events.length && adapter.noConversation(null, '', events)) {
        noConversation = true;
        return;
      }
      const skipped = Math.min(toSkip, events.length);
      toSkip -= skipped;
      events = events.slice(skipped);
      if (events.length) recorded = true;
      pending.push(...events);
      await flush().catch((error) =>
        this.options.logger.warn(`could not record events of session '${name}' yet (will retry): ${error.message}`),
      );
      if (events.length) this.hooks?.progressed(spec, parser);
    });
    tail.start();
    const exit = await Promise.race([agent.exited, this.detached]);
    ended?.();
    if (exit === 'detached') {
      await tail.detach();
      return 'detached';
    }
    await tail.finish();
    if (agent.pid) signalGroup(agent.pid, 'SIGKILL');
    if (noConversation) return 'no-conversation';
    if (options.resumed && !recorded) {
      const stderr = await readFile(files.stderr, 'utf8').catch(() => '');
      if (adapter.noConversation(exit, stderr, [])) return 'no-conversation';
    }
    // What the end brings (a result made from the stream, for CLIs that print none), after any recorded before a restart.
    const last = parser.end(exit);
    pending.push(...last.slice(Math.min(toSkip, last.length)));
    await flush();
    if (options.retry && exit.code === 0 && !entry.fenced) {
      const retry = options.retry(parser.result);
      if (retry) return { retry };
    }
    await this.end(
      entry,
      await stopData(exit, parser, CLI_SUPPORT[spec.agent.cli].title, files, options.lostReason),
      spec.agent.cli === 'claude' ? await this.keptConversation(spec) : null,
    );
    return 'ended';
  }

  private async end(entry: ActiveRun, data: StopData, conversation?: Buffer | null): Promise<void> {
    await this.record(entry, [{ type: 'session_stop', data }], {
      force: true,
      ...(conversation ? { conversation } : {}),
    });
    if (!entry.fenced) entry.ended = true;
  }

  /**
   * Puts the conversation the run continues where Claude Code looks for it, when this host does not
   * have it (the last run ran on another host): the session's own, or for a fork's first run its source's.
   */
  private async restoreConversation(spec: RunSpec, resume: boolean): Promise<void> {
    const { conversation } = spec;
    const claudeSessionId = resume ? conversation.id : conversation.fork_of!;
    const location = { env: this.options.env, cwd: spec.project_dir, claudeSessionId };
    try {
      if (existsSync(await locateConversation(location))) return;
      const restored = await restoreConversation(location, Buffer.from(conversation.saved!, 'base64'));
      // The agent's user continues it: the file is its own.
      if (this.user) await chown(restored.path, this.user.uid, this.user.gid);
      this.options.logger.info(
        `session '${spec.session}': restored its conversation from the runtime to ${restored.path}`,
      );
      const moved = conversationMovedNote(restored.recordedCwd, spec.project_dir);
      if (moved) this.options.logger.warn(`session '${spec.session}': ${moved}`);
    } catch (error) {
      // The project dir may be missing here: the spawn then fails and says so.
      this.options.logger.warn(
        `session '${spec.session}': could not restore its conversation: ${(error as Error).message}`,
      );
    }
  }

  /** The conversation after the run (gzip), to keep with the session; null when there is none or it cannot be read. */
  private async keptConversation(spec: RunSpec): Promise<Buffer | null> {
    if (!spec.conversation.id) return null;
    try {
      const data = await readConversation({
        env: this.options.env,
        cwd: spec.project_dir,
        claudeSessionId: spec.conversation.id,
      });
      if (data && data.length > MAX_CONVERSATION_BYTES) {
        this.options.logger.warn(
          `session '${spec.session}': its conversation (${data.length} bytes gzip'd) is too large to keep with the session; only this host can resume it`,
        );
        return null;
      }
      return data;
    } catch (error) {
      this.options.logger.warn(
        `session '${spec.session}': could not read its conversation: ${(error as Error).message}`,
      );
      return null;
    }
  }

  /** Ends a run whose agent could not be started. */
  private async fail(entry: ActiveRun, failure: string): Promise<void> {
    const reason = this.options.where ? `${failure} (${this.options.where})` : failure;
    this.options.logger.warn(
      `run ${entry.claim.spec.run} of session '${entry.claim.spec.session}' failed to start: ${reason}`,
      { session: entry.claim.spec.session, run: entry.claim.spec.run },
    );
    await this.end(entry, { exit_code: null, signal: null, reason });
  }

  /**
   * Reports to the runtime; waits while it (or its database) is away. A run that is no longer this
   * runner's (deleted, ended elsewhere, lease lost) is fenced: its agent ends, nothing more is sent.
   */
  private async record(
    entry: ActiveRun,
    events: EventInput[],
    options: { force?: boolean; started?: boolean } = {},
  ): Promise<void> {
    if (entry.fenced) return;
    // The output waits in the run's files until the runtime is back.
    const kept = await this.whileUnreachable(entry.claim, 'its events wait until it is back', () =>
      this.port.record(entry.claim, events, options),
    );
    if (!kept) this.fence(entry);
  }

  /**
   * `work` against the runtime, done again (with backoff) while the runtime or its database is away
   * (a restart, a failover between runtimes), unless this executor is detaching.
   */
  private async whileUnreachable<T>(claim: ClaimedRun, waiting: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (!isUnreachable(error) || this.detaching) throw error;
        if (attempt === 0)
          this.options.logger.warn(`session '${claim.spec.session}': ${(error as Error).message}; ${waiting}`);
        await sleep(backoffMs(attempt, 200));
      }
    }
  }
}

/** Where another CLI keeps a session's state on this host when aof keeps it apart (Gemini's home): with the session's runs. */
const cliSessionDir = (runsDir: string, session: string) => join(runsDir, session, 'cli-home');

/** What a run's conversation had been billed before it (Codex reports running totals), kept for a re-adopted run. */
const priorUsageFile = (files: RunFiles) => join(files.dir, 'prior-usage.json');

/** A conversation kept with its session fits in one report (the contract's 1.5 MB of base64). */
const MAX_CONVERSATION_BYTES = 1_100_000;

/** A 503 from the runtime (its database is away) or no answer at all: worth waiting for. */
function isUnreachable(error: unknown): boolean {
  if (error instanceof HttpProblem) return error.status === 503;
  return (error as { unreachable?: boolean } | null)?.unreachable === true;
}

/**
 * What the servers hold and agents must not: the person's token (an agent gets its run's credential
 * instead), the database (which would bypass every check), the webhook signing key and the GitHub
 * token pull requests are opened with (an agent's branch reaches GitHub only when a person asks).
 */
export const SERVER_SECRETS = [
  'AGENT_ORCHESTRATOR_API_TOKEN',
  'AGENT_ORCHESTRATOR_DATABASE_URL',
  'AGENT_ORCHESTRATOR_WEBHOOK_SECRET',
  'AGENT_ORCHESTRATOR_GITHUB_TOKEN',
  'GITHUB_TOKEN',
] as const;

export function withoutServerSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = { ...env };
  for (const name of SERVER_SECRETS) delete kept[name];
  return kept;
}

/** The one retry a run gets when its answer broke the output schema: why, and what to ask. */
export interface OutputRetry {
  prompt: string;
  errors: string[];
}

/**
 * The retry a run gets when its answer broke the output schema; null when the answer is valid, was
 * an error anyway, or there is no schema.
 */
export function retryFor(
  schema: object | null,
  answer: { isError: boolean; text: string | null } | undefined,
): OutputRetry | null {
  if (!schema || !answer || answer.isError) return null;
  const check = checkOutput(schema, answer.text);
  return check.valid ? null : { prompt: retryPrompt(check.errors), errors: check.errors };
}

type StopData = Extract<EventInput, { type: 'session_stop' }>['data'];

/**
 * How the run ended. Without a result line (stopped, crashed, lost), the usage is what the stream's
 * assistant messages billed so far (see StreamParser.billedUsage); with one, the result's totals win.
 */
async function stopData(
  exit: Exit,
  parser: Normaliser,
  title: string,
  files: RunFiles,
  lostReason?: string,
): Promise<StopData> {
  const base = { exit_code: exit.code, signal: exit.signal };
  if (parser.result) {
    return { ...base, reason: parser.result.isError ? `${title} reported an error` : 'completed' };
  }
  const usage = parser.billedUsage();
  const billed = usage ? { usage } : {};
  const stderr =
    exit.signal || (exit.code === null && lostReason) ? '' : await readFile(files.stderr, 'utf8').catch(() => '');
  return { ...base, ...billed, reason: exitReason(exit, stderr, lostReason, title) };
}
