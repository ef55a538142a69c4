/**
 * When a failure puts a deployment in cooldown, and for how long. LiteLLM's rules: 429, 401, 404 and
 * 408 cool a deployment down at once; other upstream failures count, and more than `allowed_fails`
 * in a minute (or the class's count in `allowed_fails_policy`) cool it down; `cooldown_time` of the
 * deployment wins over the upstream's `retry-after`, which wins over the router's `cooldown_time`.
 *
 * Not LiteLLM's bugs:
 * - the only deployment of a group is never cooled down: it would turn every request into "No
 *   deployments available" and hide the upstream's real error (LiteLLM exempts single deployments
 *   only from some of its rules, and from none once `allowed_fails` is set);
 * - failures the client caused (400s, and a 404 for a model a wildcard deployment does not have)
 *   and failures that are nobody's upstream fault (client gone, gateway bug) never count;
 * - `allowed_fails` is honoured as written (LiteLLM silently switches algorithms when it is set).
 */
import type { Deployment } from '../core/deployment.js';
import type { GatewayError } from '../core/errors.js';
import { allowedFailsFromPolicy, isClientCaused, type ErrorClass } from './error-class.js';
import { isClientNotFound } from './retry.js';
import type { RouterSettings } from './settings.js';
import { numberParam } from './strategies.js';

export type CooldownRule =
  | { kind: 'none' }
  | { kind: 'immediate'; ms: number }
  /** Count the failure; cool down for `ms` once the minute's failures exceed `allowed`. */
  | { kind: 'count'; allowed: number; ms: number };

const IMMEDIATE_STATUSES = new Set([429, 401, 404, 408]);

export function cooldownRule(
  cls: ErrorClass,
  error: GatewayError,
  deployment: Deployment,
  groupSize: number,
  settings: Pick<RouterSettings, 'disableCooldowns' | 'allowedFails' | 'allowedFailsPolicy' | 'cooldownMs'>,
): CooldownRule {
  if (settings.disableCooldowns || groupSize <= 1) return { kind: 'none' };
  if (cls === 'client_abort' || cls === 'internal' || isClientCaused(cls) || isClientNotFound(cls, deployment.model)) return { kind: 'none' };
  const ms = cooldownMs(error, deployment, settings.cooldownMs);
  if (ms <= 0) return { kind: 'none' };
  const allowed = allowedFailsFromPolicy(settings.allowedFailsPolicy, cls);
  if (allowed === undefined && IMMEDIATE_STATUSES.has(error.status)) return { kind: 'immediate', ms };
  return { kind: 'count', allowed: allowed ?? settings.allowedFails, ms };
}

/** Deployment `cooldown_time`, else the upstream's `retry-after`, else the router's `cooldown_time`. */
export function cooldownMs(error: GatewayError, deployment: Deployment, routerMs: number): number {
  const own = numberParam(deployment, 'cooldown_time');
  if (own !== undefined) return own * 1000;
  if (error.retryAfterSeconds !== undefined) return error.retryAfterSeconds * 1000;
  return routerMs;
}
