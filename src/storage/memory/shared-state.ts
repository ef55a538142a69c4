/**
 * The embedded SharedState: a Map in this process. Every operation runs to completion within one
 * turn of the event loop, which is what makes `admit` atomic here; the Promise-returning interface
 * is for the Redis implementation, where each operation is one round trip.
 */
import { incremented, live, refuses, type CounterEntry } from '../counter-rules.js';
import type { AdmitOutcome, CounterCheck, CounterIncrement, SharedState } from '../shared-state.js';

export interface MemorySharedStateOptions {
  /** Clock for expiry (tests inject one). */
  now?: (() => number) | undefined;
  /** How often expired counters are swept (default 60 s). */
  sweepIntervalMs?: number | undefined;
}

export class MemorySharedState implements SharedState {
  readonly shared = false;
  private readonly entries = new Map<string, CounterEntry>();
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(options: MemorySharedStateOptions = {}) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.timer.unref();
  }

  admit(checks: readonly CounterCheck[], increments: readonly CounterIncrement[]): Promise<AdmitOutcome> {
    const now = this.now();
    const sums = checks.map((c) => c.read.reduce((total, key) => total + this.value(key, now), 0));
    const failed = checks.findIndex((c, i) => refuses(c, sums[i] ?? 0));
    if (failed >= 0) return Promise.resolve({ ok: false, failed, sums });
    for (const inc of increments) this.apply(inc, now);
    return Promise.resolve({ ok: true, sums });
  }

  add(increments: readonly CounterIncrement[]): Promise<number[]> {
    const now = this.now();
    return Promise.resolve(increments.map((inc) => this.apply(inc, now)));
  }

  get(keys: readonly string[]): Promise<number[]> {
    const now = this.now();
    return Promise.resolve(keys.map((key) => this.value(key, now)));
  }

  set(entries: readonly { key: string; value: number; expiresAt?: number | undefined }[]): Promise<void> {
    for (const e of entries) this.entries.set(e.key, { value: e.value, expiresAt: e.expiresAt });
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return Promise.resolve();
  }

  /** Counters held (for tests and diagnostics). */
  get size(): number {
    return this.entries.size;
  }

  private value(key: string, now: number): number {
    const entry = live(this.entries.get(key), now);
    if (entry === undefined) this.entries.delete(key);
    return entry?.value ?? 0;
  }

  private apply(inc: CounterIncrement, now: number): number {
    const next = incremented(live(this.entries.get(inc.key), now), inc);
    this.entries.set(inc.key, next);
    return next.value;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(key);
  }
}
