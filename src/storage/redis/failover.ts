/**
 * What a Redis outage means for admission (`general_settings.redis_failure_mode`):
 *
 * - `fail_closed` (default): a request that needs the shared counters is refused with a 503 while
 *   Redis is unreachable — budgets are never overshot, at the price of availability.
 * - `fail_open`: this instance counts in its own memory until Redis answers again — it keeps
 *   serving, limits hold per instance only meanwhile.
 *
 * Either way no request waits longer than the Redis command timeout, every failure is counted for
 * the health metrics, and the first success after an outage is logged: recovery is automatic
 * because the client keeps reconnecting.
 *
 * Settlements that could not reach Redis under fail_closed (calls admitted before the outage,
 * ending during it) are kept and applied when Redis answers again: otherwise their reservations
 * would stay counted against the budget and their spend be missing from it. Only failures where
 * the command was certainly not run (the connection was down) are kept; a timed-out command may
 * have run, and applying it twice would count the spend twice.
 */
import { errors } from '../../core/errors.js';
import { MemorySharedState } from '../memory/shared-state.js';
import type { AdmitOutcome, CounterCheck, CounterIncrement, SharedState } from '../shared-state.js';
import type { RedisSharedState } from './shared-state.js';

export type RedisFailureMode = 'fail_closed' | 'fail_open';

export interface RedisHealthEvent {
  /** Milliseconds the command took (failed or not). */
  latencyMs: number;
  ok: boolean;
  operation: 'admit' | 'add' | 'get' | 'set';
  /** The failure's class name (LiteLLM's `error_class` label), when it failed. */
  errorClass?: string | undefined;
}

export interface FailoverOptions {
  mode: RedisFailureMode;
  log?: ((message: string) => void) | undefined;
  onCommand?: ((event: RedisHealthEvent) => void) | undefined;
  now?: (() => number) | undefined;
}

/** Most settlements kept for replay; beyond it the oldest are dropped (and logged). */
const MAX_REPLAY = 100_000;
/** Settlements per replayed script. */
const REPLAY_CHUNK = 200;

/** ioredis's commandTimeout failure: the command may have run. */
function isTimeout(err: unknown): boolean {
  return /timed out/i.test(err instanceof Error ? err.message : String(err));
}

export class FailoverSharedState implements SharedState {
  readonly shared = true;
  /** fail_closed settlements waiting for Redis (see above). */
  private replay: CounterIncrement[][] = [];
  private replaying = false;
  /** Only fail_open counts locally during an outage. */
  private readonly local: MemorySharedState | undefined;
  private healthy = true;
  private lastError: string | undefined;

  constructor(
    readonly redis: RedisSharedState,
    private readonly options: FailoverOptions,
  ) {
    this.local = options.mode === 'fail_open' ? new MemorySharedState({ now: options.now }) : undefined;
    // Reconnected: healthy again without waiting for a request (readiness would otherwise stay 503
    // with no traffic to prove it, which is exactly what an unready pod gets).
    redis.client.on('ready', () => {
      if (this.healthy) return;
      this.healthy = true;
      this.options.log?.('redis: reachable again; shared counters in use');
      if (this.replay.length > 0) void this.flushReplay();
    });
  }

  get mode(): RedisFailureMode {
    return this.options.mode;
  }

  /** Whether the last Redis command succeeded (and the client is connected). */
  get up(): boolean {
    return this.healthy && this.redis.ready;
  }

  get error(): string | undefined {
    return this.healthy ? undefined : this.lastError;
  }

  admit(checks: readonly CounterCheck[], increments: readonly CounterIncrement[]): Promise<AdmitOutcome> {
    return this.run('admit', () => this.redis.admit(checks, increments), (local) => local.admit(checks, increments));
  }

  async add(increments: readonly CounterIncrement[]): Promise<number[]> {
    let timedOut = false;
    try {
      return await this.run(
        'add',
        () => this.redis.add(increments),
        (local) => local.add(increments),
        (raw) => (timedOut = isTimeout(raw)),
      );
    } catch (err) {
      // A timed-out command may have run: resending it could count the settlement twice.
      if (this.local === undefined && increments.length > 0 && !timedOut) this.keep(increments);
      throw err;
    }
  }

  /** Settlements waiting for Redis to return. */
  get pendingReplay(): number {
    return this.replay.length;
  }

  get(keys: readonly string[]): Promise<number[]> {
    return this.run('get', () => this.redis.get(keys), (local) => local.get(keys));
  }

  set(entries: readonly { key: string; value: number; expiresAt?: number | undefined }[]): Promise<void> {
    return this.run('set', () => this.redis.set(entries), (local) => local.set(entries));
  }

  async close(): Promise<void> {
    if (this.replay.length > 0 && this.redis.ready) await this.flushReplay();
    if (this.replay.length > 0) this.options.log?.(`redis: ${this.replay.length} settlements made during the outage could not be applied before shutdown (their spend is in the store; their reservations expire with their budget period)`);
    await this.local?.close();
    await this.redis.close();
  }

  private keep(increments: readonly CounterIncrement[]): void {
    this.replay.push([...increments]);
    if (this.replay.length > MAX_REPLAY) {
      this.replay.shift();
      this.options.log?.(`redis: more than ${MAX_REPLAY} settlements waiting for Redis; the oldest is dropped`);
    }
  }

  private async flushReplay(): Promise<void> {
    if (this.replaying) return;
    this.replaying = true;
    let applied = 0;
    try {
      // In chunks: one script over 100k settlements would hold Redis (and time out) for everyone.
      while (this.replay.length > 0) {
        const chunk = this.replay.slice(0, REPLAY_CHUNK);
        try {
          await this.redis.add(chunk.flat());
        } catch (err) {
          // A timeout may have applied the chunk: it is dropped rather than risk counting it twice.
          if (isTimeout(err)) {
            this.replay.splice(0, chunk.length);
            this.options.log?.(`redis: replaying ${chunk.length} settlements timed out; they are not resent`);
          }
          // Away again: the rest waits for the next success.
          return;
        }
        this.replay.splice(0, chunk.length);
        applied += chunk.length;
      }
    } finally {
      if (applied > 0) this.options.log?.(`redis: applied ${applied} settlements made while it was unreachable`);
      this.replaying = false;
    }
  }

  private async run<T>(operation: RedisHealthEvent['operation'], remote: () => Promise<T>, fallback: (local: MemorySharedState) => Promise<T>, onFailure?: (raw: unknown) => void): Promise<T> {
    const started = performance.now();
    try {
      const value = await remote();
      // An operation with nothing to do (an admit with no checks) answers without a command: it
      // proves nothing about Redis, so it is neither a command to count nor a sign of recovery.
      if (this.redis.client.status !== 'ready') return value;
      this.options.onCommand?.({ latencyMs: performance.now() - started, ok: true, operation });
      if (!this.healthy) this.options.log?.('redis: reachable again; shared counters in use');
      this.healthy = true;
      if (this.replay.length > 0) void this.flushReplay();
      return value;
    } catch (err) {
      onFailure?.(err);
      this.options.onCommand?.({ latencyMs: performance.now() - started, ok: false, operation, errorClass: err instanceof Error ? err.constructor.name : 'Error' });
      this.lastError = err instanceof Error ? err.message : String(err);
      if (this.healthy) {
        this.options.log?.(
          this.options.mode === 'fail_open'
            ? `redis: unreachable (${this.lastError}); fail_open: counting in this instance's memory until it returns`
            : `redis: unreachable (${this.lastError}); fail_closed: requests that need shared counters are refused until it returns`,
        );
      }
      this.healthy = false;
      if (this.local !== undefined) return fallback(this.local);
      throw errors.serviceUnavailable('Rate-limit and budget state (Redis) is unreachable; redis_failure_mode is fail_closed');
    }
  }
}
