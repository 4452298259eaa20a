/** Ages on the command line: `30d`, `12h`, `2w`, `90m`. */

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The age in milliseconds, or null when `text` is not a whole number followed by m, h, d or w. */
export function parseAge(text: string): number | null {
  const match = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * UNITS[match[2]!]!;
}
