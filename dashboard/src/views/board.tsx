import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Agent, RunState } from '../../../sdk/types.js';
import { describe } from '../api.js';
import {
  ago,
  ATTENTION_ORDER,
  BOARD_ORDER,
  faviconSvg,
  formatCost,
  isStalled,
  limitWait,
  STALL_SECONDS,
  sectionTitle,
  tabTitle,
  type Counts,
  type SectionKey,
} from '../attention.js';
import { useAccess, useClient } from '../client-context.js';
import { describePrincipal } from '../../../sdk/principal.js';
import { useNow, useSessionChanges } from '../live.js';
import { href } from '../router.js';
import { listPage, type ListParams, type SessionPage, type SessionSummary } from '../sessions-page.js';

const PAGE = 50;
const RUNNING_REFRESH_MS = 5000;

interface Section {
  sessions: SessionSummary[];
  cursor: string | null;
}

interface Filters {
  prefix: string;
  agent: string;
  project_dir: string;
  states: RunState[];
}

export function Board({ agent }: { agent?: string | undefined }) {
  const { client, guard } = useClient();
  const { mayAct } = useAccess();
  const [filters, setFilters] = useState<Filters>({
    prefix: '',
    agent: agent ?? '',
    project_dir: '',
    states: [...ATTENTION_ORDER],
  });
  const [sections, setSections] = useState<Partial<Record<SectionKey, Section>>>({});
  const [counts, setCounts] = useState<Counts>();
  const [error, setError] = useState<string>();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [loaded, setLoaded] = useState(false);
  const now = useNow(1000);
  const shown = useRef<Partial<Record<SectionKey, number>>>({});

  /** The sections the state filter shows: `waiting` goes with `running` (those sessions run). */
  const visible = useCallback(
    (only?: SectionKey[]) =>
      (only ?? BOARD_ORDER).filter((key) => filters.states.includes(key === 'waiting' ? 'running' : key)),
    [filters],
  );

  const params = useCallback(
    (key: SectionKey, limit: number, cursor?: string): ListParams => ({
      ...(key === 'waiting' ? { waiting: true } : { state: [key] }),
      ...(key === 'running' ? { waiting: false } : {}),
      limit,
      ...(cursor ? { cursor } : {}),
      ...(filters.prefix.trim() ? { prefix: filters.prefix.trim() } : {}),
      ...(filters.agent ? { agent: filters.agent } : {}),
      ...(filters.project_dir.trim() ? { project_dir: filters.project_dir.trim() } : {}),
    }),
    [filters],
  );

  /** Re-reads the visible sections, keeping as many rows as each one shows now. */
  const refresh = useCallback(
    async (only?: SectionKey[]) => {
      const states = visible(only);
      try {
        const pages = await Promise.all(
          states.map(
            (state) =>
              listPage(client, params(state, Math.min(500, Math.max(PAGE, shown.current[state] ?? PAGE)))).catch(
                guard,
              ) as Promise<SessionPage>,
          ),
        );
        setSections((previous) => {
          const next = only ? { ...previous } : {};
          states.forEach((state, i) => {
            next[state] = { sessions: pages[i]!.sessions, cursor: pages[i]!.next_cursor };
          });
          return next;
        });
        if (pages.length) setCounts(pages[pages.length - 1]!.counts);
        else setCounts((await listPage(client, { limit: 1 }).catch(guard)).counts);
        setError(undefined);
      } catch (caught) {
        setError(describe(caught));
      } finally {
        setLoaded(true);
      }
    },
    [client, guard, params, visible],
  );

  const first = useRef(true);
  useEffect(() => {
    // The first load at once; later ones (typing in a filter) once the typing pauses.
    const timer = setTimeout(() => void refresh(), first.current ? 0 : 200);
    first.current = false;
    return () => clearTimeout(timer);
  }, [refresh]);
  useSessionChanges(client, () => void refresh());
  useEffect(() => {
    // "last event N s ago" moves without state changes: the running rows are re-read now and then.
    const id = setInterval(() => void refresh(['waiting', 'running']), RUNNING_REFRESH_MS);
    return () => clearInterval(id);
  }, [refresh]);
  useEffect(() => {
    client.agents.list().then(setAgents, () => setAgents([]));
  }, [client]);

  const waiting = sections.waiting?.sessions.length ?? 0;
  useEffect(() => {
    document.title = tabTitle(counts, waiting);
    const icon = document.getElementById('favicon') as HTMLLinkElement | null;
    if (icon) icon.href = `data:image/svg+xml,${encodeURIComponent(faviconSvg(counts))}`;
  }, [counts, waiting]);

  useEffect(() => {
    for (const key of BOARD_ORDER) shown.current[key] = sections[key]?.sessions.length ?? PAGE;
  }, [sections]);

  const more = async (state: SectionKey) => {
    const cursor = sections[state]?.cursor;
    if (!cursor) return;
    try {
      const page = await listPage(client, params(state, PAGE, cursor)).catch(guard);
      setSections((previous) => ({
        ...previous,
        [state]: { sessions: [...(previous[state]?.sessions ?? []), ...page.sessions], cursor: page.next_cursor },
      }));
    } catch (caught) {
      setError(describe(caught));
    }
  };

  const toggleState = (state: RunState) =>
    setFilters((f) => ({
      ...f,
      states: f.states.includes(state)
        ? f.states.filter((s) => s !== state)
        : ATTENTION_ORDER.filter((s) => s === state || f.states.includes(s)),
    }));

  const total = counts ? ATTENTION_ORDER.reduce((n, s) => n + counts[s], 0) : 0;
  const filtered = Boolean(filters.prefix.trim() || filters.agent || filters.project_dir.trim());
  const nothing = loaded && !error && visible().every((s) => !sections[s]?.sessions.length);

  return (
    <section aria-labelledby="board-title">
      <div class="title-row">
        <h1 id="board-title">Sessions</h1>
        {mayAct && (
          <a class="button primary" href={href('new')}>
            New session
          </a>
        )}
      </div>
      <div class="counts" role="group" aria-label="Show states">
        {ATTENTION_ORDER.map((state) => (
          <button
            type="button"
            class={`count state-${state}`}
            aria-pressed={filters.states.includes(state)}
            onClick={() => toggleState(state)}
            data-state={state}
          >
            <span class="count-n">{counts ? counts[state] : '–'}</span> {state}
          </button>
        ))}
        <span class="muted total">{total} in all</span>
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Name starts with
          <input
            type="search"
            value={filters.prefix}
            onInput={(e) => {
              const prefix = e.currentTarget.value;
              setFilters((f) => ({ ...f, prefix }));
            }}
            placeholder="fix-"
          />
        </label>
        <label>
          Blueprint
          <select
            value={filters.agent}
            onChange={(e) => {
              const agent = e.currentTarget.value;
              setFilters((f) => ({ ...f, agent }));
            }}
          >
            <option value="">any</option>
            {agents.map((a) => (
              <option value={a.name}>{a.name}</option>
            ))}
          </select>
        </label>
        <label>
          Project dir
          <input
            type="text"
            value={filters.project_dir}
            onInput={(e) => {
              const project_dir = e.currentTarget.value;
              setFilters((f) => ({ ...f, project_dir }));
            }}
            placeholder="/home/me/src/app"
          />
        </label>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {nothing && (
        <div class="empty card">
          {filtered || total ? (
            <p>No session matches.</p>
          ) : (
            <>
              <p>No sessions yet.</p>
              <p>
                {mayAct ? <a href={href('new')}>Start one</a> : 'Start one'} or run <code>ao-new NAME -p "…"</code>.
              </p>
            </>
          )}
        </div>
      )}
      {visible().map((state) => {
        const section = sections[state];
        if (!section?.sessions.length) return null;
        const many = section.sessions.length + (section.cursor ? '+' : '');
        // The runtime counts by state; the running ones that wait are counted in their own section.
        const count =
          filtered || state === 'waiting' || !counts
            ? many
            : state === 'running'
              ? sections.waiting?.cursor
                ? many
                : counts.running - waiting
              : counts[state];
        return (
          <section
            class={`board-section${state === 'waiting' ? ' waiting' : ''}`}
            aria-label={state === 'waiting' ? 'Sessions waiting for you' : `${state} sessions`}
            data-section={state}
          >
            <h2>
              <span class={`dot state-${state}`} aria-hidden="true" />
              {sectionTitle(state)} <span class="muted">{count}</span>
            </h2>
            <ul class="rows">
              {section.sessions.map((s) => (
                <Row session={s} now={now} />
              ))}
            </ul>
            {section.cursor && (
              <button type="button" class="more" onClick={() => void more(state)}>
                Show more {state}
              </button>
            )}
          </section>
        );
      })}
    </section>
  );
}

/** Whether the runtime marks part of a total as an estimate (a run still going). */
const estimated = (totals: { cost_usd: number; estimated?: boolean }) => totals.estimated ?? false;

function Row({ session: s, now }: { session: SessionSummary; now: number }) {
  const stalled = isStalled(s, now) || (s.state === 'running' && Boolean(s.last_run.stalled_at));
  const wait = limitWait(s, now);
  const when =
    s.state === 'running'
      ? `last event ${ago(s.updated_at, now)}`
      : s.state === 'queued'
        ? `queued ${ago(s.last_run.queued_at, now)}`
        : `${s.state} ${ago(s.last_run.ended_at ?? s.updated_at, now)}`;
  return (
    <li class={`row${stalled ? ' stalled' : ''}`} data-session={s.name}>
      <a class="row-main" href={href('sessions', s.name)}>
        <span class={`badge state-${s.state}`}>{s.state}</span>
        <span class="row-name">{s.name}</span>
        {wait && (
          <span class="badge limit" title={`Hit the account's usage limit; the runtime resumes it by itself (${wait})`}>
            waits for the usage limit · {wait}
          </span>
        )}
        {(s.pending_approvals ?? 0) > 0 && (
          <span class="badge asks" title="A question waits for a person: open the session">
            asks you
          </span>
        )}
        <span class="row-meta muted">
          {s.agent ?? 'no blueprint'} · {s.project_dir}
          {s.created_by ? ` · by ${describePrincipal(s.created_by)}` : ''}
        </span>
      </a>
      <span
        class={`row-when${stalled ? ' warn' : ''}`}
        title={stalled ? `No event for over ${STALL_SECONDS / 60} min` : undefined}
      >
        {stalled && <strong>stalled · </strong>}
        {when}
      </span>
      <span class="row-cost muted">
        {s.runs} run{s.runs === 1 ? '' : 's'} · {formatCost(s.totals.cost_usd, estimated(s.totals))}
        {s.state === 'running' ? ' so far' : ''}
      </span>
      {s.last_run.error && (s.state === 'failed' || s.state === 'stopped') && (
        <span class="row-error">
          {s.last_run.error}
          {s.last_run.stopped_by ? ` · by ${describePrincipal(s.last_run.stopped_by)}` : ''}
        </span>
      )}
    </li>
  );
}
