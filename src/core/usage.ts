/**
 * Canonical token usage. Input is kept as disjoint parts so that every surface can render it in its
 * own convention and cost is computed once. `undefined` means "the provider did not say": unknown is
 * never silently turned into 0.
 */
export interface Usage {
  /** Input tokens neither read from nor written to a prompt cache. */
  inputUncached?: number | undefined;
  /** Input tokens served from the provider's prompt cache. */
  cacheRead?: number | undefined;
  /** Input tokens written to the prompt cache with a 5 minute TTL. */
  cacheWrite5m?: number | undefined;
  /** Input tokens written to the prompt cache with a 1 hour TTL. */
  cacheWrite1h?: number | undefined;
  /** Cache writes whose TTL the provider did not report. */
  cacheWriteUnknownTtl?: number | undefined;
  /** All output tokens, reasoning included. */
  output?: number | undefined;
  /** The reasoning part of `output`. */
  reasoning?: number | undefined;
  /** The provider's own usage object(s), untouched, for audit. */
  raw?: unknown;
}

export const USAGE_COUNT_FIELDS = [
  'inputUncached',
  'cacheRead',
  'cacheWrite5m',
  'cacheWrite1h',
  'cacheWriteUnknownTtl',
  'output',
  'reasoning',
] as const satisfies readonly (keyof Usage)[];

type CountField = (typeof USAGE_COUNT_FIELDS)[number];

function sumDefined(values: (number | undefined)[]): number | undefined {
  let total: number | undefined;
  for (const v of values) if (v !== undefined) total = (total ?? 0) + v;
  return total;
}

/** Cache writes of every TTL. */
export function cacheWriteTotal(u: Usage): number | undefined {
  return sumDefined([u.cacheWrite5m, u.cacheWrite1h, u.cacheWriteUnknownTtl]);
}

/** Every input token: uncached + cache reads + cache writes (OpenAI's `prompt_tokens`). */
export function totalInput(u: Usage): number | undefined {
  return sumDefined([u.inputUncached, u.cacheRead, cacheWriteTotal(u)]);
}

export function totalTokens(u: Usage): number | undefined {
  return sumDefined([totalInput(u), u.output]);
}

/**
 * Merge a later usage report into an earlier one: a field the later report defines wins (Anthropic's
 * `message_delta` and OpenAI's final chunk carry cumulative counts), a field it leaves undefined keeps
 * the earlier value. Raw objects are kept in arrival order.
 */
export function mergeUsage(earlier: Usage, later: Usage): Usage {
  const merged: Usage = { ...earlier };
  for (const field of USAGE_COUNT_FIELDS) {
    const value: number | undefined = later[field];
    if (value !== undefined) merged[field] = value;
  }
  if (later.raw !== undefined) {
    merged.raw = earlier.raw === undefined ? later.raw : [...asArray(earlier.raw), later.raw];
  }
  return merged;
}

function asArray(raw: unknown): unknown[] {
  return Array.isArray(raw) ? raw : [raw];
}

/** Usage without the raw provider payload, for comparisons and logs. */
export function usageCounts(u: Usage): Partial<Record<CountField, number>> {
  const out: Partial<Record<CountField, number>> = {};
  for (const field of USAGE_COUNT_FIELDS) {
    const value = u[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** Read a non-negative integer token count from an untyped wire object. */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
