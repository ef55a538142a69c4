/**
 * `max_parallel_requests` slots as leases, so an instance that dies holding slots cannot keep them.
 *
 * A slot is a +1 on a counter of the current lease bucket (`par:<scope>#<bucket>`, buckets of
 * LEASE_BUCKET_MS); a check sums the current and the previous bucket. While a call runs, a
 * heartbeat moves its slot into each new bucket (−1 old, +1 new, in one atomic `add`), and the
 * settlement takes it from the bucket it is in. A crashed instance's slots stop moving: they drop
 * out of every check within two buckets, and their counters expire soon after. Plain counters and
 * sums are all this needs, so every SharedState (memory, Redis) supports it as it is.
 *
 * The cost: one extra `add` per heartbeat for all of this instance's slots together, and only
 * while it holds any. A heartbeat delayed past a whole bucket (the event loop stalled for 15 s)
 * lets a slot drop out early: the limit may admit one call too many then, never hang.
 */
import type { CounterIncrement, SharedState } from '../storage/shared-state.js';

export const LEASE_BUCKET_MS = 15_000;
/** Well within a bucket, so a slot has moved before the bucket it sits in stops being read. */
const HEARTBEAT_MS = LEASE_BUCKET_MS / 3;

/**
 * One held lease: `amount` on the counter `<base>#<bucket>`; `bucket` moves with the heartbeat.
 * A parallel slot is a lease of 1 on `par:<scope>`; a budget reservation one of its nano-USD on
 * `resv:<scope>@<period end>`, so a dead instance's reservations stop counting just as its slots do.
 */
export interface ParallelSlot {
  base: string;
  bucket: number;
  amount: number;
  /** The rate-limit scope of a parallel slot (for its hold-time statistics). */
  scope?: string | undefined;
}

export function leaseBucket(now: number): number {
  return Math.floor(now / LEASE_BUCKET_MS);
}

export function leaseCounter(base: string, bucket: number): string {
  return `${base}#${bucket}`;
}

/** Counters a check sums: the leases of the current and the previous bucket. */
export function leaseReads(base: string, now: number): string[] {
  const bucket = leaseBucket(now);
  return [leaseCounter(base, bucket), leaseCounter(base, bucket - 1)];
}

export function parallelBase(scope: string): string {
  return `par:${scope}`;
}

export function parallelReads(scope: string, now: number): string[] {
  return leaseReads(parallelBase(scope), now);
}

/** A counter outlives the last bucket that reads it a little (housekeeping only; reads decide). */
function expiryOf(bucket: number): number {
  return (bucket + 3) * LEASE_BUCKET_MS;
}

export class ParallelSlots {
  private readonly held = new Set<ParallelSlot>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: SharedState,
    private readonly now: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The increment that takes a lease of `amount` on `base` now (applied by the caller's `admit`). */
  take(base: string, amount: number, now: number, scope?: string): { slot: ParallelSlot; increment: CounterIncrement } {
    const bucket = leaseBucket(now);
    return { slot: { base, bucket, amount, scope }, increment: { key: leaseCounter(base, bucket), amount, expiresAt: expiryOf(bucket) } };
  }

  /** The slots were taken (admission succeeded): keep them alive until released. */
  hold(slots: readonly ParallelSlot[]): void {
    for (const s of slots) this.held.add(s);
    if (this.held.size > 0 && this.timer === undefined) {
      this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
      this.timer.unref();
    }
  }

  /** The increments that give the slots back (from the bucket each is in now). */
  release(slots: readonly ParallelSlot[]): CounterIncrement[] {
    const out: CounterIncrement[] = [];
    for (const s of slots) {
      this.held.delete(s);
      out.push({ key: leaseCounter(s.base, s.bucket), amount: -s.amount, expiresAt: expiryOf(s.bucket) });
    }
    // The timer is stopped by the heartbeat that finds nothing held, not here: a request path that
    // often drains to zero would otherwise create and clear an interval per request.
    return out;
  }

  /** Move every held slot into the current bucket. Exposed for tests; runs on a timer. */
  heartbeat(): Promise<void> {
    if (this.held.size === 0) {
      this.stop();
      return Promise.resolve();
    }
    const bucket = leaseBucket(this.now());
    const moves: CounterIncrement[] = [];
    for (const s of this.held) {
      if (s.bucket >= bucket) continue;
      moves.push({ key: leaseCounter(s.base, s.bucket), amount: -s.amount, expiresAt: expiryOf(s.bucket) });
      moves.push({ key: leaseCounter(s.base, bucket), amount: s.amount, expiresAt: expiryOf(bucket) });
      // Synchronously, so a settlement from now on takes the slot from where the move puts it.
      s.bucket = bucket;
    }
    if (moves.length === 0) return Promise.resolve();
    return this.state.add(moves).then(
      () => undefined,
      (err: unknown) => this.onError(err),
    );
  }

  /** Slots this instance holds now. */
  get size(): number {
    return this.held.size;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
