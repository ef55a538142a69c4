/**
 * One attempt against one deployment, and the lease it holds once it answered. Every attempt is
 * recorded (deployment, duration, outcome) so the call record and the `x-litellm-attempted-*`
 * headers describe exactly what happened.
 *
 * An attempt has a deadline: `stream_timeout` until the first event of a stream (the upstream's
 * own idle timeout guards the gaps after it), `timeout` for the whole of a non-streamed answer.
 * It runs under its own abort signal, linked to the client's, so a timed-out or failed attempt can
 * be torn down without touching the request, and the answering one is aborted when the client goes.
 */
import type { AttemptRecord, CallRecord } from '../core/call-record.js';
import type { Deployment } from '../core/deployment.js';
import { GatewayError } from '../core/errors.js';
import type { ResolvedGroup } from './router.js';

export interface AttemptLog {
  attempts: AttemptRecord[];
  retries: number;
  fallbacks: number;
  /** The retries the router may make for this request (`x-litellm-max-retries`). */
  maxRetries?: number | undefined;
}

export function failedAttempt(deploymentId: string, startedAt: number, durationMs: number, error: GatewayError): AttemptRecord {
  return { deploymentId, startedAt, durationMs, outcome: 'failure', status: error.status, errorCode: error.code, errorMessage: error.message };
}

/** What an attempt runs against. */
export interface AttemptTarget {
  deployment: Deployment;
  group: ResolvedGroup;
  /** The model name this group was asked for (the client's, an alias target, or a fallback). */
  requestedModel: string;
  /** The upstream model id (wildcards resolved). */
  upstreamModel: string;
}

/** How a leased answer ended: the call record's view of it. */
export type LeaseResult = Pick<CallRecord, 'outcome' | 'httpStatus' | 'error' | 'usage'>;

/**
 * The answering attempt's hold on its deployment: its in-flight slot, its abort signal (linked to
 * the client's) and its health bookkeeping, released once when the answer is over.
 */
export interface Lease {
  readonly signal: AbortSignal;
  /** Milliseconds from the attempt's start to its first event (or whole answer). */
  readonly committedMs: number;
  /** Tear the upstream call down (an answer that went quiet for too long). */
  abort(): void;
  end(result: LeaseResult): void;
}

/** A per-attempt abort controller that follows the parent (client) signal until released. */
export class AttemptSignal {
  readonly controller = new AbortController();
  private readonly onParentAbort = (): void => this.controller.abort(this.parent.reason);

  constructor(private readonly parent: AbortSignal) {
    if (parent.aborted) this.controller.abort(parent.reason);
    else parent.addEventListener('abort', this.onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stop following the parent; with `abort`, also tear the attempt down (a failed or abandoned attempt). */
  release(abort: boolean): void {
    this.parent.removeEventListener('abort', this.onParentAbort);
    if (abort && !this.controller.signal.aborted) this.controller.abort(new Error('attempt abandoned'));
  }
}

/**
 * Awaits `work`, failing with `onTimeout()` after `ms` and aborting the attempt then. The late
 * rejection of the abandoned work is swallowed: it belongs to nobody any more.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, attempt: AttemptSignal, onTimeout: () => GatewayError): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(onTimeout());
      attempt.release(true);
    }, ms);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The deadline of an attempt: the request's `x-litellm-timeout` when given, else the deployment's own. */
export function effectiveTimeoutMs(deployment: Deployment, stream: boolean, requestTimeoutMs?: number): number {
  return requestTimeoutMs ?? (stream ? deployment.streamTimeoutMs : deployment.timeoutMs);
}

export function attemptTimeout(deployment: Deployment, stream: boolean, requestTimeoutMs?: number): GatewayError {
  const [key, ms] =
    requestTimeoutMs !== undefined ? ['x-litellm-timeout', requestTimeoutMs] : stream ? ['stream_timeout', deployment.streamTimeoutMs] : ['timeout', deployment.timeoutMs];
  return new GatewayError({
    code: 'timeout',
    status: 408,
    message: `Timed out waiting for ${deployment.provider} (${key}: ${Number((ms / 1000).toFixed(3))}s ${stream ? 'to the first event' : 'for the answer'})`,
    retryable: true,
    upstream: { provider: deployment.provider },
  });
}

export function idleTimeout(deployment: Deployment): GatewayError {
  return new GatewayError({
    code: 'timeout',
    status: 408,
    message: `${deployment.provider} sent nothing for ${Number((deployment.streamTimeoutMs / 1000).toFixed(3))}s in the middle of the answer (stream_timeout)`,
    retryable: true,
    upstream: { provider: deployment.provider },
  });
}

/**
 * Watches the gaps between chunks of an answer that is already streaming: only time spent waiting
 * on the upstream counts (not on a slow client), checked by one timer per stream rather than one
 * per chunk. When a gap exceeds `ms`, `onIdle` tears the upstream down and the pending read fails
 * with `idleError()` instead of an abort. (undici's own body timeout ticks in half-seconds, too
 * coarse for short stream_timeouts.)
 */
export function idleGuarded<T>(iterator: AsyncIterator<T>, ms: number, onIdle: () => void, idleError: () => GatewayError): AsyncIterator<T> {
  if (!Number.isFinite(ms) || ms <= 0) return iterator;
  let waitingSince: number | undefined;
  let fired = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (delay: number): void => {
    timer = setTimeout(check, delay);
    timer.unref();
  };
  const check = (): void => {
    timer = undefined;
    if (waitingSince === undefined) return arm(ms);
    const waited = performance.now() - waitingSince;
    if (waited < ms) return arm(ms - waited);
    fired = true;
    onIdle();
  };
  const stop = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  arm(ms);
  return {
    async next(): Promise<IteratorResult<T>> {
      waitingSince = performance.now();
      try {
        const result = await iterator.next();
        if (result.done === true) stop();
        return result;
      } catch (err) {
        stop();
        throw fired ? idleError() : err;
      } finally {
        waitingSince = undefined;
      }
    },
    async return(): Promise<IteratorResult<T>> {
      stop();
      return (await iterator.return?.()) ?? { done: true, value: undefined };
    },
  };
}

/** Anything after the client went away is that, whatever the attempt reported. */
export function clientGone(cause?: unknown): GatewayError {
  return new GatewayError({ code: 'client_disconnected', status: 499, message: 'Client closed the connection before the answer was complete', cause });
}
