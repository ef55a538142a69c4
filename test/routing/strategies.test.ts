/**
 * Picking among deployments that can take a request: `order` tiers first, then each strategy,
 * with randomness pinned.
 */
import { describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/core/deployment.js';
import { pickDeployment } from '../../src/routing/router.js';
import { chooseDeployment, limitsOf, lowestOrderTier, type Candidate, type StrategyOptions } from '../../src/routing/strategies.js';
import type { DeploymentLoad } from '../../src/routing/state.js';
import { dep } from './helpers.js';

function cand(d: Deployment, load: Partial<DeploymentLoad> = {}): Candidate {
  return { deployment: d, load: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: undefined, ...load } };
}

function options(strategy: StrategyOptions['strategy'], extra: Partial<StrategyOptions> = {}): StrategyOptions {
  return { strategy, latencyBuffer: 0, random: () => 0, ...extra };
}

/** How often each id is picked over a sweep of the random number. */
function distribution(candidates: Candidate[], strategy: StrategyOptions['strategy'], extra: Partial<StrategyOptions> = {}): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < 100; i++) {
    const d = chooseDeployment(candidates, options(strategy, { ...extra, random: () => (i + 0.5) / 100 }));
    counts[d!.id] = (counts[d!.id] ?? 0) + 1;
  }
  return counts;
}

describe('simple-shuffle', () => {
  it('weights by weight, else rpm, else tpm, else equally', () => {
    expect(distribution([cand(dep('a', 'g', { weight: 3 })), cand(dep('b', 'g', { weight: 1 }))], 'simple-shuffle')).toEqual({ a: 75, b: 25 });
    expect(distribution([cand(dep('a', 'g', { rpm: 100 })), cand(dep('b', 'g', { rpm: 300 }))], 'simple-shuffle')).toEqual({ a: 25, b: 75 });
    expect(distribution([cand(dep('a', 'g', { tpm: 1000 })), cand(dep('b', 'g', { tpm: 1000 }))], 'simple-shuffle')).toEqual({ a: 50, b: 50 });
    expect(distribution([cand(dep('a', 'g')), cand(dep('b', 'g')), cand(dep('c', 'g')), cand(dep('d', 'g'))], 'simple-shuffle')).toEqual({ a: 25, b: 25, c: 25, d: 25 });
  });

  it('weight wins over rpm on the same deployment', () => {
    expect(distribution([cand(dep('a', 'g', { weight: 1, rpm: 1000 })), cand(dep('b', 'g', { weight: 1, rpm: 1 }))], 'simple-shuffle')).toEqual({ a: 50, b: 50 });
  });

  it('all-zero weights fall back to a uniform pick', () => {
    expect(pickDeployment([dep('a', 'g', { weight: 0 }), dep('b', 'g', { weight: 0 })], () => 0.9).id).toBe('b');
  });
});

describe('order tiers', () => {
  it('only the lowest order present is considered; deployments without order come last', () => {
    const tier = lowestOrderTier([cand(dep('a', 'g', { order: 2 })), cand(dep('b', 'g', { order: 1 })), cand(dep('c', 'g')), cand(dep('d', 'g', { order: 1 }))]);
    expect(tier.map((c) => c.deployment.id)).toEqual(['b', 'd']);
    expect(lowestOrderTier([cand(dep('a', 'g')), cand(dep('b', 'g'))]).map((c) => c.deployment.id)).toEqual(['a', 'b']);
  });

  it('whatever the strategy, a lower tier is never picked while a higher one has candidates', () => {
    for (const strategy of ['simple-shuffle', 'least-busy', 'latency-based-routing', 'usage-based-routing-v2', 'cost-based-routing'] as const) {
      const counts = distribution([cand(dep('backup', 'g', { order: 2 }), { inFlight: 0 }), cand(dep('primary', 'g', { order: 1 }), { inFlight: 9, latencyMs: 900, tokens: 9e6 })], strategy);
      expect(counts, strategy).toEqual({ primary: 100 });
    }
  });
});

describe('least-busy', () => {
  it('picks the fewest requests in flight; ties share the traffic', () => {
    expect(distribution([cand(dep('a', 'g'), { inFlight: 3 }), cand(dep('b', 'g'), { inFlight: 1 }), cand(dep('c', 'g'), { inFlight: 2 })], 'least-busy')).toEqual({ b: 100 });
    expect(distribution([cand(dep('a', 'g'), { inFlight: 1 }), cand(dep('b', 'g'), { inFlight: 1 })], 'least-busy')).toEqual({ a: 50, b: 50 });
  });
});

describe('usage-based-routing-v2', () => {
  it('picks the lowest tokens used this minute', () => {
    expect(distribution([cand(dep('a', 'g'), { tokens: 5000 }), cand(dep('b', 'g'), { tokens: 10 })], 'usage-based-routing-v2')).toEqual({ b: 100 });
  });
});

describe('latency-based-routing', () => {
  it('picks the lowest mean latency; a deployment without samples counts as 0 and gets tried', () => {
    expect(distribution([cand(dep('a', 'g'), { latencyMs: 200 }), cand(dep('b', 'g'), { latencyMs: 100 })], 'latency-based-routing')).toEqual({ b: 100 });
    expect(distribution([cand(dep('a', 'g'), { latencyMs: 200 }), cand(dep('new', 'g'))], 'latency-based-routing')).toEqual({ new: 100 });
  });

  it('lowest_latency_buffer spreads traffic over deployments within (1 + buffer) × the lowest', () => {
    const cs = [cand(dep('a', 'g'), { latencyMs: 100 }), cand(dep('b', 'g'), { latencyMs: 140 }), cand(dep('c', 'g'), { latencyMs: 200 })];
    expect(distribution(cs, 'latency-based-routing', { latencyBuffer: 0.5 })).toEqual({ a: 50, b: 50 });
    expect(distribution(cs, 'latency-based-routing', { latencyBuffer: 0 })).toEqual({ a: 100 });
  });
});

describe('cost-based-routing', () => {
  it('picks the cheapest per token; unknown prices come last', () => {
    const prices: Record<string, number | undefined> = { a: 3e-6, b: 1e-6, c: undefined };
    const costPerToken = (d: Deployment): number | undefined => prices[d.id];
    expect(distribution([cand(dep('a', 'g')), cand(dep('b', 'g')), cand(dep('c', 'g'))], 'cost-based-routing', { costPerToken })).toEqual({ b: 100 });
    expect(distribution([cand(dep('a', 'g')), cand(dep('c', 'g'))], 'cost-based-routing', { costPerToken })).toEqual({ a: 100 });
  });
});

describe('limitsOf', () => {
  it('reads rpm, tpm and max_parallel_requests, with default_max_parallel_requests as the fallback', () => {
    expect(limitsOf(dep('a', 'g', { rpm: 5, tpm: 100, max_parallel_requests: 2 }), 10)).toEqual({ rpm: 5, tpm: 100, maxParallel: 2 });
    expect(limitsOf(dep('a', 'g'), 10)).toEqual({ rpm: undefined, tpm: undefined, maxParallel: 10 });
  });
});
