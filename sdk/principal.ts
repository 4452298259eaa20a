import type { Principal } from './types.js';

/**
 * How people read a principal (who did something): `alice (operator)`, `admin`, `agent of session
 * 'lead' (run 2)`, `runner build-1`. Null (nobody asked: a limit, the timeout) reads as `aof`.
 */
export function describePrincipal(principal: Principal | null | undefined): string {
  if (!principal) return 'aof';
  if (principal.kind === 'agent')
    return `agent of session '${principal.name}'${principal.run ? ` (run ${principal.run})` : ''}`;
  if (principal.kind === 'runner') return `runner ${principal.name}`;
  return principal.role && principal.role !== 'admin' ? `${principal.name} (${principal.role})` : principal.name;
}
