/**
 * Pricing: expected costs are computed here by hand from published per-million-token prices, not
 * read back from @pydantic/genai-prices.
 */
import { describe, expect, it } from 'vitest';
import { costFromTable, Pricing, type CostResult, type PriceTable } from '../../src/accounting/pricing.js';
import type { Deployment } from '../../src/core/deployment.js';
import type { Usage } from '../../src/core/usage.js';

/** Claude Sonnet 4.5 on Anthropic, USD per million tokens. */
const SONNET = { input: 3, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15 };
/** The same above 200k input tokens (1h writes stay 2x input: $12). */
const SONNET_LONG = { input: 6, cacheWrite5m: 7.5, cacheWrite1h: 12, cacheRead: 0.6, output: 22.5 };
const MTOK = 1e6;

let nextId = 0;
function deployment(provider: string, model: string, extra: Partial<Deployment> = {}): Deployment {
  nextId += 1;
  return { id: `dep-${nextId}`, modelGroup: 'group', provider, model, timeoutMs: 60_000, streamTimeoutMs: 60_000, params: { model: `${provider}/${model}` }, ...extra };
}

/** USD → integer nano-USD, the unit of every stored cost. */
const nano = (usd: number): number => Math.round(usd * 1e9);

function priced(result: CostResult): { nanoUsd: number; usd: number; table: PriceTable } {
  if (result.nanoUsd === null) throw new Error(`expected a price, got ${result.reason}: ${result.detail}`);
  return result;
}

const pricing = new Pricing();
const sonnet = (extra: Partial<Deployment> = {}): Deployment => deployment('anthropic', 'claude-sonnet-4-5-20250929', extra);
const cost = (usage: Usage, d: Deployment, model = d.model): CostResult => pricing.cost(usage, d, model);

describe('Claude Sonnet 4.5 on Anthropic', () => {
  it('prices every token kind at its published rate; reasoning without its own rate is billed as output', () => {
    const usage: Usage = { inputUncached: 1000, cacheRead: 2000, cacheWrite5m: 3000, cacheWrite1h: 4000, output: 500, reasoning: 100 };
    const usd = (1000 * SONNET.input + 2000 * SONNET.cacheRead + 3000 * SONNET.cacheWrite5m + 4000 * SONNET.cacheWrite1h + 400 * SONNET.output + 100 * SONNET.output) / MTOK;
    const result = priced(cost(usage, sonnet()));
    expect(result.nanoUsd).toBe(46_350_000);
    expect(result.nanoUsd).toBe(nano(usd));
    expect(result.usd).toBeCloseTo(0.04635, 12);
    expect(result.table.source).toBe('genai-prices');
    expect(result.table.model).toBe('claude-sonnet-4-5');
  });

  it('cache writes of unknown TTL are billed at the 5m write rate', () => {
    const result = priced(cost({ inputUncached: 10, cacheWriteUnknownTtl: 1000, output: 0 }, sonnet()));
    expect(result.nanoUsd).toBe(nano((10 * SONNET.input + 1000 * SONNET.cacheWrite5m) / MTOK));
  });

  it('cost is integer nano-USD (Math.round of usd * 1e9) and usd is nanoUsd / 1e9', () => {
    // 1 input token at $3/M = 3000 nano; 1 cache read at $0.30/M = 300 nano; 1 output = 15000 nano.
    const result = priced(cost({ inputUncached: 1, cacheRead: 1, output: 1 }, sonnet()));
    expect(result.nanoUsd).toBe(18_300);
    expect(Number.isInteger(result.nanoUsd)).toBe(true);
    expect(result.usd).toBe(result.nanoUsd / 1e9);
    // A fictional rate of $0.0003/M: 1 token = 0.3 nano → rounds to 0; 2 → 0.6 → 1.
    const table: PriceTable = { base: { cacheRead: 0.3e-9 }, tiers: [], source: 'config', model: 'x' };
    expect(costFromTable({ cacheRead: 1 }, table).nanoUsd).toBe(0);
    expect(costFromTable({ cacheRead: 2 }, table).nanoUsd).toBe(1);
  });

  it('zero and unknown counts cost nothing', () => {
    expect(priced(cost({}, sonnet())).nanoUsd).toBe(0);
  });
});

describe('above 200k input tokens', () => {
  // Total input = uncached + cache reads + cache writes of every TTL.
  const usage = (oneHourWrites: number): Usage => ({ inputUncached: 150_000, cacheRead: 40_000, cacheWrite5m: 6_000, cacheWrite1h: oneHourWrites, output: 1_000 });
  const at = (rates: typeof SONNET, oneHourWrites: number): number =>
    nano((150_000 * rates.input + 40_000 * rates.cacheRead + 6_000 * rates.cacheWrite5m + oneHourWrites * rates.cacheWrite1h + 1_000 * rates.output) / MTOK);

  it('exactly 200000 total input is still the base price', () => {
    expect(priced(cost(usage(4_000), sonnet())).nanoUsd).toBe(at(SONNET, 4_000));
  });

  it('200001 (counting cache tokens) switches every kind to the long-context price', () => {
    const result = priced(cost(usage(4_001), sonnet()));
    expect(result.nanoUsd).toBe(at(SONNET_LONG, 4_001));
    // 900000 + 24000 + 45000 + 48012 + 22500 micro-USD
    expect(result.nanoUsd).toBe(1_039_512_000);
  });

  it('the tier is decided by total input, not by uncached input alone', () => {
    const result = priced(cost({ inputUncached: 10, cacheRead: 200_000, output: 10 }, sonnet()));
    expect(result.nanoUsd).toBe(nano((10 * SONNET_LONG.input + 200_000 * SONNET_LONG.cacheRead + 10 * SONNET_LONG.output) / MTOK));
  });
});

describe('per-deployment overrides from litellm_params', () => {
  const withParams = (params: Record<string, unknown>): Deployment => sonnet({ params: { model: 'anthropic/claude-sonnet-4-5-20250929', ...params } });

  it('overriding only input_cost_per_token keeps the published cache and output rates', () => {
    const d = withParams({ input_cost_per_token: 4e-6 });
    const result = priced(cost({ inputUncached: 1000, cacheRead: 1000, cacheWrite5m: 1000, output: 100 }, d));
    expect(result.nanoUsd).toBe(nano((1000 * 4 + 1000 * SONNET.cacheRead + 1000 * SONNET.cacheWrite5m + 100 * SONNET.output) / MTOK));
    expect(result.table.source).toBe('genai-prices+config');
    // cache reads are never billed at the input rate
    expect(priced(cost({ cacheRead: 100_000 }, d)).nanoUsd).toBe(nano((100_000 * SONNET.cacheRead) / MTOK));
  });

  it('every override replaces its own kind', () => {
    const d = withParams({
      input_cost_per_token: 1e-6,
      output_cost_per_token: 2e-6,
      cache_read_input_token_cost: 0.1e-6,
      cache_creation_input_token_cost: 1.25e-6,
      cache_creation_input_token_cost_above_1hr: 2.5e-6,
      output_cost_per_reasoning_token: 5e-6,
    });
    const usage: Usage = { inputUncached: 1000, cacheRead: 1000, cacheWrite5m: 1000, cacheWrite1h: 1000, output: 300, reasoning: 100 };
    const usd = (1000 * 1 + 1000 * 0.1 + 1000 * 1.25 + 1000 * 2.5 + 200 * 2 + 100 * 5) / MTOK;
    expect(priced(cost(usage, d)).nanoUsd).toBe(nano(usd));
    expect(nano(usd)).toBe(5_750_000);
  });

  it('input_cost_per_token_above_200k_tokens replaces the long-context input rate only', () => {
    const d = withParams({ input_cost_per_token_above_200k_tokens: 10e-6 });
    const result = priced(cost({ inputUncached: 200_001, cacheRead: 1000, output: 1000 }, d));
    expect(result.nanoUsd).toBe(nano((200_001 * 10 + 1000 * SONNET_LONG.cacheRead + 1000 * SONNET_LONG.output) / MTOK));
    // Below the threshold the base rate still applies.
    expect(priced(cost({ inputUncached: 1000 }, d)).nanoUsd).toBe(nano((1000 * SONNET.input) / MTOK));
  });

  it('an overridden base rate applies at every size; kinds not overridden keep the published long-context rate', () => {
    const d = withParams({ input_cost_per_token: 1e-6 });
    const result = priced(cost({ inputUncached: 200_001, cacheRead: 1000, output: 1000 }, d));
    expect(result.nanoUsd).toBe(nano((200_001 * 1 + 1000 * SONNET_LONG.cacheRead + 1000 * SONNET_LONG.output) / MTOK));
  });

  it('a model with no published price: overrides price input/output; cache reads with no rate → missing_rate', () => {
    const d = deployment('openai', 'tollgate-private-1', { params: { model: 'openai/tollgate-private-1', input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 } });
    const ok = priced(cost({ inputUncached: 1000, output: 500 }, d));
    expect(ok.nanoUsd).toBe(nano((1000 * 1 + 500 * 2) / MTOK));
    expect(ok.table.source).toBe('config');
    const missing = cost({ inputUncached: 1000, cacheRead: 500, output: 500 }, d);
    expect(missing).toMatchObject({ nanoUsd: null, usd: null, reason: 'missing_rate' });
  });

  it('an unknown model with no overrides → no_price, not 0', () => {
    const result = cost({ inputUncached: 1000, output: 10 }, deployment('anthropic', 'totally-unknown-model-xyz'));
    expect(result).toMatchObject({ nanoUsd: null, usd: null, reason: 'no_price' });
    expect(cost({ inputUncached: 1 }, deployment('hosted_vllm', 'llama'))).toMatchObject({ nanoUsd: null, reason: 'no_price' });
  });
});

describe('which model is priced', () => {
  it('model_info.base_model without a provider prefix is looked up under the deployment provider', () => {
    const d = deployment('azure', 'prod-gpt', { baseModel: 'gpt-4o-mini' });
    // gpt-4o-mini: input $0.15, cache read $0.075, output $0.60
    const result = priced(cost({ inputUncached: 1000, cacheRead: 1000, output: 1000 }, d));
    expect(result.nanoUsd).toBe(nano((1000 * 0.15 + 1000 * 0.075 + 1000 * 0.6) / MTOK));
    expect(cost({ inputUncached: 1000 }, deployment('azure', 'prod-gpt'))).toMatchObject({ reason: 'no_price' });
  });

  it('model_info.base_model with a provider prefix switches the provider too', () => {
    const d = deployment('openai', 'my-claude-proxy', { baseModel: 'anthropic/claude-sonnet-4-5' });
    const result = priced(cost({ inputUncached: 1000, output: 100 }, d));
    expect(result.nanoUsd).toBe(nano((1000 * SONNET.input + 100 * SONNET.output) / MTOK));
  });

  it('a mock deployment is priced as the model its name imitates', () => {
    const usage: Usage = { inputUncached: 1000, cacheRead: 1000, output: 100 };
    const claude = priced(cost(usage, deployment('mock', 'claude-sonnet-4-5')));
    expect(claude.nanoUsd).toBe(nano((1000 * SONNET.input + 1000 * SONNET.cacheRead + 100 * SONNET.output) / MTOK));
    const gpt = priced(cost(usage, deployment('mock', 'gpt-4o-mini')));
    expect(gpt.nanoUsd).toBe(nano((1000 * 0.15 + 1000 * 0.075 + 100 * 0.6) / MTOK));
    const gemini = priced(cost(usage, deployment('mock', 'gemini-2.5-flash')));
    // gemini-2.5-flash: input $0.30, cache read $0.03, output $2.50
    expect(gemini.nanoUsd).toBe(nano((1000 * 0.3 + 1000 * 0.03 + 100 * 2.5) / MTOK));
  });
});

describe('Bedrock: regional profiles cost 10% more than the global one', () => {
  const million: Usage = { inputUncached: 1_000_000 };

  it('us. (in-region) input is $3.30/M, global. is $3/M', () => {
    const regional = priced(cost(million, deployment('bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0')));
    const global = priced(cost(million, deployment('bedrock', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0')));
    expect(regional.nanoUsd).toBe(nano(3.3));
    expect(global.nanoUsd).toBe(nano(3));
    expect(regional.nanoUsd).toBe(Math.round(global.nanoUsd * 1.1));
  });

  it('the uplift applies to cache and output rates too', () => {
    const usage: Usage = { cacheRead: 1_000_000, cacheWrite5m: 1_000_000, output: 1_000_000 };
    const regional = priced(cost(usage, deployment('bedrock_converse', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0')));
    const global = priced(cost(usage, deployment('bedrock_converse', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0')));
    expect(global.nanoUsd).toBe(nano(0.3 + 3.75 + 15));
    expect(regional.nanoUsd).toBe(nano(0.33 + 4.125 + 16.5));
  });
});

describe('Pricing.tableFor', () => {
  it('caches per deployment and upstream model', () => {
    const p = new Pricing();
    const d = sonnet();
    expect(p.tableFor(d, d.model)).toBe(p.tableFor(d, d.model));
    expect(p.tableFor(d, 'totally-unknown-model-xyz')).toBeNull();
  });
});
