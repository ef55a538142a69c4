/**
 * Choosing one deployment among those that can take the request now (cooldowns and limits are
 * already applied): the `order` tier first, then the routing strategy. Pure functions; randomness
 * is injected so tests can pin every pick.
 */
import type { Deployment } from '../core/deployment.js';
import { pickDeployment } from './router.js';
import type { RoutingStrategy } from './settings.js';
import type { DeploymentLimits, DeploymentLoad } from './state.js';

export interface Candidate {
  deployment: Deployment;
  load: DeploymentLoad;
}

export interface StrategyOptions {
  strategy: RoutingStrategy;
  latencyBuffer: number;
  random: () => number;
  /** USD per token (input + output list price) of a deployment, for cost-based-routing; undefined when unknown. */
  costPerToken?: ((deployment: Deployment) => number | undefined) | undefined;
}

export function numberParam(d: Deployment, key: string): number | undefined {
  const value = d.params[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function limitsOf(d: Deployment, defaultMaxParallel: number | undefined): DeploymentLimits {
  return { rpm: numberParam(d, 'rpm'), tpm: numberParam(d, 'tpm'), maxParallel: numberParam(d, 'max_parallel_requests') ?? defaultMaxParallel };
}

/** Priority tier: the lowest `order` present wins; deployments without one come after every ordered one. */
export function lowestOrderTier<T extends { deployment: Deployment }>(candidates: readonly T[]): T[] {
  const orderOf = (c: T): number => numberParam(c.deployment, 'order') ?? Number.POSITIVE_INFINITY;
  const lowest = Math.min(...candidates.map(orderOf));
  return candidates.filter((c) => orderOf(c) === lowest);
}

export function chooseDeployment(candidates: readonly Candidate[], options: StrategyOptions): Deployment | undefined {
  if (candidates.length === 0) return undefined;
  const tier = lowestOrderTier(candidates);
  if (tier.length === 1) return tier[0]?.deployment;
  switch (options.strategy) {
    case 'simple-shuffle':
      return pickDeployment(tier.map((c) => c.deployment), options.random);
    case 'least-busy':
      return lowest(tier, (c) => c.load.inFlight, options.random);
    case 'usage-based-routing-v2':
      return lowest(tier, (c) => c.load.tokens, options.random);
    case 'latency-based-routing':
      return byLatency(tier, options);
    case 'cost-based-routing':
      return lowest(tier, (c) => options.costPerToken?.(c.deployment) ?? Number.POSITIVE_INFINITY, options.random);
  }
}

/** The minimum of `score`; ties are broken by the weighted shuffle so equal deployments share the load. */
function lowest(tier: readonly Candidate[], score: (c: Candidate) => number, random: () => number): Deployment {
  const scores = tier.map(score);
  const best = Math.min(...scores);
  return pickDeployment(tier.filter((_, i) => scores[i] === best).map((c) => c.deployment), random);
}

/**
 * LiteLLM's lowest latency: deployments without samples count as 0 (so a new one gets tried); any
 * deployment within `lowest × (1 + lowest_latency_buffer)` may be picked, at random.
 */
function byLatency(tier: readonly Candidate[], options: StrategyOptions): Deployment {
  const latencies = tier.map((c) => c.load.latencyMs ?? 0);
  const best = Math.min(...latencies);
  const limit = best * (1 + options.latencyBuffer);
  const eligible = tier.filter((_, i) => (latencies[i] ?? 0) <= limit);
  return eligible[Math.min(eligible.length - 1, Math.floor(options.random() * eligible.length))]?.deployment ?? (tier[0] as Candidate).deployment;
}
