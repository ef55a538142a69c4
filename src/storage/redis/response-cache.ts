/** The response cache in Redis, shared by every instance (storage/response-cache.ts says what it promises). */
import type { Redis } from 'ioredis';
import type { ResponseCacheStore } from '../../core/response-cache-store.js';

export class RedisResponseCache implements ResponseCacheStore {
  constructor(
    private readonly client: Redis,
    /** Tollgate's key prefix (general_settings.redis_key_prefix) and `cache:`, so deployments can share one Redis. */
    private readonly prefix: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.client.get(this.prefix + key)) ?? undefined;
    } catch (err) {
      this.onError(err);
      return undefined;
    }
  }

  async set(key: string, value: string, ttlSeconds: number | undefined): Promise<void> {
    try {
      if (ttlSeconds === undefined) await this.client.set(this.prefix + key, value);
      else await this.client.set(this.prefix + key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
    } catch (err) {
      this.onError(err);
    }
  }
}
