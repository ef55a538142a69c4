/** Helpers shared by the admin operations. */
import { randomBytes } from 'node:crypto';
import { errors, type GatewayError } from '../../core/errors.js';

/** A change set: `undefined` leaves a field alone, `null` clears it. `extra` is merged key by key. */
export type Changes<R> = { [K in keyof R]?: R[K] | undefined };

export function applyChanges<R extends { extra: Record<string, unknown>; updated_at: number }>(record: R, changes: Changes<R>, now: number): R {
  const next = { ...record };
  for (const [field, value] of Object.entries(changes) as [keyof R, R[keyof R] | undefined][]) {
    if (value === undefined || field === 'extra') continue;
    next[field] = value;
  }
  if (changes.extra !== undefined) next.extra = { ...record.extra, ...changes.extra };
  next.updated_at = now;
  return next;
}

/** A new key: `sk-` and 22 URL-safe characters (128 random bits), like LiteLLM's. */
export function newKeyValue(): string {
  return `sk-${randomBytes(16).toString('base64url')}`;
}

/** The display form LiteLLM stores as `key_name`: never more than the last four characters. */
export function maskKey(plaintext: string): string {
  return `sk-...${plaintext.slice(-4)}`;
}

export function notFound(message: string, param?: string): GatewayError {
  return errors.notFound(message, param);
}

export function conflict(message: string, param?: string): GatewayError {
  return errors.conflict(message, param);
}

export function badRequest(message: string, param?: string): GatewayError {
  return errors.invalidRequest(message, param);
}

export const NO_BUDGET = {
  max_budget_nano: null,
  soft_budget_nano: null,
  budget_duration: null,
  model_max_budget: {},
  tpm_limit: null,
  rpm_limit: null,
  max_parallel_requests: null,
} as const;

/**
 * Runs read-modify-write steps on one record one at a time (per id, in this process), so that
 * concurrent admin calls — ten parallel `/team/new` naming the same new member — neither lose
 * each other's changes (a user's `teams`) nor race to create the same row. Locks never nest.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(id: string, step: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    const current = previous.then(step, step);
    const tail = current.catch(() => undefined);
    this.tails.set(id, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }
}
