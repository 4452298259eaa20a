import { OrchestratorError } from './errors.js';
import { tokenFromFile } from './token-file.js';

/** Environment variables the SDK reads (the servers read the same ones). */
export const ENV = {
  runtimeUrl: 'AGENT_ORCHESTRATOR_SESSION_API_URL',
  registryUrl: 'AGENT_ORCHESTRATOR_AGENT_API_URL',
  token: 'AGENT_ORCHESTRATOR_API_TOKEN',
  /** Set by the runtime in every agent's environment: the session the agent works in. */
  sessionName: 'AGENT_ORCHESTRATOR_SESSION_NAME',
} as const;

export const DEFAULT_RUNTIME_URL = 'http://localhost:8765';
export const DEFAULT_REGISTRY_URL = 'http://localhost:8767';

/** What `fetch` the SDK calls: the global one unless you pass your own (for tests, proxies, logging). */
export type FetchFunction = (input: Request) => Promise<Response>;

export interface OrchestratorOptions {
  /** The Agent Runtime. Default: $AGENT_ORCHESTRATOR_SESSION_API_URL, else http://localhost:8765. */
  runtimeUrl?: string | URL | undefined;
  /** The Agent Registry. Default: $AGENT_ORCHESTRATOR_AGENT_API_URL, else http://localhost:8767. */
  registryUrl?: string | URL | undefined;
  /**
   * Sent as `Authorization: Bearer <token>` to both servers. Default: $AGENT_ORCHESTRATOR_API_TOKEN,
   * else the token `aof up` keeps in its data dir ($AGENT_ORCHESTRATOR_DATA_DIR, default
   * ~/.agent-orchestrator, file `api-token`). Pass `null` (or '') to send no token at all.
   */
  token?: string | null | undefined;
  fetch?: FetchFunction | undefined;
  /**
   * The parent of the sessions this client creates. Default: $AGENT_ORCHESTRATOR_SESSION_NAME, which
   * the runtime sets for every agent, so a session started from inside another records it. `null`: none.
   */
  parent?: string | null | undefined;
}

export interface ResolvedConfig {
  runtimeUrl: string;
  registryUrl: string;
  token: string | undefined;
  fetch: FetchFunction | undefined;
  parent: string | undefined;
}

/** Options first, then the environment, then the defaults. */
export function resolveConfig(options: OrchestratorOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const token = options.token !== undefined ? options.token : env[ENV.token] || tokenFromFile(env);
  return {
    runtimeUrl: baseUrl(
      'runtimeUrl',
      ENV.runtimeUrl,
      options.runtimeUrl ?? (env[ENV.runtimeUrl] || DEFAULT_RUNTIME_URL),
    ),
    registryUrl: baseUrl(
      'registryUrl',
      ENV.registryUrl,
      options.registryUrl ?? (env[ENV.registryUrl] || DEFAULT_REGISTRY_URL),
    ),
    token: token || undefined,
    fetch: options.fetch,
    parent: (options.parent !== undefined ? options.parent : env[ENV.sessionName]) || undefined,
  };
}

/** A base URL without a trailing slash; a path prefix (behind a proxy) is kept. */
function baseUrl(option: string, variable: string, value: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new OrchestratorError(`${option} (or ${variable}) is not a URL: '${String(value)}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OrchestratorError(
      `${option} (or ${variable}) must be an http:// or https:// URL, not '${String(value)}'`,
    );
  }
  url.search = '';
  url.hash = '';
  return url.href.replace(/\/+$/, '');
}
