/** The router's own failures (no deployment can take the call, no such model) and its retry wait. */
import { errors, GatewayError } from '../core/errors.js';
import type { ClientSignal } from './attempts.js';
import type { Unavailability } from './state.js';

export type Blocked = { reason: Unavailability; retryAt: number | undefined };

/** 429 when no deployment of a group can take the request now. */
export class NoDeploymentsAvailable extends GatewayError {
  constructor(group: string, retryAfterSeconds: number, detail: string) {
    super({
      code: 'rate_limit',
      status: 429,
      message: `No deployments available for ${group} (${detail}). Try again in ${retryAfterSeconds} seconds.`,
      retryable: true,
      retryAfterSeconds,
    });
  }
}

export function noDeployments(group: string, blocked: readonly { reason: Unavailability; retryAt: number | undefined }[], now: number): NoDeploymentsAvailable {
  const counts = new Map<Unavailability, number>();
  for (const b of blocked) counts.set(b.reason, (counts.get(b.reason) ?? 0) + 1);
  const words: Record<Unavailability, string> = { cooldown: 'cooling down', rpm: 'at the rpm limit', tpm: 'at the tpm limit', parallel: 'at max_parallel_requests' };
  const detail = [...counts].map(([reason, n]) => `${n} ${words[reason]}`).join(', ') || 'no deployment can take it';
  const times = blocked.map((b) => b.retryAt).filter((t): t is number => t !== undefined);
  // Busy deployments (max_parallel_requests) free up when some call ends: a second is a fair guess.
  const soonest = times.length > 0 ? Math.min(...times) : now + 1000;
  return new NoDeploymentsAvailable(group, Math.max(1, Math.ceil((soonest - now) / 1000)), detail);
}

export function modelNotFound(model: string, names: string[]): GatewayError {
  return errors.notFound(`Model "${model}" not found. Models available to you: ${names.join(', ') || '(none configured)'}`, 'model');
}

export function abortableSleep(ms: number, signal: ClientSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(errors.clientDisconnected());
    const timer = setTimeout(done, ms);
    function done(): void {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(errors.clientDisconnected());
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
