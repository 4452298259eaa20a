/**
 * `GET /usage`: tokens, cost and time of the sessions' runs, summed per session, per agent, per
 * UTC day and in total. Pure: it reads the sessions it is handed one by one (the store decides how
 * they are read) and keeps only the sums, so its memory grows with sessions, agents and days, not
 * with prompts or results.
 */
import type { components } from '../../sdk/generated/runtime.js';
import { type FiguresAt, runSpend, wallMs } from './run-figures.js';
import type { StoredRun, StoredSession, Usage } from './session-store.js';
import { addUsage, noUsage } from '../common/usage.js';

export type UsageReport = components['schemas']['UsageReport'];
type SessionUsage = components['schemas']['SessionUsage'];
type AgentUsage = components['schemas']['AgentUsage'];
type DayUsage = components['schemas']['DayUsage'];

export interface UsageFilter {
  agent?: string | undefined;
  /** Only these session names. */
  sessions?: ReadonlySet<string> | undefined;
}

interface Sums {
  runs: number;
  usage: Usage;
  cost_usd: number;
  duration_ms: number;
  wall_ms: number;
  estimated: boolean;
}

const zero = (): Sums => ({
  runs: 0,
  usage: noUsage(),
  cost_usd: 0,
  duration_ms: 0,
  wall_ms: 0,
  estimated: false,
});

function addRun(sums: Sums, run: StoredRun, session: StoredSession, at: FiguresAt): void {
  const spend = runSpend(run, session.model, at.live);
  sums.runs++;
  addUsage(sums.usage, spend.usage);
  sums.cost_usd += spend.cost_usd;
  sums.estimated ||= spend.estimated;
  sums.duration_ms += run.duration_ms ?? 0;
  sums.wall_ms += wallMs(run, at.now);
}

function addSums(into: Sums, from: Sums): void {
  into.runs += from.runs;
  addUsage(into.usage, from.usage);
  into.cost_usd += from.cost_usd;
  into.duration_ms += from.duration_ms;
  into.wall_ms += from.wall_ms;
  into.estimated ||= from.estimated;
}

/** Float sums of many small costs drift in the last digits: round to 1e-8 USD like the session totals. */
const rounded = <T extends Sums>(row: T): T => ({ ...row, cost_usd: Math.round(row.cost_usd * 1e8) / 1e8 });

/** When a run counts: the moment it started, or was queued if it never started. */
const runTime = (run: StoredRun) => run.started_at ?? run.queued_at;

/**
 * `live(name)`: what the session's run still going was billed so far (counted as an estimate);
 * `now`: the end of the wall time of runs still going.
 */
export async function usageReport(
  sessions: AsyncIterable<StoredSession> | Iterable<StoredSession>,
  filter: UsageFilter = {},
  figures: { now: number; live?: (session: string) => Usage | null } = { now: Date.now() },
): Promise<UsageReport> {
  const perSession: SessionUsage[] = [];
  const perAgent = new Map<string | null, Sums & { sessions: number }>();
  const perDay = new Map<string, Sums & { sessions: Set<string> }>();
  for await (const session of sessions) {
    if (filter.agent !== undefined && session.agent !== filter.agent) continue;
    if (filter.sessions && !filter.sessions.has(session.name)) continue;
    const sums = zero();
    const at = { now: figures.now, live: figures.live?.(session.name) ?? null };
    for (const run of session.runs) {
      addRun(sums, run, session, at);
      const day = runTime(run).slice(0, 10);
      let daySums = perDay.get(day);
      if (!daySums) {
        daySums = { ...zero(), sessions: new Set() };
        perDay.set(day, daySums);
      }
      addRun(daySums, run, session, at);
      daySums.sessions.add(session.name);
    }
    const times = session.runs.map(runTime).sort();
    perSession.push(
      rounded({
        name: session.name,
        agent: session.agent,
        state: session.runs.at(-1)?.state ?? 'queued',
        ...sums,
        first_run_at: times[0] ?? session.created_at,
        last_run_at: times.at(-1) ?? session.created_at,
      }),
    );
    let agentSums = perAgent.get(session.agent);
    if (!agentSums) {
      agentSums = { ...zero(), sessions: 0 };
      perAgent.set(session.agent, agentSums);
    }
    addSums(agentSums, sums);
    agentSums.sessions++;
  }
  const totals = zero();
  for (const row of perSession) addSums(totals, row);
  const byCost = (a: Sums & { name?: string }, b: Sums & { name?: string }) =>
    b.cost_usd - a.cost_usd || (a.name ?? '').localeCompare(b.name ?? '');
  return {
    totals: rounded({ sessions: perSession.length, ...totals }),
    sessions: perSession.sort(byCost),
    agents: [...perAgent].map(([agent, sums]): AgentUsage => rounded({ agent, ...sums })).sort(byCost),
    days: [...perDay]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([day, sums]): DayUsage => rounded({ ...sums, day, sessions: sums.sessions.size })),
  };
}
