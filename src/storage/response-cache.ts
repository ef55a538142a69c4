/**
 * Where the response cache keeps answers: a string value per key with a time to live. In memory
 * (one process; least recently used entries go first past `maxEntries`) or in Redis (shared by
 * every instance: `SET key value EX ttl`, storage/redis/response-cache.ts). The cache never holds a request up: a Redis that does
 * not answer in time is a miss, and a failed write is dropped.
 */
import type { ResponseCacheStore } from '../core/response-cache-store.js';


export class MemoryResponseCache implements ResponseCacheStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (entry === undefined) return Promise.resolve(undefined);
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return Promise.resolve(undefined);
    // Re-inserted: a Map iterates in insertion order, so the oldest-used entry is always first.
    this.entries.set(key, entry);
    return Promise.resolve(entry.value);
  }

  set(key: string, value: string, ttlSeconds: number | undefined): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: ttlSeconds === undefined ? Number.POSITIVE_INFINITY : this.now() + ttlSeconds * 1000 });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    return Promise.resolve();
  }
}
