/**
 * Token and cost sums per session, per blueprint and per day, and their CSV. Computed from the
 * paged list's per-session `totals`; a session's usage counts on the day of its last activity.
 */
import type { RunState, Totals } from '../../sdk/types.js';

export interface UsageSource {
  name: string;
  agent: string | null;
  state: RunState;
  updated_at: string;
  /** The runtime's sums: `wall_ms` counts a run still going to now, `estimated` marks its cost as an estimate. */
  totals: Totals;
}

export interface UsageRow {
  key: string;
  sessions: number;
  runs: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  cost_usd: number;
  duration_ms: number;
  /** Wall time summed, from each run's start to its end (to now for a run still going). */
  wall_ms: number;
  /** Part of the cost is an estimate (a run still going). */
  estimated: boolean;
}

export type UsageKey = 'session' | 'blueprint' | 'day';

const KEY_OF: Record<UsageKey, (s: UsageSource) => string> = {
  session: (s) => s.name,
  blueprint: (s) => s.agent ?? '(none)',
  day: (s) => s.updated_at.slice(0, 10),
};

export function emptyRow(key: string): UsageRow {
  return {
    key,
    sessions: 0,
    runs: 0,
    input_tokens: 0,
    output_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    cost_usd: 0,
    duration_ms: 0,
    wall_ms: 0,
    estimated: false,
  };
}

function add(row: UsageRow, s: UsageSource): void {
  row.sessions += 1;
  row.runs += s.totals.runs;
  row.input_tokens += s.totals.usage.input_tokens;
  row.output_tokens += s.totals.usage.output_tokens;
  row.cache_read_input_tokens += s.totals.usage.cache_read_input_tokens;
  row.cache_creation_input_tokens += s.totals.usage.cache_creation_input_tokens;
  row.cost_usd += s.totals.cost_usd;
  row.duration_ms += s.totals.duration_ms;
  row.wall_ms += s.totals.wall_ms;
  row.estimated ||= s.totals.estimated;
}

/** Rows by `by`: days in date order, the others most expensive first. */
export function usageBy(sessions: readonly UsageSource[], by: UsageKey): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const s of sessions) {
    const key = KEY_OF[by](s);
    let row = rows.get(key);
    if (!row) {
      row = emptyRow(key);
      rows.set(key, row);
    }
    add(row, s);
  }
  const list = [...rows.values()];
  return by === 'day'
    ? list.sort((a, b) => a.key.localeCompare(b.key))
    : list.sort((a, b) => b.cost_usd - a.cost_usd || b.output_tokens - a.output_tokens || a.key.localeCompare(b.key));
}

export function usageTotal(sessions: readonly UsageSource[]): UsageRow {
  const row = emptyRow('total');
  sessions.forEach((s) => {
    add(row, s);
  });
  return row;
}

type CsvColumn = { [K in keyof UsageRow]: UsageRow[K] extends string | number ? K : never }[keyof UsageRow];

const COLUMNS: ReadonlyArray<CsvColumn> = [
  'key',
  'sessions',
  'runs',
  'input_tokens',
  'output_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'cost_usd',
  'duration_ms',
];

/** RFC 4180 CSV with a header; the first column is named after `by`. */
export function toCsv(rows: readonly UsageRow[], by: UsageKey): string {
  const cell = (value: string | number) => {
    if (typeof value === 'number') return String(Math.round(value * 1e6) / 1e6);
    // A name that a spreadsheet would run as a formula is kept as text.
    const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n']/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const header = [by, ...COLUMNS.slice(1)].join(',');
  return `${[header, ...rows.map((row) => COLUMNS.map((c) => cell(row[c])).join(','))].join('\r\n')}\r\n`;
}
