/**
 * Runs on warm processes: the executor's one door to the pool. From a run's cold spawn (binary,
 * flags, project dir, environment) it derives the pool's key, takes a warm process when one matches
 * (binding the process's own credential to the run first), and says what to keep warm next: the
 * blueprint's `warm` processes in the project dir it was last used in, and a session's follow-up.
 */
import type { Logger } from '../common/logger.js';
import type { AgentProcess, RunFiles } from './agent-process.js';
import type { RunSpec } from './run-spec.js';
import type { Launch, WarmPool } from './warm-pool.js';
import { WarmUnusable } from './warm-process.js';

/** How a run would start cold. */
export interface ColdSpawn {
  bin: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  mcpServers: Record<string, unknown> | null;
  /** Its environment's variables that are the session's own (its name, TRACEPARENT, its run's credential). */
  perSession: readonly string[];
}

/** Flags that take a value and are not part of the key (the conversation's, the MCP config file's path). */
const PER_RUN_FLAGS = new Set(['--session-id', '--resume', '--mcp-config']);

/**
 * The pool's launch for a cold spawn, or null when it cannot start warm: a fork's first run (it
 * copies a conversation as it stands when the run starts) and approval mode (its permission tool is
 * told the session's name when it starts).
 */
export function launchOf(cold: ColdSpawn, label: string): Launch | null {
  if (cold.args.includes('--fork-session') || cold.args.includes('--permission-prompt-tool')) return null;
  const args: string[] = [];
  let resume: string | undefined;
  for (let i = 0; i < cold.args.length; i++) {
    const arg = cold.args[i]!;
    if (PER_RUN_FLAGS.has(arg)) {
      if (arg === '--resume') resume = cold.args[i + 1];
      i++;
      continue;
    }
    args.push(arg);
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(cold.env))
    if (value !== undefined && !cold.perSession.includes(name)) env[name] = value;
  return { bin: cold.bin, cwd: cold.cwd, args, env, mcpServers: cold.mcpServers, resume, label };
}

/** What a session's runs are, for a person reading the pool's figures. */
export function launchLabel(spec: RunSpec, resume: boolean): string {
  const what = spec.warm?.blueprint ?? '(no blueprint)';
  return `${what} @ ${spec.project_dir}${resume ? ` (resume of ${spec.session})` : ''}`;
}

/** Ties a credential to the run that uses it (the runtime keeps only its hash, with the run). */
export type BindCredential = (session: string, run: number, credential: string) => Promise<void>;

/** The warm settings of the session's blueprint (`warm`, `warm_after_run`), zero when it has none. */
export function warmSettings(spec: RunSpec): { warm: number; afterRunSeconds: number } {
  return { warm: spec.warm?.count ?? 0, afterRunSeconds: spec.warm?.after_run_seconds ?? 0 };
}

/** The window a session's follow-up stays warm when the pool keeps every key warm. */
const ALL_AFTER_RUN_SECONDS = 60;

export class WarmRuns {
  constructor(
    readonly pool: WarmPool,
    private readonly bind: BindCredential,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts the run on a warm process if one matches its cold spawn; null when it must start cold
   * (no match, or the warm process could not serve it: then nothing of it is left in the run's files).
   * On success the RunSpec holds the conversation id the process opened.
   */
  async start(spec: RunSpec, files: RunFiles, prompt: string, cold: ColdSpawn): Promise<AgentProcess | null> {
    const resume = cold.args.includes('--resume');
    const launch = launchOf(cold, launchLabel(spec, resume));
    const conversation = spec.conversation.id;
    if (!conversation) return null;
    if (!launch) {
      // The conversation moves on: a process warm for its earlier state is no use.
      this.pool.forgetConversation(conversation);
      return null;
    }
    const { warm } = warmSettings(spec);
    const blueprint = spec.warm?.blueprint;
    if (!resume && blueprint) {
      // Per blueprint, in the project dir it was last used in.
      if (warm > 0) this.pool.want(`blueprint:${blueprint}`, launch, warm);
      else this.pool.drop(`blueprint:${blueprint}`);
    }
    const process = await this.pool.take(launch);
    if (resume) this.pool.forgetConversation(conversation);
    if (!process) return null;
    const credential = process.spec.env.AGENT_ORCHESTRATOR_API_TOKEN;
    try {
      if (credential) await this.bind(spec.session, spec.run, credential);
      const agent = await process.take(files, prompt, spec.env.vars);
      spec.conversation.id = process.spec.sessionId;
      this.logger.info(`session '${spec.session}': run ${spec.run} started on a warm Claude Code process`, {
        session: spec.session,
        run: spec.run,
      });
      return agent;
    } catch (error) {
      if (!(error instanceof WarmUnusable)) throw error;
      this.pool.fellBack(launch);
      this.logger.warn(`session '${spec.session}': starting cold: ${error.message}`);
      // Its own credential again, for the cold start.
      if (credential && spec.env.credential) await this.bind(spec.session, spec.run, spec.env.credential);
      return null;
    }
  }

  /**
   * A run of `session` ended: its follow-up (a resume) is kept warm for the blueprint's window, or
   * while children it waits on run (until the pool's time to live), if the conversation was opened.
   */
  ended(spec: RunSpec, resumeCold: ColdSpawn, now: number, awaitsCallbacks: boolean): void {
    if (!spec.conversation.started) return;
    const seconds = warmSettings(spec).afterRunSeconds || (this.pool.all ? ALL_AFTER_RUN_SECONDS : 0);
    const until = now + (awaitsCallbacks ? Math.max(seconds * 1000, this.pool.idleTtlMs) : seconds * 1000);
    if (!seconds && !awaitsCallbacks) return;
    const launch = launchOf(resumeCold, launchLabel(spec, true));
    if (launch?.resume) this.pool.want(`after:${spec.session}`, launch, 1, until);
  }
}
