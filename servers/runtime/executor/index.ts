import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { HttpProblem } from '../../common/problem.js';
import type { RunScheduler, SessionService } from '../session-service.js';
import { lastRun, type EventInput, type StoredRun, type StoredSession } from '../session-store.js';
import { adoptAgent, readExitCode, runFiles, signalGroup, spawnAgent, type AgentProcess, type Exit, type RunFiles } from './agent-process.js';
import { claudeArgs, resolveExecutable } from './claude-command.js';
import { LineTail } from './line-tail.js';
import { StreamParser } from './stream-parser.js';

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
export async function createExecutor(sessions: SessionService, options: Partial<ExecutorOptions> & Pick<ExecutorOptions, 'dataDir' | 'logger'>): Promise<Executor> {
  const executor = new LocalExecutor(sessions, { ...executorOptionsFromEnv(), ...options });
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

  constructor(private readonly sessions: SessionService, private readonly options: ExecutorOptions) {
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
      .catch((error) => this.options.logger.error(`run of session '${name}' failed in the executor`, error))
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
    await mkdir(files.dir, { recursive: true, mode: 0o700 });
    await writeFile(files.prompt, run.prompt, { mode: 0o600 });
    const bin = await resolveExecutable(this.options.claudeBin, this.options.env.PATH);
    if (!bin) {
      await this.end(name, run, {
        exit_code: null,
        signal: null,
        reason: `Claude Code CLI not found: '${this.options.claudeBin}' is not an executable file or on PATH; install Claude Code or set AGENT_ORCHESTRATOR_CLAUDE_BIN`,
      });
      return;
    }
    if (session.blueprint?.mcp_servers) {
      await writeFile(files.mcpConfig, JSON.stringify({ mcpServers: session.blueprint.mcp_servers }), { mode: 0o600 });
    }
    // Continue the conversation once Claude Code has opened it. A run stopped before Claude Code
    // saved anything leaves no conversation to resume: then open it anew under the same id.
    let resume = session.conversation_started === true;
    for (;;) {
      const args = claudeArgs(session, { resume, permissionMode: this.options.permissionMode, mcpConfigPath: files.mcpConfig });
      // A tail must never read the output of an earlier attempt; an empty file to watch from the start.
      await Promise.all([rm(files.exit, { force: true }), writeFile(files.stream, '', { mode: 0o600 }), writeFile(files.stderr, '', { mode: 0o600 })]);
      entry.attach(spawnAgent(bin, args, files, session.project_dir, this.options.env));
      const outcome = await this.follow(name, run, files, entry.process!, 0, { resumed: resume });
      if (outcome !== 'no-conversation') return;
      resume = false;
      const current = await this.sessions.getStored(name);
      if (!current || lastRun(current).stop_requested) {
        await this.end(name, run, { exit_code: null, signal: null, reason: 'stopped by request' });
        return;
      }
    }
  }

  private async resumeFollowing(session: StoredSession, run: StoredRun, files: RunFiles, entry: ActiveRun): Promise<void> {
    const recorded = await this.sessions.countParsedEvents(session.name, run.number);
    const adopted = adoptAgent(files);
    if (adopted) {
      this.options.logger.info(`re-adopted the running agent of session '${session.name}' (pid ${adopted.pid})`);
      entry.attach(adopted);
      await this.follow(session.name, run, files, adopted, recorded);
      return;
    }
    // The agent ended while no runtime was watching: collect what it wrote, then close the run.
    const ended: AgentProcess = {
      pid: 0,
      exited: readExitCode(files).then((code) => ({ code, signal: null })),
      stop: async () => undefined,
    };
    await this.follow(session.name, run, files, ended, recorded, { lostReason: 'runtime restarted' });
  }

  /**
   * Records the agent's output as it comes, then its end. `skip` events were recorded before a
   * restart. Answers 'no-conversation' (and records nothing) when a resume found no conversation.
   */
  private async follow(
    name: string, run: StoredRun, files: RunFiles, agent: AgentProcess, skip: number,
    options: { resumed?: boolean; lostReason?: string } = {},
  ): Promise<'ended' | 'detached' | 'no-conversation'> {
    const parser = new StreamParser(run.prompt);
    let toSkip = skip;
    let recorded = false;
    let noConversation = false;
    const tail = new LineTail(files.stream, async (lines) => {
      let events = lines.flatMap((line) => parser.parse(line));
      if (options.resumed && !recorded && isNoConversation(events)) {
        noConversation = true;
        return;
      }
      const skipped = Math.min(toSkip, events.length);
      toSkip -= skipped;
      events = events.slice(skipped);
      if (events.length) {
        recorded = true;
        await this.record(name, run, events);
      }
    });
    tail.start();
    const exit = await Promise.race([agent.exited, this.detached]);
    if (exit === 'detached') {
      await tail.detach();
      return 'detached';
    }
    await tail.finish();
    if (agent.pid) signalGroup(agent.pid, 'SIGKILL');
    if (noConversation) return 'no-conversation';
    await this.end(name, run, await stopData(exit, parser, files, options.lostReason));
    return 'ended';
  }

  private async end(name: string, run: StoredRun, data: Extract<EventInput, { type: 'session_stop' }>['data']): Promise<void> {
    await this.record(name, run, [{ type: 'session_stop', data }], true);
  }

  private async record(name: string, run: StoredRun, events: EventInput[], force = false): Promise<void> {
    try {
      await this.sessions.record(name, events, { run: run.number, force });
    } catch (error) {
      // The session was deleted or moved on while its agent was still talking: nothing to keep.
      if (error instanceof HttpProblem && (error.status === 404 || error.status === 409)) return;
      throw error;
    }
  }
}

/** The only output of `claude --resume ID` when Claude Code has no conversation ID saved. */
function isNoConversation(events: EventInput[]): boolean {
  const [first] = events;
  return events.length === 1 && first?.type === 'result' && first.data.is_error
    && (first.data.errors ?? []).some((error) => error.startsWith('No conversation found'));
}

async function stopData(exit: Exit, parser: StreamParser, files: RunFiles, lostReason?: string) {
  const base = { exit_code: exit.code, signal: exit.signal };
  if (parser.result) {
    return { ...base, reason: parser.result.isError ? 'Claude Code reported an error' : 'completed' };
  }
  if (exit.signal) return { ...base, reason: `Claude Code was ended by ${exit.signal}` };
  if (exit.code === null && lostReason) return { ...base, reason: lostReason };
  const stderr = (await readFile(files.stderr, 'utf8').catch(() => '')).trim();
  const detail = stderr ? `: ${stderr.slice(-2000)}` : '';
  return { ...base, reason: `Claude Code exited with code ${exit.code ?? 'unknown'} without a result${detail}` };
}
