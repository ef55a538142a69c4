/**
 * Which Redis a LiteLLM config names: REDIS_URL first, then router_settings.redis_*, then
 * litellm_settings.cache_params (type redis), then REDIS_HOST/PORT/PASSWORD; a bad field is a
 * ConfigError naming it, and the password never appears in what is logged.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/loader.js';
import { resolveRedis } from '../../src/config/redis.js';

const none = { router_settings: {}, litellm_settings: {} };
const router = { router_settings: { redis_host: 'r.example', redis_port: 6380, redis_password: 'rp' }, litellm_settings: {} };
const cache = { router_settings: {}, litellm_settings: { cache: true, cache_params: { type: 'redis', host: 'c.example', port: '6381', password: 'cp', supported_call_types: [] } } };

describe('resolveRedis', () => {
  it('finds nothing when nothing names a Redis', () => {
    expect(resolveRedis(none, {})).toBeUndefined();
    expect(resolveRedis({ router_settings: {}, litellm_settings: { cache_params: { type: 'local' } } }, {})).toBeUndefined();
  });

  it('reads each source, in LiteLLM precedence', () => {
    const env = { REDIS_HOST: 'e.example', REDIS_PORT: '6382', REDIS_PASSWORD: 'ep' };
    const both = { router_settings: router.router_settings, litellm_settings: cache.litellm_settings };
    expect(resolveRedis(both, { ...env, REDIS_URL: 'redis://u.example:6390/2' })).toEqual({ url: 'redis://u.example:6390/2', source: 'REDIS_URL', display: 'redis://u.example:6390/2' });
    expect(resolveRedis(both, env)).toEqual({ url: 'redis://:rp@r.example:6380', source: 'router_settings.redis_host', display: 'redis://:***@r.example:6380' });
    expect(resolveRedis(cache, env)).toEqual({ url: 'redis://:cp@c.example:6381', source: 'litellm_settings.cache_params', display: 'redis://:***@c.example:6381' });
    expect(resolveRedis(none, env)).toEqual({ url: 'redis://:ep@e.example:6382', source: 'REDIS_HOST', display: 'redis://:***@e.example:6382' });
    expect(resolveRedis(none, { REDIS_HOST: 'e.example' })).toMatchObject({ url: 'redis://e.example:6379' });
  });

  it('encodes the password into the URL and masks it in what is logged', () => {
    const t = resolveRedis({ router_settings: { redis_host: 'h', redis_password: 'p@ss/w' }, litellm_settings: {} }, {});
    expect(t?.url).toBe('redis://:p%40ss%2Fw@h:6379');
    expect(t?.display).not.toContain('p%40ss');
    const u = resolveRedis(none, { REDIS_URL: 'rediss://default:s3cret@u.example:6390/3' });
    expect(u?.url).toBe('rediss://default:s3cret@u.example:6390/3');
    expect(u?.display).toBe('rediss://default:***@u.example:6390/3');
  });

  it('takes TLS and an ACL user from cache_params and the environment, and masks query-string passwords', () => {
    const c = resolveRedis({ router_settings: {}, litellm_settings: { cache_params: { type: 'redis', host: 'c.example', port: 6380, username: 'app', password: 'pw', ssl: true } } }, {});
    expect(c).toMatchObject({ url: 'rediss://app:pw@c.example:6380', display: 'rediss://app:***@c.example:6380' });
    const e = resolveRedis(none, { REDIS_HOST: 'e.example', REDIS_SSL: 'true', REDIS_USERNAME: 'u', REDIS_PASSWORD: 'x' });
    expect(e?.url).toBe('rediss://u:x@e.example:6379');
    // A username without a password would be read as the password: it is left out.
    expect(resolveRedis(none, { REDIS_HOST: 'e.example', REDIS_USERNAME: 'u' })?.url).toBe('redis://e.example:6379');
    const q = resolveRedis(none, { REDIS_URL: 'redis://q.example:6379/0?password=topsecret' });
    expect(q?.url).toContain('topsecret');
    expect(q?.display).not.toContain('topsecret');
  });

  it('refuses a bad port, URL or database index, naming the field', () => {
    const bad = (config: typeof none, env: NodeJS.ProcessEnv): ConfigError => {
      try {
        resolveRedis(config, env, 'config.yaml');
      } catch (err) {
        if (err instanceof ConfigError) return err;
        throw err;
      }
      throw new Error('expected a ConfigError');
    };
    expect(bad({ router_settings: { redis_host: 'h', redis_port: 'six' }, litellm_settings: {} }, {}).path).toBe('router_settings.redis_port');
    expect(bad({ router_settings: {}, litellm_settings: { cache_params: { type: 'redis', host: 'h', port: 70000 } } }, {}).path).toBe('litellm_settings.cache_params.port');
    expect(bad(none, { REDIS_HOST: 'h', REDIS_PORT: '0' }).path).toBe('REDIS_PORT');
    expect(bad(none, { REDIS_URL: 'http://h:6379' }).reason).toMatch(/scheme/);
    expect(bad(none, { REDIS_URL: 'redis://h:6379/two' }).reason).toMatch(/database index/);
    expect(bad(none, { REDIS_URL: 'redis://h:6379/two' }).message).toMatch(/^config\.yaml: REDIS_URL: /);
  });
});
