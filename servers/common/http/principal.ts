/**
 * Who makes a request. A person holds the servers' token; an agent holds its run's credential,
 * whose scope is its own session and that session's descendants (servers/runtime/scope.ts). The
 * name is what a record of who did something keeps: a person's token name, an agent's session.
 */
import type { Context } from 'koa';
import type { components } from '../../../sdk/generated/runtime.js';
import { HttpProblem } from '../contract/problem.js';

export type Principal = components['schemas']['Principal'];
export type PersonPrincipal = Principal & { kind: 'person' };
export type AgentPrincipal = Principal & { kind: 'agent'; run: number };

/** The person with every power: AGENT_ORCHESTRATOR_API_TOKEN, the data dir's token, or nobody checked. */
/** How an agent's run credential begins (servers/runtime/agent-credentials.ts). */
export const AGENT_CREDENTIAL_PREFIX = 'aofa_';

/** How a person's named token begins (servers/runtime/tokens.ts). */
export const NAMED_TOKEN_PREFIX = 'aoft_';

/** How a dashboard session (its cookie's value) begins (servers/runtime/dashboard-login.ts). */
export const DASHBOARD_SESSION_PREFIX = 'aofs_';

export const ADMIN: PersonPrincipal = { kind: 'person', name: 'admin', role: 'admin' };

export const isAgent = (principal: Principal): principal is AgentPrincipal => principal.kind === 'agent';

/** Set by the security guard on every request that passed it. */
export function principalOf(ctx: Context): Principal {
  return (ctx.state as { principal?: Principal }).principal ?? ADMIN;
}

/** How a refusal names the caller. */
export const describe = (principal: Principal): string =>
  isAgent(principal)
    ? `the agent of session '${principal.name}'`
    : principal.kind === 'runner'
      ? `runner token '${principal.name}'`
      : `${principal.name} (${principal.role ?? 'person'})`;

/** 403 `forbidden`: a person whose role does not allow `what` (the operation in words: `start sessions`). */
export function forbiddenFor(person: Principal, what: string, why: string): HttpProblem {
  return new HttpProblem(403, `${describe(person)} may not ${what}: ${why}`, { code: 'forbidden' });
}

/** 403 `out-of-scope`: what was refused, and why. */
export function outOfScope(principal: Principal, what: string, why: string): HttpProblem {
  return new HttpProblem(403, `${describe(principal)} may not ${what}: ${why}`, { code: 'out-of-scope' });
}
