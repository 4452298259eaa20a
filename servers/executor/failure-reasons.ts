/**
 * What a failed run's `error` says: what happened and what to do about it. Pure, so each wording
 * is unit-tested without producing the failure; the executor gathers the facts (the error code, the
 * state of the project dir, Claude Code's stderr) and asks here for the sentence.
 */

const RESUME = 'then resume the session';

/** Where an agent's start failed. */
export type StartStage =
  /** Writing the run's files (prompt, output, pid) under `<data dir>/runs`. */
  | { stage: 'run-files'; dir: string }
  /** Starting the process in the session's project dir. */
  | { stage: 'spawn'; projectDir: string; projectDirProblem: ProjectDirProblem | null };

/** What is wrong with a project dir, as found by looking at it (see `inspectProjectDir`). */
export type ProjectDirProblem = 'missing' | 'not-a-directory' | 'no-access';

/** Why an agent could not be started, from the error's code (errno) and where it happened. */
export function startFailureReason(error: unknown, where: StartStage): string {
  const code = errorCode(error);
  if (where.stage === 'spawn' && where.projectDirProblem)
    return projectDirReason(where.projectDir, where.projectDirProblem);
  const shared = resourceReason(code);
  if (shared) return shared;
  if (where.stage === 'run-files') {
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return `could not write the run's files in ${where.dir}: the disk is full (${code}); free space under AGENT_ORCHESTRATOR_DATA_DIR, ${RESUME}`;
    }
    if (code === 'EROFS') {
      return `could not write the run's files in ${where.dir}: the file system is read-only (EROFS); make AGENT_ORCHESTRATOR_DATA_DIR writable or move it, ${RESUME}`;
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return `could not write the run's files in ${where.dir}: permission denied (${code}); give the runtime's user write access to AGENT_ORCHESTRATOR_DATA_DIR, ${RESUME}`;
    }
    return `could not write the run's files in ${where.dir}: ${messageOf(error)}`;
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return `could not start Claude Code in ${where.projectDir}: permission denied (${code}); check the permissions of the project dir and of /bin/sh, ${RESUME}`;
  }
  return `could not start Claude Code in ${where.projectDir}: ${messageOf(error)}`;
}

function projectDirReason(dir: string, problem: ProjectDirProblem): string {
  switch (problem) {
    case 'missing':
      return `the project dir ${dir} does not exist (anymore); re-create it and resume the session, or start a new session with an existing --project-dir`;
    case 'not-a-directory':
      return `the project dir ${dir} is not a directory; put a directory there and resume the session, or start a new session with another --project-dir`;
    case 'no-access':
      return `the runtime may not enter the project dir ${dir} (permission denied); give the user running the runtime access to it (chmod/chown) and resume the session, or use another --project-dir`;
  }
}

/** Why a run failed when the executor itself threw (its store refused a write, say): a limit it hit, else the error. */
export function unexpectedFailureReason(error: unknown): string {
  return resourceReason(errorCode(error)) ?? `the runtime could not run the agent: ${messageOf(error)}`;
}

/** Limits of the runtime's process or of the machine, wherever they are hit. */
function resourceReason(code: string | undefined): string | null {
  switch (code) {
    case 'EMFILE':
    case 'ENFILE':
      return `the runtime has too many open files (${code}); raise its limit (ulimit -n) or lower AGENT_ORCHESTRATOR_MAX_CONCURRENT, ${RESUME}`;
    case 'ENOMEM':
      return `the machine is out of memory (ENOMEM) and could not start another process; free memory or lower AGENT_ORCHESTRATOR_MAX_CONCURRENT, ${RESUME}`;
    case 'EAGAIN':
      return `the system refused to start another process (EAGAIN: a process limit, ulimit -u, or memory); lower AGENT_ORCHESTRATOR_MAX_CONCURRENT or raise the limit, ${RESUME}`;
    default:
      return null;
  }
}

const INSTALL_CLI = 'install Claude Code or set AGENT_ORCHESTRATOR_CLAUDE_BIN';

/** The configured CLI (`AGENT_ORCHESTRATOR_CLAUDE_BIN`, or another CLI's variable) is neither an executable file nor on PATH. */
export function cliNotFoundReason(
  configured: string,
  cli: { title: string; binEnv: string } = { title: 'Claude Code', binEnv: 'AGENT_ORCHESTRATOR_CLAUDE_BIN' },
): string {
  return `${cli.title} CLI not found: '${configured}' is not an executable file or on PATH; install ${cli.title} or set ${cli.binEnv}`;
}

/** Claude Code's refusal of bypassPermissions as root, which it prints on stderr. */
const ROOT_REFUSAL = /cannot be used with root\/sudo/i;

export const ROOT_ADVICE =
  'the runtime runs as root, where Claude Code refuses bypassPermissions: set IS_SANDBOX=1 in the ' +
  "runtime's environment if this machine is a sandbox, or run the runtime as a normal user, or choose another " +
  "permission mode (AGENT_ORCHESTRATOR_PERMISSION_MODE, or the blueprint's permission_mode)";

/** The reason of a run that ended without a result line, from its exit and Claude Code's stderr. */
export function exitReason(
  exit: { code: number | null; signal: string | null },
  stderr: string,
  lostReason?: string,
  title = 'Claude Code',
): string {
  if (exit.signal) return `${title} was ended by ${exit.signal}`;
  if (exit.code === null && lostReason) return lostReason;
  const text = stderr.trim();
  const detail = text ? `: ${text.slice(-2000)}` : '';
  const advice = ROOT_REFUSAL.test(text) ? `. ${capitalize(ROOT_ADVICE)}` : '';
  if (exit.code === 127) {
    return (
      `${title} could not be run (exit code 127: the CLI was not found or not executable)${detail}; ` +
      `${INSTALL_CLI}, ${RESUME}`
    );
  }
  return `${title} exited with code ${exit.code ?? 'unknown'} without a result${detail}${advice}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The errno code of an error, of its cause, or at the head of its message when a layer re-threw it as text. */
function errorCode(error: unknown): string | undefined {
  const { code, cause, message } = (error ?? {}) as { code?: unknown; cause?: unknown; message?: unknown };
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  if (cause !== undefined && cause !== error) {
    const inner = errorCode(cause);
    if (inner) return inner;
  }
  return typeof message === 'string' ? /^(E[A-Z]{3,}):/.exec(message)?.[1] : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What a runner knows when Claude Code answered a `--resume` with "No conversation found": whether it
 * had restored the session's saved conversation first (see conversation-files.ts), and where.
 */
export type MissingConversation = {
  claudeSessionId: string;
} /** The runtime had no conversation saved for the session. */ & (
  | { restoredAt: null }
  /** It was written to `restoredAt` for the agent's cwd, and Claude Code still did not find it. */
  | { restoredAt: string; cwd: string }
);

/** Why a resume found no conversation to continue, and what to do about it. */
export function conversationNotFoundReason(facts: MissingConversation): string {
  if (facts.restoredAt === null) {
    return (
      `Claude Code has no conversation ${facts.claudeSessionId} on this host, and the runtime has none saved for the session ` +
      '(its last run ended before its conversation could be kept): what the agent said before is lost; resume the session ' +
      'with a prompt that gives the context again, or start a new session'
    );
  }
  return (
    `Claude Code found no conversation ${facts.claudeSessionId} although it was restored to ${facts.restoredAt} for the project dir ` +
    `${facts.cwd}: the agent's Claude Code keeps its conversations elsewhere. Give the runner the agent's CLAUDE_CONFIG_DIR and HOME, ` +
    'and a Claude Code that keeps conversations in <config dir>/projects/<real path of the project dir, every character but ' +
    `ASCII letters and digits as '-'>/<session id>.jsonl, ${RESUME}`
  );
}

/**
 * What to tell when a conversation recorded in one directory continues in another (a project dir
 * whose real path differs on this host, e.g. through a symlink): it resumes, but the paths it
 * mentions are the old ones. Null when the directories are the same.
 */
export function conversationMovedNote(recordedCwd: string | null, cwd: string): string | null {
  if (recordedCwd === null || recordedCwd === cwd) return null;
  return (
    `the conversation was recorded in ${recordedCwd} and continues in ${cwd}: files it mentions under ${recordedCwd} ` +
    'may not be there on this host'
  );
}

/**
 * What would fail every run, said when the executor starts (the advice each failed run would give):
 * a Claude Code CLI that is not there, root without IS_SANDBOX under bypassPermissions.
 */
export async function startWarnings(options: {
  claudeBin: string;
  permissionMode: string;
  env: NodeJS.ProcessEnv;
  isRoot: boolean;
}): Promise<string[]> {
  const { resolveExecutable } = await import('./claude-command.js');
  const warnings: string[] = [];
  if (!(await resolveExecutable(options.claudeBin, options.env.PATH)))
    warnings.push(`every run will fail until this is fixed: ${cliNotFoundReason(options.claudeBin)}`);
  if (options.isRoot && options.permissionMode === 'bypassPermissions' && !options.env.IS_SANDBOX)
    warnings.push(`runs in bypassPermissions mode will fail: ${ROOT_ADVICE}`);
  return warnings;
}
