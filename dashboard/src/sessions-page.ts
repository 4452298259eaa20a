/** The paged session list (`GET /sessions`), as the board, the blueprints and the usage view read it. */
import type { Orchestrator } from '../../sdk/index.js';
import type { SessionPage, SessionSummary } from '../../sdk/types.js';

export type { SessionPage, SessionSummary };
export type ListParams = NonNullable<Parameters<Orchestrator['sessions']['list']>[0]>;

export function listPage(client: Orchestrator, params: ListParams): Promise<SessionPage> {
  return client.sessions.list(params);
}

/** Every session matching `params`, page after page (500 a page), reporting how many so far. */
export async function listEvery(
  client: Orchestrator,
  params: ListParams,
  onProgress?: (count: number) => void,
): Promise<SessionSummary[]> {
  const all: SessionSummary[] = [];
  for await (const session of client.sessions.iterate({ ...params, limit: 500 })) {
    all.push(session);
    if (all.length % 500 === 0) onProgress?.(all.length);
  }
  return all;
}
