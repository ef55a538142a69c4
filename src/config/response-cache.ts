/**
 * LiteLLM's response cache settings: `litellm_settings.cache: true` and `cache_params` —
 * `type` (`local` in memory, or `redis`: shared by every instance), `ttl` (seconds), `namespace`
 * (a key prefix), `supported_call_types` (LiteLLM's call types the cache serves), `mode`
 * (`default_on`, or `default_off`: only requests that ask with `cache: {"use-cache": true}`), and
 * `max_size_in_memory` for `local`. LiteLLM's proxy defaults `type` to redis; Tollgate does so when
 * a Redis is configured and keeps the cache in memory otherwise (said at startup). The other types
 * LiteLLM has (s3, disk, qdrant and redis semantic caches) are refused by name.
 */
import { isObject as isRecord } from '../core/json.js';

export interface ResponseCacheSettings {
  type: 'local' | 'redis';
  /** Seconds an answer is kept; undefined = LiteLLM's default for the type (600 in memory, none in Redis). */
  ttlSeconds: number | undefined;
  namespace: string | undefined;
  callTypes: ReadonlySet<string>;
  mode: 'default_on' | 'default_off';
  maxEntries: number;
  /** How `type` was decided, for the startup log. */
  note: string | undefined;
}

/** LiteLLM's default `supported_call_types` (litellm/caching/caching.py, `Cache.__init__`). */
export const DEFAULT_CACHED_CALL_TYPES = [
  'completion', 'acompletion', 'embedding', 'aembedding', 'atranscription', 'transcription',
  'atext_completion', 'text_completion', 'arerank', 'rerank', 'responses', 'aresponses',
];
/** LiteLLM's InMemoryCache defaults. */
const LOCAL_DEFAULT_TTL = 600;
const LOCAL_DEFAULT_ENTRIES = 200;

export class ResponseCacheConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function resolveResponseCache(settings: Readonly<Record<string, unknown>>, redisConfigured: boolean): ResponseCacheSettings | undefined {
  const enabled = settings.cache;
  if (enabled === undefined || enabled === null || enabled === false) return undefined;
  if (enabled !== true) throw new ResponseCacheConfigError('litellm_settings.cache', 'expected true or false');
  const raw = settings.cache_params ?? {};
  if (!isRecord(raw)) throw new ResponseCacheConfigError('litellm_settings.cache_params', 'expected a mapping');
  const at = (key: string): string => `litellm_settings.cache_params.${key}`;
  let type: 'local' | 'redis';
  let note: string | undefined;
  if (raw.type === undefined || raw.type === null) {
    type = redisConfigured ? 'redis' : 'local';
    note = redisConfigured ? undefined : 'litellm_settings.cache is on with no cache_params.type and no Redis configured: answers are cached in this process only (LiteLLM would use Redis)';
  } else if (raw.type === 'local' || raw.type === 'redis') {
    type = raw.type;
  } else {
    throw new ResponseCacheConfigError(at('type'), `Tollgate caches responses in memory (local) or in Redis (redis); ${JSON.stringify(raw.type)} is not supported`);
  }
  if (type === 'redis' && !redisConfigured) throw new ResponseCacheConfigError(at('type'), 'redis needs a Redis: set cache_params.host/port (or url), REDIS_URL or REDIS_HOST');
  const ttl = raw.ttl ?? raw.default_in_memory_ttl;
  if (ttl !== undefined && ttl !== null && (typeof ttl !== 'number' || !(ttl > 0))) throw new ResponseCacheConfigError(at('ttl'), 'expected a number of seconds above 0');
  if (raw.namespace !== undefined && raw.namespace !== null && typeof raw.namespace !== 'string') throw new ResponseCacheConfigError(at('namespace'), 'expected a string');
  const types = raw.supported_call_types ?? DEFAULT_CACHED_CALL_TYPES;
  if (!Array.isArray(types) || !types.every((t) => typeof t === 'string')) throw new ResponseCacheConfigError(at('supported_call_types'), 'expected a list of call types');
  const mode = raw.mode ?? 'default_on';
  if (mode !== 'default_on' && mode !== 'default_off') throw new ResponseCacheConfigError(at('mode'), 'expected default_on or default_off');
  const size = raw.max_size_in_memory ?? LOCAL_DEFAULT_ENTRIES;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) throw new ResponseCacheConfigError(at('max_size_in_memory'), 'expected a whole number above 0');
  return {
    type,
    ttlSeconds: typeof ttl === 'number' ? ttl : type === 'local' ? LOCAL_DEFAULT_TTL : undefined,
    namespace: typeof raw.namespace === 'string' && raw.namespace !== '' ? raw.namespace : undefined,
    callTypes: new Set(types),
    mode,
    maxEntries: size,
    note,
  };
}
