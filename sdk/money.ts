/**
 * Dollars as every client shows them (the `ao-*` commands, the dashboard): the one home of this
 * rounding, so a cost reads the same wherever it shows.
 */

/**
 * Four decimals, so costs of a few cents read apart: 0.0163 → `$0.0163`, 0.0042 → `$0.0042`; an
 * estimate (a run still going, priced from the tokens billed so far) is marked `~$0.0042`.
 */
export function formatUsd(usd: number, estimated = false): string {
  return `${estimated ? '~' : ''}$${usd.toFixed(4)}`;
}

/**
 * Labels for a chart's axis: the fewest decimals (two at least, six at most) that tell every tick
 * from its neighbours, the same for all, so `0.005, 0.01, 0.015` reads `$0.005, $0.010, $0.015`.
 */
export function formatUsdTicks(ticks: readonly number[]): string[] {
  let digits = 2;
  while (digits < 6 && !allApart(ticks, digits)) digits++;
  return ticks.map((t) => `$${t.toFixed(digits)}`);
}

function allApart(ticks: readonly number[], digits: number): boolean {
  const labels = ticks.map((t) => t.toFixed(digits));
  return labels.every((label, i) => i === 0 || label !== labels[i - 1]);
}
