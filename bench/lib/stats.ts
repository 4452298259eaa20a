/** The statistics the benchmarks report, one home for each. */

/** The middle value (the upper one of the two middle values of an even count). */
export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The value below which a share `q` (0..1) of the values lie: `quantile(v, 0.95)` is the p95. */
export const quantile = (values: readonly number[], q: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;

/** `p50 (p95)`, two decimals: how the latency benchmarks print a set of timings. */
export const p50p95 = (values: readonly number[]): string =>
  `${quantile(values, 0.5).toFixed(2)} (${quantile(values, 0.95).toFixed(2)})`;

/** Milliseconds `work` took. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}
