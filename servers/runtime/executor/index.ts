import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { HttpProblem } from '../../common/problem.js';
import type { RunScheduler, SessionService } from '../session-service.js';
import { isFinal, lastRun, type EventInput, type StoredRun, type StoredSession } from '../session-store.js';
import {
  adoptAgent, inspectProjectDir, readExitCode, runFiles, signalGroup, spawnAgent, type AgentProcess, type Exit, type RunFiles,
} from './agent-process.js';
import { claudeArgs, resolveExecutable } from './claude-command.js';
import { agentMcpServers, inApprovalMode } from './permission-server.js';
import { cliNotFoundReason, exitReason, startFailureReason } from './failure-reasons.js';
import { LineTail } from './line-tail.js';
import { StreamParser } from './stream-parser.js';
import { retryFor, startRetry } from '../structured-output.js';

export interface ExecutorOptions {
  dataDir: string;
  logger: Logger;
  /** The Claude Code CLI: a path, or a name looked up on PATH. */
  claudeBin: string;
  /** Runs at once; the rest wait `queued`, first come first served. */
  maxConcurrent: number;
  /** Permission mode when the blueprint sets none. */
  permissionMode: string;
  /** How long a stopped agent gets between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  /** The agents' environment (where the user's login and settings live). */
  env: NodeJS.ProcessEnv;
  /** The runtime's token, for the permission tool of agents in approval mode. */
  token?: string | undefined;
}

/**
 * 8 by default: an agent spends most of a run waiting on the model, so a 2-core machine keeps
 * up with several, and at ~300 MB resident each, 8 stay far below 24 GiB. CPU becomes the limit
 * only when many agents compute at once (tools, local models), which is when to lower it.
 */
export const DEFAULT_MAX_CONCURRENT = 8;

export function executorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<ExecutorOptions, 'dataDir' | 'logger'> {
  const max = Number(env.AGENT_ORCHESTRATOR_MAX_CONCURRENT);
  return {
    claudeBin: env.AGENT_ORCHESTRATOR_CLAUDE_BIN || 'claude',
    maxConcurrent: Number.isInteger(max) && max > 0 ? max : DEFAULT_MAX_CONCURRENT,
    permissionMode: env.AGENT_ORCHESTRATOR_PERMISSION_MODE || 'bypassPermissions',
    stopGraceMs: 5000,
    env,
  };
}

/** What the rest of the runtime adds to each run: the agent's environment, and watching its progress. */
export interface RunHooks {
  /** More environment for the agent of `session` (who it is, where the runtime is). */
  env(session: string): Record<string, string>;
  /** A run's process exists (or was re-adopted); resolves to a function to call once it has ended. */
  started(session: string, run: StoredRun): Promise<() => void>;
  /** The run's output so far was recorded; `parser` knows what it was billed. */
  progressed(session: string, run: StoredRun, parser: StreamParser): void;
}

export interface Executor extends RunScheduler {
  /** Stops following the agents without stopping them; a restarted runtime re-adopts them. */
  detach(): Promise<void>;
  /** Its cap, the sessions running now and the queue in the order runs will start. */
  snapshot(): { maxConcurrent: number; active: string[]; queue: string[] };
}

class ActiveRun {
  process: AgentProcess | undefined;
  done: Promise<void> = Promise.resolve();
  /** Resolves once the process is spawned, or when the run ends without one. */
  readonly spawned: Promise<void>;
  private markSpawned!: () => void;

  constructor() {
    this.spawned = new Promise((resolve) => { this.markSpawned = resolve; });
  }

  attach(process: AgentProcess): void {
    this.process = process;
    this.markSpawned();
  }

  settle(): void {
    this.markSpawned();
  }
}

/** Creates the local executor and picks up the runs a previous runtime left behind. */
export async function createExecutor(
  sessions: SessionService,
  options: Partial<ExecutorOptions> & Pick<ExecutorOptions, 'dataDir' | 'logger'>,
  hooks?: RunHooks,
): Promise<Executor> {
  const executor = new LocalExecutor(sessions, { ...executorOptionsFromEnv(), ...options }, hooks);
  sessions.useScheduler(executor);
  await executor.recover();
  return executor;
}

class LocalExecutor implements Executor {
  private readonly queue: string[] = [];
  private readonly active = new Map<string, ActiveRun>();
  private readonly runsDir: string;
  private detaching = false;
  private signalDetach!: () => void;
  private readonly detached = new Promise<'detached'>((resolve) => {
    this.signalDetach = () => resolve('detached');
  });

  constructor(private readonly sessions: SessionService, private readonly options: ExecutorOptions, private readonly hooks?: RunHooks) {
    this.runsDir = join(options.dataDir, 'runs');
  }

  enqueue(name: string): void {
    if (this.detaching || this.queue.includes(name) || this.active.has(name)) return;
    this.queue.push(name);
    this.pump();
  }

  async stop(name: string): Promise<boolean> {
    const queued = this.queue.indexOf(name);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      return false;
    }
    const entry = this.active.get(name);
    if (!entry) return false;
    await entry.spawned;
    if (!entry.process) return false;
    await entry.process.stop(this.options.stopGraceMs);
    await entry.done;
    return true;
  }

  snapshot() {
    return { maxConcurrent: this.options.maxConcurrent, active: [...this.active.keys()], queue: [...this.queue] };
  }

  async forget(name: string): Promise<void> {
    await rm(join(this.runsDir, name), { recursive: true, force: true });
  }

  async detach(): Promise<void> {
    this.detaching = true;
    this.queue.length = 0;
    this.signalDetach();
    await Promise.all([...this.active.values()].map((entry) => entry.done));
  }

  /** Re-adopts running agents (or collects what they left) and re-queues queued runs, in order. */
  async recover(): Promise<void> {
    const queued: Array<{ name: string; at: string }> = [];
    for (const session of await this.sessions.allStored()) {
      const run = lastRun(session);
      const files = runFiles(this.runsDir, session.name, run.number);
      if (run.state === 'running' || (run.state === 'queued' && existsSync(files.pid))) {
        this.track(session.name, async (entry) => this.resumeFollowing(session, run, files, entry));
      } else if (run.state === 'queued') {
        queued.push({ name: session.name, at: run.queued_at });
      }
    }
    queued.sort((a, b) => a.at.localeCompare(b.at)).forEach(({ name }) => this.enqueue(name));
  }

  private pump(): void {
    while (!this.detaching && this.active.size < this.options.maxConcurrent && this.queue.length) {
      const name = this.queue.shift()!;
      this.track(name, (entry) => this.execute(name, entry));
    }
  }

  private track(name: string, work: (entry: ActiveRun) => Promise<void>): void {
    const entry = new ActiveRun();
    this.active.set(name, entry);
    entry.done = work(entry)
      .catch((error) => this.failUnexpectedly(name, entry, error))
      .finally(() => {
        entry.settle();
        this.active.delete(name);
        this.pump();
      });
  }

  private async execute(name: string, entry: ActiveRun): Promise<void> {
    const session = await this.sessions.getStored(name);
    if (!session) return;
    const run = lastRun(session);
    if (run.state !== 'queued' || run.stop_requested) return;
    const files = runFiles(this.runsDir, name, run.number);
    let mcpServers: Record<string, unknown> | null = null;
    try {
      // One level at a time: a recursive mkdir reports ENOENT where the real error is EROFS or EACCES.
      for (const dir of [this.runsDir, dirname(files.dir), files.dir]) {
        await mkdir(dir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
      }
      await writeFile(files.prompt, run.prompt, { mode: 0o600 });
      mcpServers = agentMcpServers(session, { dataDir: this.options.dataDir, token: this.options.token, nodePath: process.execPath });
      if (mcpServers) await writeFile(files.mcpConfig, JSON.stringify({ mcpServers }), { mode: 0o600 });
    } catch (error) {
      await this.fail(name, run, startFailureReason(error, { stage: 'run-files', dir: files.dir }));
      return;
    }
    const bin = await resolveExecutable(this.options.claudeBin, this.options.env.PATH);
    if (!bin) {
      await this.fail(name, run, cliNotFoundReason(this.options.claudeBin));
      return;
    }
    // Continue the conversation once Claude Code has opened it. A run stopped before Claude Code
    // saved anything leaves no conversation to resume: then open it anew under the same id.
    let resume = session.conversation_started === true;
    let prompt = run.prompt;
    let retried = false;
    for (let attempt = 0; ; attempt++) {
      const args = claudeArgs(session, { resume, permissionMode: this.options.permissionMode, mcpConfigPath: mcpServers ? files.mcpConfig : null });
      let agent: AgentProcess;
      try {
        // A tail must never read the output of an earlier attempt; an empty file to watch from the start.
        await Promise.all([rm(files.exit, { force: true }), writeFile(files.stream, '', { mode: 0o600 }), writeFile(files.stderr, '', { mode: 0o600 })]);
      } catch (error) {
        await this.fail(name, run, startFailureReason(error, { stage: 'run-files', dir: files.dir }));
        return;
      }
      try {
        agent = await spawnAgent(bin, args, files, session.project_dir, agentEnv(session, { ...this.options.env, ...this.hooks?.env(name) }));
      } catch (error) {
        const where = (error as NodeJS.ErrnoException).syscall?.startsWith('spawn')
          ? { stage: 'spawn' as const, projectDir: session.project_dir, projectDirProblem: await inspectProjectDir(session.project_dir) }
          : { stage: 'run-files' as const, dir: files.dir };
        await this.fail(name, run, startFailureReason(error, where));
        return;
      }
      entry.attach(agent);
      // The run is `running` from the moment its process exists (not from Claude Code's first line).
      if (attempt === 0) await this.record(name, run, [], { started: true });
      const outcome = await this.follow(name, run, files, agent, 0, {
        resumed: resume,
        prompt,
        retry: retried ? undefined : (answer) => retryFor(session, run, answer),
      });
      if (outcome === 'ended' || outcome === 'detached') return;
      const current = await this.sessions.getStored(name);
      if (!current || lastRun(current).stop_requested) {
        await this.end(name, run, { exit_code: null, signal: null, reason: 'stopped by request' });
        return;
      }
      if (outcome === 'no-conversation') {
        resume = false;
        continue;
      }
      // The answer broke the output schema: ask once more in the same conversation and run.
      retried = true;
      resume = true;
      prompt = outcome.retry;
      const events = await this.sessions.countParsedEvents(name, run.number);
      await this.sessions.updateRun(name, run.number, (stored) => { stored.retry = startRetry(stored, outcome.retry, events); });
      try {
        await writeFile(files.prompt, prompt, { mode: 0o600 });
      } catch (error) {
        await this.fail(name, run, startFailureReason(error, { stage: 'run-files', dir: files.dir }));
        return;
      }
    }
  }

  private async resumeFollowing(session: StoredSession, run: StoredRun, files: RunFiles, entry: ActiveRun): Promise<void> {
    // A run in its output-schema retry: the stream holds the retry's output only.
    const recorded = await this.sessions.countParsedEvents(session.name, run.number) - (run.retry?.events_before ?? 0);
    const prompt = run.retry?.prompt ?? run.prompt;
    const adopted = adoptAgent(files);
    if (adopted) {
      this.options.logger.info(`re-adopted the running agent of session '${session.name}' (pid ${adopted.pid})`);
      entry.attach(adopted);
      // Spawned before the last runtime could say so: running from now at the latest.
      if (run.state === 'queued') await this.record(session.name, run, [], { started: true });
      await this.follow(session.name, run, files, adopted, recorded, { prompt });
      return;
    }
    // The agent ended while no runtime was watching: collect what it wrote, then close the run.
    const ended: AgentProcess = {
      pid: 0,
      exited: readExitCode(files).then((code) => ({ code, signal: null })),
      stop: async () => undefined,
    };
    await this.follow(session.name, run, files, ended, recorded, { prompt, lostReason: 'runtime restarted' });
  }

  /**
   * The last resort when running or following a run threw (a store that cannot write, a bug): the
   * run ends `failed` with the reason, its agent (if any) is ended, and the runtime goes on. If even
   * that cannot be recorded, the run stays as stored and the next start of the runtime retries it.
   */
  private async failUnexpectedly(name: string, entry: ActiveRun, error: unknown): Promise<void> {
    this.options.logger.error(`run of session '${name}' failed in the executor`, error);
    if (this.detaching) return;
    try {
      if (entry.process?.pid) signalGroup(entry.process.pid, 'SIGKILL');
      const session = await this.sessions.getStored(name);
      if (!session || isFinal(lastRun(session).state)) return;
      const reason = `the runtime could not run the agent: ${error instanceof Error ? error.message : String(error)}`;
      await this.end(name, lastRun(session), { exit_code: null, signal: null, reason });
    } catch (again) {
      this.options.logger.error(`could not record the failure of session '${name}'`, again);
    }
  }

  /**
   * Records the agent's output as it comes, then its end. `skip` events were recorded before a
   * restart. Answers 'no-conversation' (and records nothing) when a resume found no conversation.
   */
  private async follow(
    name: string, run: StoredRun, files: RunFiles, agent: AgentProcess, skip: number,
    options: { resumed?: boolean; prompt: string; lostReason?: string; retry?: ((answer: StreamParser['result']) => string | null) | undefined },
  ): Promise<'ended' | 'detached' | 'no-conversation' | { retry: string }> {
    const parser = new StreamParser(options.prompt);
    const ended = await this.hooks?.started(name, run);
    let toSkip = skip;
    let recorded = false;
    let noConversation = false;
    // Events wait here when the store refuses them (a full disk): the next lines, or the end, retry.
    const pending: EventInput[] = [];
    const flush = async () => {
      const batch = pending.splice(0);
      if (!batch.length) return;
      try {
        await this.record(name, run, batch);
      } catch (error) {
        pending.unshift(...batch);
        throw error;
      }
    };
    const tail = new LineTail(files.stream, async (lines) => {
      let events = lines.flatMap((line) => parser.parse(line));
      if (options.resumed && !recorded && isNoConversation(events)) {
        noConversation = true;
        return;
      }
      const skipped = Math.min(toSkip, events.length);
      toSkip -= skipped;
      events = events.slice(skipped);
      if (events.length) recorded = true;
      pending.push(...events);
      await flush().catch((error) => this.options.logger.warn(`could not record events of session '${name}' yet (will retry): ${error.message}`));
      if (events.length) this.hooks?.progressed(name, run, parser);
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
    await flush();
    if (options.retry && exit.code === 0) {
      const prompt = options.retry(parser.result);
      if (prompt) return { retry: prompt };
    }
    await this.end(name, run, await stopData(exit, parser, files, options.lostReason));
    return 'ended';
  }

  private async end(name: string, run: StoredRun, data: StopData): Promise<void> {
    await this.record(name, run, [{ type: 'session_stop', data }], { force: true });
  }

  /** Ends a run whose agent could not be started. */
  private async fail(name: string, run: StoredRun, reason: string): Promise<void> {
    this.options.logger.warn(`run ${run.number} of session '${name}' failed to start: ${reason}`);
    await this.end(name, run, { exit_code: null, signal: null, reason });
  }

  private async record(name: string, run: StoredRun, events: EventInput[], options: { force?: boolean; started?: boolean } = {}): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.sessions.record(name, events, { run: run.number, ...options });
        return;
      } catch (error) {
        // The session was deleted or moved on while its agent was still talking: nothing to keep.
        if (error instanceof HttpProblem && (error.status === 404 || error.status === 409)) return;
        // The database is away (a restart): the output waits in the run's files until it is back.
        if (error instanceof HttpProblem && error.status === 503 && !this.detaching) {
          if (attempt === 0) this.options.logger.warn(`session '${name}': ${error.message}; its events wait until it is back`);
          await sleep(Math.min(200 * 2 ** attempt, 5000));
          continue;
        }
        throw error;
      }
    }
  }
}

/**
 * An agent in approval mode waits in its permission tool for as long as the runtime's timeout says:
 * Claude Code must not give up on that MCP call first (measured: 2.1.197 waits at least 130 s by default).
 */
function agentEnv(session: StoredSession, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return inApprovalMode(session) ? { ...env, MCP_TOOL_TIMEOUT: String(2 ** 31 - 1) } : env;
}

type StopData = Extract<EventInput, { type: 'session_stop' }>['data'];

/** The only output of `claude --resume ID` when Claude Code has no conversation ID saved. */
function isNoConversation(events: EventInput[]): boolean {
  const [first] = events;
  return events.length === 1 && first?.type === 'result' && first.data.is_error
    && (first.data.errors ?? []).some((error) => error.startsWith('No conversation found'));
}

/**
 * How the run ended. Without a result line (stopped, crashed, lost), the usage is what the stream's
 * assistant messages billed so far (see StreamParser.billedUsage); with one, the result's totals win.
 */
async function stopData(exit: Exit, parser: StreamParser, files: RunFiles, lostReason?: string): Promise<StopData> {
  const base = { exit_code: exit.code, signal: exit.signal };
  if (parser.result) {
    return { ...base, reason: parser.result.isError ? 'Claude Code reported an error' : 'completed' };
  }
  const usage = parser.billedUsage();
  const billed = usage ? { usage } : {};
  const stderr = exit.signal || (exit.code === null && lostReason) ? '' : await readFile(files.stderr, 'utf8').catch(() => '');
  return { ...base, ...billed, reason: exitReason(exit, stderr, lostReason) };
}
