/**
 * Anthropic usage → canonical usage. Anthropic reports `input_tokens` as the uncached part only,
 * cache writes (with a 5m/1h breakdown in `cache_creation` when known) and cache reads beside it.
 * Streams report usage twice (message_start, message_delta); the delta's counts are cumulative.
 */
import { asArray, asObject, type JsonObject } from '../../core/json.js';
import { mergeUsage, tokenCount, type Usage } from '../../core/usage.js';

export function parseAnthropicUsage(wire: unknown, previous?: Usage): Usage {
  const usage = asObject(wire);
  if (usage === undefined) return {};
  const iterations = asArray(usage.iterations);
  // With context compaction the top level describes only the last iteration; the bill is the sum.
  if (iterations !== undefined && iterations.length > 0) {
    const parts = iterations.map((it) => parseOne(asObject(it) ?? {}, undefined));
    return { ...sumUsages(parts), raw: wire };
  }
  return { ...parseOne(usage, previous), raw: wire };
}

function parseOne(usage: JsonObject, previous: Usage | undefined): Usage {
  const out: Usage = {
    inputUncached: tokenCount(usage.input_tokens),
    cacheRead: tokenCount(usage.cache_read_input_tokens),
    output: tokenCount(usage.output_tokens),
    reasoning: tokenCount(asObject(usage.output_tokens_details)?.thinking_tokens),
  };
  const writes = tokenCount(usage.cache_creation_input_tokens);
  const breakdown = asObject(usage.cache_creation);
  const w5m = tokenCount(breakdown?.ephemeral_5m_input_tokens);
  const w1h = tokenCount(breakdown?.ephemeral_1h_input_tokens);
  if (w5m !== undefined || w1h !== undefined) {
    out.cacheWrite5m = w5m ?? 0;
    out.cacheWrite1h = w1h ?? 0;
    const rest = (writes ?? 0) - out.cacheWrite5m - out.cacheWrite1h;
    out.cacheWriteUnknownTtl = rest > 0 ? rest : 0;
  } else if (writes !== undefined) {
    Object.assign(out, attributeWrites(writes, previous));
  }
  return out;
}

/**
 * A later report with a total but no breakdown (message_delta does this): keep the TTL the earlier
 * report used when it used only one, otherwise the TTL is unknown.
 */
function attributeWrites(writes: number, previous: Usage | undefined): Usage {
  const only5m = (previous?.cacheWrite5m ?? 0) > 0 && !(previous?.cacheWrite1h ?? 0) && !(previous?.cacheWriteUnknownTtl ?? 0);
  const only1h = (previous?.cacheWrite1h ?? 0) > 0 && !(previous?.cacheWrite5m ?? 0) && !(previous?.cacheWriteUnknownTtl ?? 0);
  if (writes === 0) return { cacheWrite5m: 0, cacheWrite1h: 0, cacheWriteUnknownTtl: 0 };
  if (only5m) return { cacheWrite5m: writes, cacheWrite1h: 0, cacheWriteUnknownTtl: 0 };
  if (only1h) return { cacheWrite5m: 0, cacheWrite1h: writes, cacheWriteUnknownTtl: 0 };
  return { cacheWrite5m: 0, cacheWrite1h: 0, cacheWriteUnknownTtl: writes };
}

function sumUsages(parts: Usage[]): Usage {
  const total: Usage = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part) as [keyof Usage, unknown][]) {
      if (typeof value === 'number') (total as Record<string, number>)[key] = ((total[key] as number | undefined) ?? 0) + value;
    }
  }
  return total;
}

/** Merge a stream's usage reports: message_delta's cumulative counts override message_start's. */
export function mergeAnthropicUsage(earlier: Usage, laterWire: unknown): Usage {
  return mergeUsage(earlier, parseAnthropicUsage(laterWire, earlier));
}
