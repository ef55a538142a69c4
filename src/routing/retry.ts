/**
 * Retry rules: how many retries a failure may have, whether the same deployment may be tried again,
 * and how long to wait first. Pure functions (random injected) so each rule is unit-tested.
 *
 * Differences from LiteLLM, on purpose:
 * - a 400 the client caused (bad request, context window, content policy) is not retried unless
 *   `retry_policy` names a count for it — LiteLLM retries them `num_retries` times;
 * - an upstream `retry-after` longer than the longest wait is not ignored in favour of a shorter
 *   exponential step (which retries before the upstream allows): the same deployment is not retried;
 * - `num_retries` not configured means fail over to every other deployment of the group once,
 *   immediately, instead of LiteLLM's 2 retries with backoff: the official SDKs already retry twice,
 *   and two layers of backoff multiply (3 × 3 calls to an upstream that is down).
 */
import type { GatewayError } from '../core/errors.js';
import { isClientCaused, retriesFromPolicy, type ErrorClass } from './error-class.js';
import type { BackoffSettings, RetryPolicy } from './settings.js';

export interface RetryBudget {
  /** Retries allowed in the group for this class of failure. */
  limit: number;
  /** Only other, untried deployments may be tried (no waiting, no second try of a deployment). */
  failoverOnly: boolean;
}

export function retryBudget(cls: ErrorClass, configured: number | undefined, policy: RetryPolicy | undefined): RetryBudget {
  if (cls === 'client_abort' || cls === 'internal') return { limit: 0, failoverOnly: true };
  const fromPolicy = retriesFromPolicy(policy, cls);
  if (isClientCaused(cls)) return { limit: fromPolicy ?? 0, failoverOnly: false };
  if (fromPolicy !== undefined) return { limit: fromPolicy, failoverOnly: false };
  if (configured !== undefined) return { limit: configured, failoverOnly: false };
  return { limit: Number.POSITIVE_INFINITY, failoverOnly: true };
}

/**
 * Whether the deployment that failed may get this request again. A bad key (401/403) or a missing
 * model (404) will answer the same way; other deployments of the group may still work.
 */
export function mayRetrySameDeployment(cls: ErrorClass): boolean {
  return cls !== 'auth' && cls !== 'not_found';
}

/**
 * A 404 from a wildcard deployment means the client named a model the upstream does not have: the
 * client's mistake, not the deployment's (LiteLLM cools the wildcard down and every other model
 * behind it with it).
 */
export function isClientNotFound(cls: ErrorClass, deploymentModel: string): boolean {
  return cls === 'not_found' && deploymentModel.includes('*');
}

/** Failures that go straight to their dedicated fallback list instead of being retried in the group. */
export function goesStraightToFallbacks(cls: ErrorClass, lists: { contextWindow: boolean; contentPolicy: boolean }): boolean {
  return (cls === 'context_window' && lists.contextWindow) || (cls === 'content_policy' && lists.contentPolicy);
}

/**
 * Milliseconds to wait before retrying the same deployment, or undefined when the wait would be too
 * long to hold the request (an upstream `retry-after` above `maxWaitMs`). The upstream's
 * `retry-after`/`retry-after-ms` wins; otherwise exponential backoff from `initialMs`, doubling per
 * retry up to `maxMs`, with LiteLLM's jitter (× 0.75–1). Never less than `retry_after`.
 */
export function backoffMs(error: GatewayError, retryIndex: number, settings: BackoffSettings, minimumMs: number, random: () => number): number | undefined {
  let wait: number;
  const upstream = error.retryAfterSeconds;
  if (upstream !== undefined && upstream >= 0) {
    wait = upstream * 1000;
    if (wait > settings.maxWaitMs) return undefined;
  } else {
    wait = Math.min(settings.initialMs * 2 ** retryIndex, settings.maxMs) * (1 - 0.25 * random());
  }
  return Math.max(wait, minimumMs);
}
