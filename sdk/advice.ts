/**
 * What a client tells its user when a call fails: what happened and what to do next, for each kind
 * of failure (the problem codes, a lost connection, a wait that ran out). The one home of this text;
 * each client (the `ao-*` commands, the MCP tools) fills in its own names for the next steps.
 */
import { ApiError, ConnectionError, OrchestratorError, ServerError, WaitTimeoutError } from './errors.js';

/** How a client names the things its user can do next. */
export interface ClientTerms {
  /** How blueprints are called in this client: `Agent` or `Agent blueprint`. */
  agent: string;
  startSession(name: string): string;
  resumeSession(name: string): string;
  /** Waiting for a run to end. */
  waitForSession(name: string): string;
  sessionStatus(name: string): string;
  sessionResult(name: string): string;
  stopSession(name: string): string;
  sessionEvents(name: string): string;
  listSessions: string;
  listAgents: string;
  activateAgent(name: string): string;
  /** How to give a project directory, e.g. `with --project-dir`. */
  projectDir: string;
  /** Where the environment variables are set, e.g. ` in this MCP server's environment` (or empty). */
  environment: string;
  /**
   * How this client names a request field (`body.worktree`) to its user, e.g. a command's flag
   * (`--worktree`); without it, errors name the API's fields.
   */
  field?(field: string): string;
}

/** What the failed call was about, so the advice can name it. */
export interface AdviceSubject {
  session?: string | undefined;
  agent?: string | undefined;
  projectDir?: string | undefined;
  /** The call resumed `session` (a missing session is then one to start). */
  resuming?: boolean | undefined;
  /** The call waited for `session` to end (a missing session was deleted meanwhile). */
  waiting?: boolean | undefined;
  /** The call forked `session`. */
  forking?: boolean | undefined;
}

export interface Advice {
  /** A problem code (`session-busy`, ...), or `connection`, `timeout`, `error` for failures without one. */
  code: string;
  /** What happened — what to do next. */
  message: string;
}

/** Which variable points each client at each server. */
export const URL_VARIABLES: Record<string, string> = {
  'Agent Runtime': 'AGENT_ORCHESTRATOR_SESSION_API_URL',
  'Agent Registry': 'AGENT_ORCHESTRATOR_AGENT_API_URL',
};

/** A sentence made a clause, to be followed by ` — advice`: its closing full stop dropped. */
export function clause(text: string): string {
  return text.replace(/\.\s*$/, '');
}

/** What to say about a run that failed or was stopped (an outcome, not an error of the call). */
export function endedRunAdvice(
  result: { name: string; run: number | null; state: string; error: string | null },
  terms: ClientTerms,
): string {
  const verb = result.state === 'stopped' ? 'was stopped' : 'failed';
  return `Session '${result.name}' ${verb}${result.run ? ` (run ${result.run})` : ''}: ${clause(result.error ?? 'no reason given')} — see its events with ${terms.sessionEvents(result.name)}; continue it with ${terms.resumeSession(result.name)}`;
}

/** The advice for an SDK error, or undefined for anything else (the client's own errors). */
export function advise(error: unknown, terms: ClientTerms, subject: AdviceSubject = {}): Advice | undefined {
  if (error instanceof ConnectionError) {
    const variable = URL_VARIABLES[error.service] ?? 'its URL variable';
    return {
      code: 'connection',
      message: `Cannot connect to ${error.service} at ${error.url}${error.code ? ` (${error.code})` : ''} — start it with \`npm start\` in the aof repository (or \`aof up\`), or set ${variable}${terms.environment} to where it runs`,
    };
  }
  if (error instanceof WaitTimeoutError) {
    const name = error.session;
    return {
      code: 'timeout',
      message: `${clause(error.message)} — it keeps running; check it with ${terms.sessionStatus(name)} and collect it with ${terms.sessionResult(name)}`,
    };
  }
  if (error instanceof ApiError) {
    const code = error.code ?? (error instanceof ServerError ? 'internal-error' : 'error');
    return { code, message: inTermsOf(terms, apiAdvice(error, code, terms, subject)) };
  }
  if (error instanceof OrchestratorError) return { code: 'error', message: error.message };
  return undefined;
}

function apiAdvice(error: ApiError, code: string, terms: ClientTerms, subject: AdviceSubject): string {
  const session = subject.session ?? '?';
  const agent = subject.agent ?? '?';
  switch (code) {
    case 'session-not-found':
      if (subject.waiting) return `Session '${session}' was deleted while waiting for it`;
      if (subject.resuming)
        return `Session '${session}' not found — start it with ${terms.startSession(session)} (see ${terms.listSessions})`;
      return `Session '${session}' not found — see ${terms.listSessions}`;
    case 'session-exists':
      return `Session '${session}' already exists — continue it with ${terms.resumeSession(session)}, or pick another name`;
    case 'session-busy':
      // A fork of it that has not started yet holds it still: the server names the fork.
      if (/was forked from/.test(error.message)) return error.message;
      return `Session '${session}' is still queued or running — wait for it with ${terms.waitForSession(session)}, or stop it with ${terms.stopSession(session)}, then ${subject.forking ? 'fork it' : 'resume'}`;
    case 'no-conversation':
      return `Session '${session}' has no conversation to fork yet (its runs never reached Claude Code) — continue it with ${terms.resumeSession(session)} first`;
    case 'session-not-ended':
      return `Session '${session}' is still queued or running, so it has no result yet — wait for it with ${terms.waitForSession(session)} (or check ${terms.sessionStatus(session)})`;
    case 'agent-not-found':
      return `${terms.agent} '${agent}' not found — see ${terms.listAgents}`;
    case 'agent-exists':
      return `${terms.agent} '${agent}' already exists — see ${terms.listAgents}, or pick another name`;
    case 'agent-inactive':
      return `${terms.agent} '${agent}' is inactive — activate it first with ${terms.activateAgent(agent)} (see ${terms.listAgents})`;
    case 'parent-not-found':
      return `${clause(error.message)} — name an existing session as the parent (see ${terms.listSessions}), or start it without one`;
    case 'parent-cycle':
      return `${clause(error.message)} — name another session as the parent`;
    case 'webhook-not-allowed':
      return `The webhook URL is refused: ${clause(error.errors[0]?.message ?? error.message)} — use a public address, or ask whoever runs the Agent Runtime to list the host there`;
    case 'project-dir-invalid':
      return `Project directory '${subject.projectDir ?? '?'}' is not an existing directory on the Agent Runtime's machine — pass one ${terms.projectDir}`;
    case 'unauthorized':
      return `${error.service} refused the request: ${clause(error.message)} — set AGENT_ORCHESTRATOR_API_TOKEN${terms.environment} to the token the servers were started with`;
    case 'forbidden-host':
    case 'forbidden-origin':
    case 'forbidden':
      return `${error.service} refused the request: ${error.message}`;
    case 'registry-unavailable':
      return `${clause(error.message)} — start the Agent Registry (\`npm start\` runs both servers), or set AGENT_ORCHESTRATOR_AGENT_API_URL where the Agent Runtime runs`;
    case 'database-unavailable':
      return `${error.service} cannot reach its database right now: ${clause(error.message)} — check that PostgreSQL runs and AGENT_ORCHESTRATOR_DATABASE_URL points at it, then try again`;
    default:
      if (error instanceof ServerError)
        return `${error.service} failed: ${clause(error.message)} — see the server's log`;
      // A field error the detail already says (`body.x: message`) is not repeated.
      return [
        error.message,
        ...error.errors.filter((e) => !error.message.includes(e.message)).map((e) => `${e.field} ${e.message}`),
      ].join('; ');
  }
}

/** The request fields a message names (`body.limits.max_cost_usd`), named as the client names them. */
function inTermsOf(terms: ClientTerms, text: string): string {
  const field = terms.field;
  // Only where a field leads a message or one of its parts: a path in the text may look like one.
  return field
    ? text.replace(/(^|; )((?:body|query|path)\.[A-Za-z_][\w.]*[A-Za-z_])/g, (_, before, name) => before + field(name))
    : text;
}
