/** The paged session list (`GET /sessions`), as the board and the usage view read it. */
import type { Orchestrator } from '../../sdk/index.js';
import type { RunState, Totals } from '../../sdk/types.js';
import type { Counts } from './attention.js';

export interface SessionSummary {
  name: string;
  agent: string | null;
  project_dir: string;
  state: RunState;
  created_at: string;
  updated_at: string;
  last_resumed_at: string | null;
  runs: number;
  last_run: { number: number; state: RunState; queued_at: string; started_at: string | null; ended_at: string | null; error: string | null };
  totals: Totals;
}

export interface SessionPage {
  sessions: SessionSummary[];
  next_cursor: string | null;
  counts: Counts;
}

export interface ListParams {
  limit?: number;
  cursor?: string;
  state?: RunState[];
  agent?: string;
  prefix?: string;
  project_dir?: string;
}

export function listPage(client: Orchestrator, params: ListParams): Promise<SessionPage> {
  return (client.sessions.list as unknown as (p: ListParams) => Promise<SessionPage>)(params);
}

/** Every session matching `params`, page after page. */
export async function listEvery(client: Orchestrator, params: ListParams, onPage?: (count: number) => void): Promise<SessionSummary[]> {
  const all: SessionSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await listPage(client, { ...params, limit: 500, ...(cursor ? { cursor } : {}) });
    all.push(...page.sessions);
    onPage?.(all.length);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return all;
}
