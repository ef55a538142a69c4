/**
 * The port of the response cache's store (implemented in storage/: memory and Redis): a string
 * value per key with a time to live. Here in core so the request pipeline can hold one without
 * depending on storage.
 */
export interface ResponseCacheStore {
  get(key: string): Promise<string | undefined>;
  /** `ttlSeconds` undefined: kept until evicted (Redis: no expiry, as LiteLLM's Redis cache). */
  set(key: string, value: string, ttlSeconds: number | undefined): Promise<void>;
}
