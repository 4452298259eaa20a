/** Token counts (the contract's `Usage`): none yet, and the sum of two. */
import type { components } from '../../sdk/generated/runtime.js';

type Usage = components['schemas']['Usage'];

const KEYS = [
  'input_tokens',
  'output_tokens',
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
] as const satisfies ReadonlyArray<keyof Usage>;

export const noUsage = (): Usage => ({
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});

/** Adds `usage` (none: nothing) to `into`, and returns `into`. */
export function addUsage(into: Usage, usage: Usage | null | undefined): Usage {
  if (usage) for (const key of KEYS) into[key] += usage[key];
  return into;
}
