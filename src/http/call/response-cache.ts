/**
 * Tollgate's response cache, as LiteLLM's (`litellm_settings.cache`): an answer to a request seen
 * before is replayed without calling a provider — the same bytes the first client got, a stream as
 * a stream — recorded as a cache hit that costs 0. The key is the SHA-256 of the request as the
 * router sees it (surface, the model after aliases, the body with router options, test hooks and
 * `cache` taken out, keys sorted), with the namespace in front; it is sent as `x-litellm-cache-key`.
 * A request steers it with LiteLLM's `cache` member: `no-cache` (do not read), `no-store` (do not
 * write), `ttl` (seconds to keep this answer), `s-maxage` (oldest answer it accepts, seconds),
 * `namespace`, and `use-cache` (needed when `mode: default_off`). Only complete, successful answers
 * are kept.
 */
import { createHash } from 'node:crypto';
import { litellmCallType } from '../../accounting/spend-row.js';
import type { Surface } from '../../core/call-record.js';
import { errors } from '../../core/errors.js';
import { isObject, type JsonObject } from '../../core/json.js';
import type { Usage } from '../../core/usage.js';
import type { ResponseCacheSettings } from '../../config/response-cache.js';
import type { ResponseCacheStore } from '../../core/response-cache-store.js';
import type { Answer } from '../../routing/answer.js';

/** What one request says about the cache, from its `cache` member. */
export interface CacheControls {
  noCache: boolean;
  noStore: boolean;
  ttlSeconds: number | undefined;
  maxAgeSeconds: number | undefined;
  namespace: string | undefined;
  useCache: boolean;
}

/** A complete answer as the client got it, to be kept; `model` is the upstream model that gave it. */
export type CapturedAnswer = ({ kind: 'json'; status: number; body: string } | { kind: 'stream'; chunks: string[] }) & { usage: Usage; model?: string | undefined };

type Entry = CapturedAnswer & { v: 1; createdAt: number };

/** The cache's part in one call: its key, and the answer when there was one to replay. */
export interface CacheLookup {
  key: string;
  /** The replayed answer, and the upstream model whose answer it is (the record and metrics name it). */
  hit: { answer: Answer; model: string | undefined } | undefined;
  /** Keeps the call's answer, when the request lets it be kept. */
  remember: ((answer: CapturedAnswer) => void) | undefined;
}

export class ResponseCache {
  constructor(
    private readonly settings: ResponseCacheSettings,
    private readonly store: ResponseCacheStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes `cache` out of the body (it is LiteLLM's, not the provider's) and looks the request up.
   * Undefined when the cache has no part in this call: a kind of call it does not serve, or
   * `default_off` without `use-cache`. `edited` says the body lost its `cache` member.
   */
  async lookup(surface: Surface, model: string, body: JsonObject): Promise<{ lookup: CacheLookup | undefined; edited: boolean }> {
    const edited = 'cache' in body;
    const controls = takeCacheControls(body);
    if (!this.settings.callTypes.has(litellmCallType(surface))) return { lookup: undefined, edited };
    if (this.settings.mode === 'default_off' && !controls.useCache) return { lookup: undefined, edited };
    const namespace = controls.namespace ?? this.settings.namespace;
    const hash = createHash('sha256').update(stableJson({ surface, model, body })).digest('hex');
    const key = namespace === undefined ? hash : `${namespace}:${hash}`;
    const hit = controls.noCache ? undefined : await this.read(key, controls.maxAgeSeconds);
    const ttl = controls.ttlSeconds ?? this.settings.ttlSeconds;
    const remember = controls.noStore || hit !== undefined ? undefined : (answer: CapturedAnswer): void => {
      const entry: Entry = { ...answer, usage: withoutRaw(answer.usage), v: 1, createdAt: this.now() };
      void this.store.set(key, JSON.stringify(entry), ttl);
    };
    return { lookup: { key, hit, remember }, edited };
  }

  private async read(key: string, maxAgeSeconds: number | undefined): Promise<CacheLookup['hit']> {
    const text = await this.store.get(key);
    if (text === undefined) return undefined;
    let entry: Entry;
    try {
      entry = JSON.parse(text) as Entry;
    } catch {
      return undefined;
    }
    if (entry.v !== 1) return undefined;
    if (maxAgeSeconds !== undefined && this.now() - entry.createdAt > maxAgeSeconds * 1000) return undefined;
    return { answer: replay(entry), model: entry.model };
  }
}

function replay(entry: Entry): Answer {
  if (entry.kind === 'json') return { kind: 'json', status: entry.status, headers: {}, body: entry.body, usage: entry.usage, passthrough: false };
  const done: AsyncIterator<string> = { next: () => Promise.resolve({ done: true, value: undefined }) };
  return { kind: 'bytes', status: 200, headers: {}, head: entry.chunks, iterator: done, tap: { usage: entry.usage, completed: true, events: entry.chunks.length, answerStarted: true } };
}

export function takeCacheControls(body: JsonObject): CacheControls {
  const raw = body.cache;
  delete body.cache;
  const controls: CacheControls = { noCache: false, noStore: false, ttlSeconds: undefined, maxAgeSeconds: undefined, namespace: undefined, useCache: false };
  if (raw === undefined || raw === null) return controls;
  if (!isObject(raw)) throw errors.invalidRequest('cache: expected an object such as {"no-cache": true}', 'cache');
  const flag = (name: string): boolean => {
    const value = raw[name];
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') throw errors.invalidRequest(`cache.${name}: expected true or false`, `cache.${name}`);
    return value;
  };
  const seconds = (name: string): number | undefined => {
    const value = raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !(value >= 0)) throw errors.invalidRequest(`cache.${name}: expected a number of seconds`, `cache.${name}`);
    return value;
  };
  controls.noCache = flag('no-cache');
  controls.noStore = flag('no-store');
  controls.useCache = flag('use-cache');
  controls.ttlSeconds = seconds('ttl');
  controls.maxAgeSeconds = seconds('s-maxage');
  if (raw.namespace !== undefined && raw.namespace !== null) {
    if (typeof raw.namespace !== 'string') throw errors.invalidRequest('cache.namespace: expected a string', 'cache.namespace');
    controls.namespace = raw.namespace;
  }
  return controls;
}

function withoutRaw(usage: Usage): Usage {
  const { raw: _raw, ...rest } = usage;
  return rest;
}

/** JSON with object keys sorted, so the same request always hashes the same. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
