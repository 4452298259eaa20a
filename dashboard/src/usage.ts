/**
 * Token and cost sums per session, per blueprint and per day, and their CSV: the rows of the
 * runtime's usage report (`GET /usage`, what `ao-usage` prints), so both say the same. A run counts
 * on the UTC day it started (or was queued, if it never started).
 */
import type { UsageReport } from '../../sdk/types.js';

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

type ReportSums = UsageReport['totals'] | UsageReport['sessions'][number];

function row(key: string, sums: Omit<ReportSums, 'sessions'> & { sessions?: number }): UsageRow {
  return {
    key,
    sessions: sums.sessions ?? 1,
    runs: sums.runs,
    input_tokens: sums.usage.input_tokens,
    output_tokens: sums.usage.output_tokens,
    cache_read_input_tokens: sums.usage.cache_read_input_tokens,
    cache_creation_input_tokens: sums.usage.cache_creation_input_tokens,
    cost_usd: sums.cost_usd,
    duration_ms: sums.duration_ms,
    wall_ms: sums.wall_ms,
    estimated: sums.estimated,
  };
}

/** Rows by `by`, in the report's order: days oldest first, the others most expensive first. */
export function usageBy(report: UsageReport, by: UsageKey): UsageRow[] {
  if (by === 'day') return report.days.map((d) => row(d.day, d));
  if (by === 'blueprint') return report.agents.map((a) => row(a.agent ?? '(none)', a));
  return report.sessions.map((s) => row(s.name, s));
}

export function usageTotal(report: UsageReport): UsageRow {
  return row('total', report.totals);
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
