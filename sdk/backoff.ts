/** The pause before retry `attempt` (0 for the first): `firstMs`, doubled at each retry, at most `maxMs`. */
export function backoffMs(attempt: number, firstMs: number, maxMs = 5000): number {
  return Math.min(firstMs * 2 ** attempt, maxMs);
}
