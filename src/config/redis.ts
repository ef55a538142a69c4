/**
 * Which Redis Tollgate shares state through, found where LiteLLM users already put it. LiteLLM's own
 * order: a `REDIS_URL` in the environment overrides everything (its Redis client reads it last), then
 * the Router's `router_settings.redis_*`, then `litellm_settings.cache_params` (the proxy's rate
 * limiter uses that Redis even when nothing is cached), then the bare `REDIS_HOST` family.
 */
import { ConfigError } from './loader.js';

export interface RedisTarget {
  /** redis://[:password@]host:port[/db] (or rediss://). */
  url: string;
  /** Where it came from, for the startup log: 'REDIS_URL' | 'router_settings.redis_host' | 'litellm_settings.cache_params' | 'REDIS_HOST' (or a `*.redis_url`/`*.url` path). */
  source: string;
  /** `url` with the password replaced by ***, safe to log. */
  display: string;
}

interface RedisConfigSections {
  router_settings: Record<string, unknown>;
  litellm_settings: Record<string, unknown>;
}

const DEFAULT_PORT = 6379;

/** The Redis to use, or undefined when none is configured. Throws ConfigError naming the bad field. */
export function resolveRedis(config: RedisConfigSections, env: NodeJS.ProcessEnv, file = 'config'): RedisTarget | undefined {
  const envUrl = text(env.REDIS_URL);
  if (envUrl !== undefined) return fromUrl(envUrl, 'REDIS_URL', file);

  const router = config.router_settings;
  const routerUrl = text(router.redis_url, file, 'router_settings.redis_url');
  if (routerUrl !== undefined) return fromUrl(routerUrl, 'router_settings.redis_url', file);
  const routerHost = text(router.redis_host, file, 'router_settings.redis_host');
  if (routerHost !== undefined) {
    return fromParts(
      routerHost,
      port(router.redis_port, file, 'router_settings.redis_port'),
      text(router.redis_password, file, 'router_settings.redis_password'),
      'router_settings.redis_host',
    );
  }

  const cacheParams = config.litellm_settings.cache_params;
  if (isRecord(cacheParams) && cacheParams.type === 'redis') {
    const base = 'litellm_settings.cache_params';
    for (const key of ['url', 'redis_url'] as const) {
      const url = text(cacheParams[key], file, `${base}.${key}`);
      if (url !== undefined) return fromUrl(url, `${base}.${key}`, file);
    }
    const host = text(cacheParams.host, file, `${base}.host`);
    // LiteLLM's cache client falls back to localhost when type is redis but no host is given.
    if (host !== undefined || cacheParams.port !== undefined || cacheParams.password !== undefined) {
      return fromParts(host ?? 'localhost', port(cacheParams.port, file, `${base}.port`), text(cacheParams.password, file, `${base}.password`), base);
    }
  }

  const envHost = text(env.REDIS_HOST);
  if (envHost !== undefined) return fromParts(envHost, port(text(env.REDIS_PORT), file, 'REDIS_PORT'), text(env.REDIS_PASSWORD), 'REDIS_HOST');
  return undefined;
}

/** A non-empty string (numbers accepted, since YAML may read a host or password as one); empty = unset. */
function text(value: unknown, file?: string, path?: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  throw new ConfigError(file ?? 'config', path ?? '', `expected a string, got ${typeof value}`);
}

function port(value: unknown, file: string, path: string): number {
  if (value === undefined || value === null || value === '') return DEFAULT_PORT;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(file, path, `not a valid port (an integer 1-65535): ${JSON.stringify(value)}`);
  return n;
}

function fromParts(host: string, portNumber: number, password: string | undefined, source: string): RedisTarget {
  // IPv6 literals need brackets inside a URL.
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
  const url = `redis://${auth}${h}:${portNumber}`;
  return { url, source, display: password === undefined ? url : `redis://:***@${h}:${portNumber}` };
}

function fromUrl(raw: string, source: string, file: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(file, source, 'not a valid URL (expected redis://[:password@]host:port[/db])');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(file, source, `unsupported scheme "${parsed.protocol}" (expected redis:// or rediss://)`);
  }
  if (parsed.hostname === '') throw new ConfigError(file, source, 'the URL names no host');
  // URL drops an explicit default port and rejects >65535 already; a non-numeric one fails to parse above.
  if (parsed.port !== '') port(parsed.port, file, source);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new ConfigError(file, source, `the database index must be a non-negative integer, got "${db}"`);
  if (parsed.password === '' && parsed.username === '') return { url: raw, source, display: raw };
  const masked = new URL(raw);
  if (masked.password !== '') masked.password = '***';
  else masked.username = '***'; // redis://secret@host: a lone userinfo is the password to Redis clients.
  return { url: raw, source, display: masked.toString().replace('%2A%2A%2A', '***') };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
