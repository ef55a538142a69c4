/** The response cache's pieces on their own: settings as LiteLLM names them, the memory store's LRU and TTL, the request's `cache` member. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CACHED_CALL_TYPES, resolveResponseCache } from '../../src/config/response-cache.js';
import { takeCacheControls } from '../../src/http/call/response-cache.js';
import { MemoryResponseCache } from '../../src/storage/response-cache.js';

describe('litellm_settings.cache / cache_params', () => {
  it('off unless cache is true; type follows Redis when unset (said when it falls back to memory)', () => {
    expect(resolveResponseCache({}, true)).toBeUndefined();
    expect(resolveResponseCache({ cache: false, cache_params: { type: 'redis' } }, true)).toBeUndefined();
    expect(resolveResponseCache({ cache: true }, true)).toMatchObject({ type: 'redis', ttlSeconds: undefined, mode: 'default_on', note: undefined });
    const local = resolveResponseCache({ cache: true }, false);
    expect(local).toMatchObject({ type: 'local', ttlSeconds: 600, maxEntries: 200 });
    expect(local?.note).toContain('this process only');
    expect([...(local?.callTypes ?? [])]).toEqual(DEFAULT_CACHED_CALL_TYPES);
    expect(resolveResponseCache({ cache: true, cache_params: { type: 'local', ttl: 30, namespace: 'ns', mode: 'default_off', supported_call_types: ['acompletion'], max_size_in_memory: 5 } }, false)).toMatchObject({
      type: 'local', ttlSeconds: 30, namespace: 'ns', mode: 'default_off', maxEntries: 5,
    });
  });

  it('a bad value names the key', () => {
    const bad = (settings: Record<string, unknown>, redis = true): string | undefined => {
      try {
        resolveResponseCache(settings, redis);
        return undefined;
      } catch (err) {
        return (err as { path: string }).path;
      }
    };
    expect(bad({ cache: true, cache_params: { type: 's3' } })).toBe('litellm_settings.cache_params.type');
    expect(bad({ cache: true, cache_params: { type: 'redis' } }, false)).toBe('litellm_settings.cache_params.type');
    expect(bad({ cache: true, cache_params: { ttl: -1 } })).toBe('litellm_settings.cache_params.ttl');
    expect(bad({ cache: true, cache_params: { mode: 'sometimes' } })).toBe('litellm_settings.cache_params.mode');
    expect(bad({ cache: true, cache_params: { supported_call_types: 'acompletion' } })).toBe('litellm_settings.cache_params.supported_call_types');
    expect(bad({ cache: 'yes' })).toBe('litellm_settings.cache');
  });
});

describe('the memory store', () => {
  it('expires by TTL and evicts the least recently used entry past its size', async () => {
    let now = 1_000_000;
    const store = new MemoryResponseCache(2, () => now);
    await store.set('a', 'A', 10);
    await store.set('b', 'B', undefined);
    expect(await store.get('a')).toBe('A'); // a is now the most recently used
    await store.set('c', 'C', 10);
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBe('A');
    now += 10_001;
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('c')).toBeUndefined();
  });
});

describe("the request's cache member", () => {
  it('is taken out of the body and read as LiteLLM names its fields', () => {
    const body: Record<string, unknown> = { model: 'm', cache: { 'no-cache': true, 'no-store': false, ttl: 5, 's-maxage': 60, namespace: 'x', 'use-cache': true } };
    expect(takeCacheControls(body)).toEqual({ noCache: true, noStore: false, ttlSeconds: 5, maxAgeSeconds: 60, namespace: 'x', useCache: true });
    expect(body).toEqual({ model: 'm' });
    expect(() => takeCacheControls({ cache: { 'no-cache': 'yes' } })).toThrow(/cache\.no-cache/);
    expect(() => takeCacheControls({ cache: 'off' })).toThrow(/cache:/);
  });
});
