/** Plain-text rendering for people: tables, tool calls, durations. `--json` bypasses all of it. */

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `text` on one line, at most `max` characters. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A tool call as the progress line shows it: `Write(file_path=/tmp/a.txt, content="hello…")`. */
export function formatToolCall(tool: string, input: unknown): string {
  let args: string;
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    args = Object.entries(input as Record<string, unknown>)
      .map(([key, value]) => `${key}=${formatValue(value)}`)
      .join(', ');
  } else if (input === undefined || input === null) {
    args = '';
  } else {
    args = formatValue(input);
  }
  return `${tool}(${oneLine(args, 200)})`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') {
    const short = oneLine(value, 60);
    return /^[\w./:@+-]+$/.test(short) ? short : JSON.stringify(short);
  }
  return oneLine(JSON.stringify(value) ?? String(value), 60);
}

/** 1234 → "1.2 s", 75000 → "1 min 15 s". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** `$0.0083`; an estimate (a run still going) `~$0.0083`. The one rounding of costs in the commands. */
export function formatCost(usd: number, estimated = false): string {
  return `${estimated ? '~' : ''}$${usd.toFixed(4)}`;
}

/** The note under a table that shows estimates. */
export const ESTIMATE_NOTE = '~ marks a cost so far, estimated from the tokens billed while a run is still going';
