/**
 * The counter rules every SharedState follows, in one place: when a check refuses, what an
 * expired counter reads as, and how an increment sets the expiry (a counter lives as long as its
 * longest-lived user needs it; no expiry is the longest). The memory and Postgres states apply
 * them in process; the Redis scripts mirror them in Lua.
 */
import type { CounterCheck, CounterIncrement } from './shared-state.js';

export interface CounterEntry {
  value: number;
  expiresAt: number | undefined;
}

export function refuses(check: CounterCheck, sum: number): boolean {
  return check.refuse === 'reached' ? sum >= check.limit : sum + check.incoming > check.limit;
}

/** The entry as it stands at `now`: undefined when absent or expired. */
export function live(entry: CounterEntry | undefined, now: number): CounterEntry | undefined {
  return entry === undefined || (entry.expiresAt !== undefined && entry.expiresAt <= now) ? undefined : entry;
}

/** The entry after `inc`, given the live one before it. */
export function incremented(previous: CounterEntry | undefined, inc: CounterIncrement): CounterEntry {
  const value = (previous?.value ?? 0) + inc.amount;
  if (previous === undefined) return { value, expiresAt: inc.expiresAt };
  const expiresAt = previous.expiresAt === undefined || inc.expiresAt === undefined ? undefined : Math.max(inc.expiresAt, previous.expiresAt);
  return { value, expiresAt };
}
