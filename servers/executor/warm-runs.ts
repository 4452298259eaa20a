/**
 * Runs on warm processes: the executor's one door to the pool. From a run's cold spawn (binary,
 * flags, project dir, environment) it derives the pool's key, takes a warm process when one matches
 * (binding the process's own credential to the run first), and says what to keep warm next: the
 * blueprint's `warm` processes in the project dir it was last used in, and a session's follow-up.
 */
import type { Logger } from '../common/logger.js';
import type { AgentProcess, RunFiles } from '../runtime/executor/agent-process.js';
import type { StoredSession } from '../runtime/session-store.js';
import type { Launch, WarmPool } from './warm-pool.js';
import { WarmUnusable } from './warm-process.js';

/** Environment that is the session's own, fixed only once a run takes a warm process. */
export const PER_SESSION_ENV = ['AGENT_ORCHESTRATOR_SESSION_NAME', 'AGENT_ORCHESTRATOR_API_TOKEN', 'TRACEPARENT'];

/** How a run would start cold. */
export interface ColdSpawn {
  bin: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  mcpServers: Record<string, unknown> | null;
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
    if (value !== undefined && !PER_SESSION_ENV.includes(name)) env[name] = value;
  return { bin: cold.bin, cwd: cold.cwd, args, env, mcpServers: cold.mcpServers, resume, label };
}

/** What a session's runs are, for a person reading the pool's figures. */
export function launchLabel(session: StoredSession, resume: boolean): string {
  const what = session.blueprint?.name ?? session.agent ?? '(no blueprint)';
  return `${what} @ ${session.project_dir}${resume ? ` (resume of ${session.name})` : ''}`;
}

/** Ties a credential to the run that uses it (the runtime keeps only its hash, with the run). */
export type BindCredential = (session: string, run: number, credential: string) => Promise<void>;

/** The warm settings of a blueprint (`warm`, `warm_after_run`), zero when it has none. */
export function warmSettings(session: StoredSession): { warm: number; afterRunSeconds: number } {
  return { warm: session.blueprint?.warm ?? 0, afterRunSeconds: session.blueprint?.warm_after_run ?? 0 };
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
   * On success the claim's session holds the conversation id the process opened.
   */
  async start(
    session: StoredSession,
    run: { number: number; credential?: string | undefined },
    files: RunFiles,
    prompt: string,
    cold: ColdSpawn,
  ): Promise<AgentProcess | null> {
    const resume = cold.args.includes('--resume');
    const launch = launchOf(cold, launchLabel(session, resume));
    const conversation = session.claude_session_id;
    if (!conversation) return null;
    if (!launch) {
      // The conversation moves on: a process warm for its earlier state is no use.
      this.pool.forgetConversation(conversation);
      return null;
    }
    const { warm } = warmSettings(session);
    if (!resume && session.blueprint?.name) {
      // Per blueprint, in the project dir it was last used in.
      if (warm > 0) this.pool.want(`blueprint:${session.blueprint.name}`, launch, warm);
      else this.pool.drop(`blueprint:${session.blueprint.name}`);
    }
    const process = await this.pool.take(launch);
    if (resume) this.pool.forgetConversation(conversation);
    if (!process) return null;
    const credential = process.spec.env.AGENT_ORCHESTRATOR_API_TOKEN;
    try {
      if (credential) await this.bind(session.name, run.number, credential);
      const agent = await process.take(files, prompt);
      session.claude_session_id = process.spec.sessionId;
      return agent;
    } catch (error) {
      if (!(error instanceof WarmUnusable)) throw error;
      this.pool.fellBack(launch);
      this.logger.warn(`session '${session.name}': starting cold: ${error.message}`);
      // Its own credential again, for the cold start.
      if (credential && run.credential) await this.bind(session.name, run.number, run.credential);
      return null;
    }
  }

  /**
   * A run of `session` ended: its follow-up (a resume) is kept warm for the blueprint's window, or
   * while children it waits on run (until the pool's time to live), if the conversation was opened.
   */
  ended(session: StoredSession, resumeCold: ColdSpawn, now: number, awaitsCallbacks: boolean): void {
    if (!session.conversation_started) return;
    const seconds = warmSettings(session).afterRunSeconds || (this.pool.all ? ALL_AFTER_RUN_SECONDS : 0);
    const until = now + (awaitsCallbacks ? Math.max(seconds * 1000, this.pool.idleTtlMs) : seconds * 1000);
    if (!seconds && !awaitsCallbacks) return;
    const launch = launchOf(resumeCold, launchLabel(session, true));
    if (launch?.resume) this.pool.want(`after:${session.name}`, launch, 1, until);
  }
}
