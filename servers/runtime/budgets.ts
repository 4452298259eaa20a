import type { components } from '../../sdk/generated/runtime.js';
import type { Usage } from './session-store.js';

export type Limits = components['schemas']['Limits'];

/**
 * List prices in USD per million tokens, by model family, first match wins. Claude Code reports a
 * run's cost only in its last line; while a run goes, its cost is estimated from the tokens billed
 * so far with this table (an estimate: prices change, and unknown models are priced as sonnet).
 * Codex and Gemini CLI report no cost at all: their runs' costs are this estimate, marked as one.
 * Cache writes cost 1.25 times the input price, cache reads 0.1 times.
 */
export const PRICES: ReadonlyArray<{ family: string; match: RegExp; input: number; output: number }> = [
  { family: 'gpt-5-mini', match: /gpt-5(?:\.\d+)?(?:-codex)?-mini/, input: 0.25, output: 2 },
  { family: 'gpt-5-nano', match: /gpt-5(?:\.\d+)?-nano/, input: 0.05, output: 0.4 },
  { family: 'gpt-5', match: /gpt-5|codex/, input: 1.25, output: 10 },
  { family: 'gemini-flash-lite', match: /gemini-[\d.]+-flash-lite/, input: 0.1, output: 0.4 },
  { family: 'gemini-flash', match: /gemini-[\d.]+-flash/, input: 0.3, output: 2.5 },
  { family: 'gemini-pro', match: /gemini/, input: 1.25, output: 10 },
  { family: 'opus-4.5+', match: /opus-4-(?:[5-9]|\d{2})/, input: 5, output: 25 },
  { family: 'opus', match: /opus/, input: 15, output: 75 },
  { family: 'haiku-4', match: /haiku-4/, input: 1, output: 5 },
  { family: 'haiku', match: /haiku/, input: 0.8, output: 4 },
  { family: 'sonnet', match: /sonnet|/, input: 3, output: 15 },
];

export function priceOf(model: string | undefined): (typeof PRICES)[number] {
  return PRICES.find((price) => price.match.test(model ?? '')) ?? PRICES[PRICES.length - 1]!;
}

/** The estimated cost of `usage` for `model`, in USD. */
export function estimateCostUsd(usage: Usage, model: string | undefined): number {
  const price = priceOf(model);
  const input = usage.input_tokens + 1.25 * usage.cache_creation_input_tokens + 0.1 * usage.cache_read_input_tokens;
  return (input * price.input + usage.output_tokens * price.output) / 1e6;
}

/**
 * The tokens a `max_tokens` budget counts: input, output and cache writes. Cache reads are left out:
 * Claude Code re-reads its cached prompt on every turn, so counting them would spend a budget on
 * the same tokens again and again.
 */
export function countedTokens(usage: Usage): number {
  return usage.input_tokens + usage.output_tokens + usage.cache_creation_input_tokens;
}

export interface Spend {
  tokens: number;
  cost_usd: number;
  /** Whether part of the cost is an estimate (a run still going, or one that ended without a cost). */
  estimated: boolean;
}

const usd = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;

/**
 * The tree budget `limits` of `owner` that `spend` crosses, as the reason a run is stopped for
 * (naming the limit and the amount); null when within budget.
 */
export function treeBudgetBreach(owner: string, limits: Limits | undefined, spend: Spend): string | null {
  if (limits?.max_cost_usd !== undefined && spend.cost_usd > limits.max_cost_usd) {
    return `budget max_cost_usd of session '${owner}' crossed: ${spend.estimated ? 'about ' : ''}${usd(spend.cost_usd)} spent${spend.estimated ? ' (estimate)' : ''}, limit ${usd(limits.max_cost_usd)}`;
  }
  if (limits?.max_tokens !== undefined && spend.tokens > limits.max_tokens) {
    return `budget max_tokens of session '${owner}' crossed: ${spend.tokens} tokens spent, limit ${limits.max_tokens}`;
  }
  return null;
}

/** The per-run `max_turns` limit crossed by `turns` model responses; null when within it. */
export function turnLimitBreach(limits: Limits | undefined, turns: number): string | null {
  if (limits?.max_turns !== undefined && turns > limits.max_turns) {
    return `limit max_turns crossed: ${turns} model turns in this run, limit ${limits.max_turns}`;
  }
  return null;
}

export function timeoutReason(seconds: number): string {
  return `limit timeout_seconds crossed: the run went on for more than ${seconds} s`;
}
