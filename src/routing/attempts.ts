/**
 * The attempt loop: pick a deployment of the group, run one attempt, record it. Every attempt is
 * recorded (deployment, duration, outcome) so the call record and the `x-litellm-attempted-*`
 * headers describe exactly what happened.
 */
import type { AttemptRecord } from '../core/call-record.js';
import type { Deployment } from '../core/deployment.js';
import { toGatewayError } from '../core/errors.js';
import { pickDeployment, type ResolvedGroup } from './router.js';

export interface AttemptLog {
  attempts: AttemptRecord[];
  retries: number;
  fallbacks: number;
}

export interface AttemptOutcome<T> {
  value: T;
  deployment: Deployment;
}

export async function runAttempts<T>(
  group: ResolvedGroup,
  log: AttemptLog,
  attempt: (deployment: Deployment) => Promise<T>,
): Promise<AttemptOutcome<T>> {
  const deployment = pickDeployment(group.deployments);
  const startedAt = Date.now();
  const t0 = performance.now();
  try {
    const value = await attempt(deployment);
    log.attempts.push({ deploymentId: deployment.id, startedAt, durationMs: performance.now() - t0, outcome: 'success' });
    return { value, deployment };
  } catch (err) {
    const error = toGatewayError(err);
    log.attempts.push({
      deploymentId: deployment.id,
      startedAt,
      durationMs: performance.now() - t0,
      outcome: 'failure',
      status: error.status,
      errorCode: error.code,
      errorMessage: error.message,
    });
    throw Object.assign(error, { deployment });
  }
}
