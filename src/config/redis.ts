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
      { username: text(router.redis_username, file, 'router_settings.redis_username'), ssl: flag(router.redis_ssl, file, 'router_settings.redis_ssl') },
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
      return fromParts(host ?? 'localhost', port(cacheParams.port, file, `${base}.port`), text(cacheParams.password, file, `${base}.password`), base, {
        username: text(cacheParams.username, file, `${base}.username`),
        ssl: flag(cacheParams.ssl, file, `${base}.ssl`),
      });
    }
  }

  const envHost = text(env.REDIS_HOST);
  if (envHost !== undefined) {
    return fromParts(envHost, port(text(env.REDIS_PORT), file, 'REDIS_PORT'), text(env.REDIS_PASSWORD), 'REDIS_HOST', { username: text(env.REDIS_USERNAME), ssl: flag(env.REDIS_SSL, file, 'REDIS_SSL') });
  }
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

/** A boolean as YAML or the environment writes it (true/false, "true"/"1"/"yes"); unset = false. */
function flag(value: unknown, file: string, path: string): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|1|yes)$/i.test(value.trim())) return true;
  if (typeof value === 'string' && /^(false|0|no)$/i.test(value.trim())) return false;
  throw new ConfigError(file, path, `expected true or false, got ${JSON.stringify(value)}`);
}

function fromParts(host: string, portNumber: number, password: string | undefined, source: string, extra: { username?: string | undefined; ssl?: boolean } = {}): RedisTarget {
  // IPv6 literals need brackets inside a URL.
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const scheme = extra.ssl === true ? 'rediss' : 'redis';
  const user = extra.username === undefined ? '' : encodeURIComponent(extra.username);
  // A username alone would be read as the password (redis://secret@host): it only travels with one.
  const auth = password === undefined ? '' : `${user}:${encodeURIComponent(password)}@`;
  const url = `${scheme}://${auth}${h}:${portNumber}`;
  const shownAuth = password === undefined ? '' : `${user}:***@`;
  return { url, source, display: `${scheme}://${shownAuth}${h}:${portNumber}` };
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
  const masked = new URL(raw);
  // ioredis also reads a password from the query string (?password=…): never shown either.
  for (const key of [...masked.searchParams.keys()]) if (/pass/i.test(key)) masked.searchParams.set(key, '***');
  if (masked.password !== '') masked.password = '***';
  else if (masked.username !== '') masked.username = '***'; // redis://secret@host: a lone userinfo is the password to Redis clients.
  return { url: raw, source, display: masked.toString().replaceAll('%2A%2A%2A', '***') };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
