/**
 * Shared state: the counters admission decides on (spend and in-flight reservations per budget
 * period, requests and tokens per rate-limit window, parallel requests). One interface, two
 * implementations (DESIGN.md principle 6): in-process memory by default (`memory/shared-state.ts`),
 * Redis when several instances must share the counters (a Lua script makes `admit` atomic there).
 *
 * Counters are plain numbers under string keys; a key embeds its period or window, so a budget reset
 * or a new rate-limit minute is a new key starting at zero, never a write every instance must agree on.
 */

/** One limit admission must respect. */
export interface CounterCheck {
  /** Counters whose sum is compared (e.g. settled spend + in-flight reservations). */
  read: readonly string[];
  limit: number;
  /** What this request would add to the sum. */
  incoming: number;
  /**
   * `over`: refuse when sum + incoming > limit (rate limits, parallel requests).
   * `reached`: refuse when sum >= limit — LiteLLM's budget rule: a budget that is used up blocks,
   * the last request admitted may cross it (by at most what it reserved).
   */
  refuse: 'over' | 'reached';
}

export interface CounterIncrement {
  key: string;
  /** May be negative (releasing a reservation). */
  amount: number;
  /** Epoch ms after which the counter is no longer needed and may be dropped. */
  expiresAt?: number | undefined;
}

export interface AdmitOutcome {
  ok: boolean;
  /** Index of the first check that refused, when not ok. */
  failed?: number | undefined;
  /** Each check's sum before this request's increments. */
  sums: number[];
}

export interface SharedState {
  /** True when other instances see the same counters; false for the in-process default. */
  readonly shared: boolean;
  /** Atomically evaluate every check and, only when all pass, apply every increment. */
  admit(checks: readonly CounterCheck[], increments: readonly CounterIncrement[]): Promise<AdmitOutcome>;
  /** Apply the increments atomically; returns each counter's new value, in order. */
  add(increments: readonly CounterIncrement[]): Promise<number[]>;
  /** Current values (0 for an absent counter). */
  get(keys: readonly string[]): Promise<number[]>;
  /** Overwrite counters (used to load spend from the store). */
  set(entries: readonly { key: string; value: number; expiresAt?: number | undefined }[]): Promise<void>;
  close(): Promise<void>;
}

