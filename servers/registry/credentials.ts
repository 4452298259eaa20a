/**
 * The registry holds one credential itself, the servers' token. An agent's run credential lives with
 * its run in the Agent Runtime, and people's named tokens in its store, so the registry asks the
 * runtime who they name (`GET /whoami`), on
 * each request: a credential dies the moment its run ends, and no copy of the runtime's store has
 * to be kept here. Blueprints are read rarely (once per session start), so the extra call is cheap.
 */
import {
  AGENT_CREDENTIAL_PREFIX,
  DASHBOARD_SESSION_PREFIX,
  NAMED_TOKEN_PREFIX,
  type Principal,
} from '../common/http/principal.js';
import { HttpProblem } from '../common/contract/problem.js';

const TIMEOUT_MS = 10_000;

/** Who `credential` names, as the runtime at `runtimeUrl()` says; undefined when it names nobody. */
export function runtimeAuthenticator(
  runtimeUrl: () => string | undefined,
): (credential: string) => Promise<Principal | undefined> {
  return async (credential) => {
    if (
      !credential.startsWith(AGENT_CREDENTIAL_PREFIX) &&
      !credential.startsWith(NAMED_TOKEN_PREFIX) &&
      !credential.startsWith(DASHBOARD_SESSION_PREFIX)
    )
      return undefined;
    const base = runtimeUrl()?.replace(/\/+$/, '');
    if (!base) return undefined;
    let response: Response;
    try {
      response = await fetch(`${base}/whoami`, {
        headers: { authorization: `Bearer ${credential}`, accept: 'application/json' },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new HttpProblem(
        503,
        `An agent's credential cannot be checked: the Agent Runtime at ${base} does not answer (${code})`,
      );
    }
    if (response.status === 401) return undefined;
    if (!response.ok) {
      throw new HttpProblem(
        503,
        `An agent's credential cannot be checked: the Agent Runtime at ${base} answered ${response.status}`,
      );
    }
    return (await response.json()) as Principal;
  };
}
