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
import { errors, type GatewayError } from '../core/errors.js';
import type { ResolvedGroup } from './router.js';
import { sharedWheel, type TimerWheel, type WheelTimer } from './timer-wheel.js';

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

/** The client's side of a call as routing sees it: gone or not, and told once when it goes. An AbortSignal is one. */
export interface ClientSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A ClientSignal without an AbortController (an EventTarget per request costs more than this):
 * the HTTP layer aborts it when the socket closes early. The one AbortController of a call is then
 * the answering attempt's own, which is what the upstream request needs.
 */
export class ClientGone implements ClientSignal {
  aborted = false;
  reason: unknown;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners?.splice(i, 1);
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) listener();
  }
}

/** A per-attempt abort controller that follows the parent (client) signal until released. */
export class AttemptSignal {
  readonly controller = new AbortController();
  private readonly onParentAbort = (): void => this.controller.abort(this.parent.reason);

  constructor(private readonly parent: ClientSignal) {
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
 * Awaits `work`, failing with `onTimeout()` after `ms` and aborting the attempt then. The deadline
 * is an entry on the shared timer wheel, not a timer and a `Promise.race` of its own. The late
 * settlement of the abandoned work is ignored: it belongs to nobody any more.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, attempt: AttemptSignal, onTimeout: () => GatewayError, wheel: TimerWheel = sharedWheel): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return work;
  return new Promise<T>((resolve, reject) => {
    const deadline = wheel.schedule(ms, () => {
      reject(onTimeout());
      attempt.release(true);
    });
    work.then(
      (value) => {
        deadline.cancel();
        resolve(value);
      },
      (err: unknown) => {
        deadline.cancel();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** The deadline of an attempt: the request's `x-litellm-timeout` when given, else the deployment's own. */
export function effectiveTimeoutMs(deployment: Deployment, stream: boolean, requestTimeoutMs?: number): number {
  return requestTimeoutMs ?? (stream ? deployment.streamTimeoutMs : deployment.timeoutMs);
}

export function attemptTimeout(deployment: Deployment, stream: boolean, requestTimeoutMs?: number): GatewayError {
  const [key, ms] =
    requestTimeoutMs !== undefined ? ['x-litellm-timeout', requestTimeoutMs] : stream ? ['stream_timeout', deployment.streamTimeoutMs] : ['timeout', deployment.timeoutMs];
  return errors.timeout(`Timed out waiting for ${deployment.provider} (${key}: ${Number((ms / 1000).toFixed(3))}s ${stream ? 'to the first event' : 'for the answer'})`, {
    upstream: { provider: deployment.provider },
  });
}

export function idleTimeout(deployment: Deployment): GatewayError {
  return errors.timeout(`${deployment.provider} sent nothing for ${Number((deployment.streamTimeoutMs / 1000).toFixed(3))}s in the middle of the answer (stream_timeout)`, {
    upstream: { provider: deployment.provider },
  });
}

/**
 * Watches the gaps between chunks of an answer that is already streaming: only time spent waiting
 * on the upstream counts (not on a slow client), checked by one entry per stream on the shared
 * timer wheel rather than one timer
 * per chunk. When a gap exceeds `ms`, `onIdle` tears the upstream down and the pending read fails
 * with `idleError()` instead of an abort. (undici's own body timeout ticks in half-seconds, too
 * coarse for short stream_timeouts.)
 */
export function idleGuarded<T>(iterator: AsyncIterator<T>, ms: number, onIdle: () => void, idleError: () => GatewayError, wheel: TimerWheel = sharedWheel): AsyncIterator<T> {
  if (!Number.isFinite(ms) || ms <= 0) return iterator;
  let waitingSince: number | undefined;
  let fired = false;
  let timer: WheelTimer | undefined;
  const arm = (delay: number): void => {
    timer = wheel.schedule(delay, check);
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
    timer?.cancel();
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
