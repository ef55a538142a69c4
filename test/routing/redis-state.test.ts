/**
 * The Redis routing state against a real Redis: the same operations answer as the in-memory state
 * does (and as the numbers worked out by hand below), admission is atomic across instances, a
 * cooldown started by one instance is seen by another, and in-flight counters cannot leak forever.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisRoutingState } from '../../src/routing/redis-state.js';
import { InMemoryRoutingState, type DeploymentLimits, type LatencyKind, type RoutingState } from '../../src/routing/state.js';
import { REDIS_URL, redisSkip, testPrefix } from '../storage/redis-gate.js';

const clients: Redis[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  // The cooldown set has no expiry of its own: remove what each test wrote.
  const [client] = clients;
  if (client !== undefined) {
    for (const prefix of prefixes.splice(0)) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
    }
  }
  for (const c of clients.splice(0)) await c.quit().catch(() => c.disconnect());
});

/** A client configured as `RedisSharedState` configures its own. */
async function client(): Promise<Redis> {
  const c = new Redis(REDIS_URL, {
    commandTimeout: 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  c.on('error', () => undefined);
  clients.push(c);
  await c.connect();
  return c;
}

async function redisState(prefix: string, options: { latencyWindow?: number; latencyTtlMs?: number } = {}): Promise<RedisRoutingState> {
  prefixes.push(prefix);
  return new RedisRoutingState(await client(), { prefix, ...options });
}

/** 10 s into the current minute, near the real clock so the keys' real expiries outlive the test. */
const minuteStart = (): number => Math.floor(Date.now() / 60_000) * 60_000;

type Step =
  | { op: 'admit'; id: string; limits: DeploymentLimits; tokens: number; at: number; want?: unknown }
  | { op: 'release'; id: string; tokens: number; at: number }
  | { op: 'latency'; id: string; kind: LatencyKind; ms: number; at: number }
  | { op: 'failure'; id: string; at: number; want?: number }
  | { op: 'cooldown'; id: string; until: number; at: number; want?: boolean }
  | { op: 'cooldowns'; at: number; want?: [string, number][] }
  | { op: 'load'; ids: string[]; kind: LatencyKind | undefined; at: number; want?: Record<string, unknown> };

/** Steps at offsets from a minute's start (T = +10 s); `want` holds answers worked out by hand. */
function steps(): Step[] {
  const T = 10_000;
  const next = 60_000; // the next minute starts here
  return [
    // rpm 2: the third request of the minute waits for the next minute, which admits again.
    { op: 'admit', id: 'a', limits: { rpm: 2 }, tokens: 0, at: T, want: { ok: true } },
    { op: 'admit', id: 'a', limits: { rpm: 2 }, tokens: 0, at: T },
    { op: 'admit', id: 'a', limits: { rpm: 2 }, tokens: 0, at: T + 1, want: { ok: false, reason: 'rpm', retryAt: next } },
    { op: 'load', ids: ['a'], kind: undefined, at: T + 2, want: { a: { cooldownUntil: undefined, requests: 2, tokens: 0, inFlight: 2, latencyMs: undefined } } },
    { op: 'admit', id: 'a', limits: { rpm: 2 }, tokens: 0, at: next, want: { ok: true } },
    { op: 'load', ids: ['a'], kind: 'json', at: next, want: { a: { cooldownUntil: undefined, requests: 1, tokens: 0, inFlight: 3, latencyMs: undefined } } },
    // tpm 100: a first request of 500 fits an empty minute; then 90 used + 20 > 100, + 10 = 100 fits.
    { op: 'admit', id: 'b', limits: { tpm: 100 }, tokens: 500, at: T, want: { ok: true } },
    { op: 'release', id: 'b', tokens: 90, at: T },
    { op: 'admit', id: 'b', limits: { tpm: 100 }, tokens: 20, at: T, want: { ok: false, reason: 'tpm', retryAt: next } },
    { op: 'admit', id: 'b', limits: { tpm: 100 }, tokens: 10, at: T, want: { ok: true } },
    { op: 'release', id: 'b', tokens: 0.1, at: T },
    { op: 'release', id: 'b', tokens: 0.2, at: T },
    { op: 'load', ids: ['b'], kind: undefined, at: T, want: { b: { cooldownUntil: undefined, requests: 2, tokens: 90 + 0.1 + 0.2, inFlight: 0, latencyMs: undefined } } },
    // Tokens of the previous minute do not count against this one.
    { op: 'admit', id: 'b', limits: { tpm: 100 }, tokens: 500, at: next, want: { ok: true } },
    // max_parallel 1: release gives the slot back; extra releases never take the count below 0.
    { op: 'admit', id: 'c', limits: { maxParallel: 1 }, tokens: 0, at: T, want: { ok: true } },
    { op: 'admit', id: 'c', limits: { maxParallel: 1 }, tokens: 0, at: T, want: { ok: false, reason: 'parallel', retryAt: undefined } },
    { op: 'release', id: 'c', tokens: 0, at: T },
    { op: 'release', id: 'c', tokens: 0, at: T },
    { op: 'release', id: 'c', tokens: 0, at: T },
    { op: 'admit', id: 'c', limits: { maxParallel: 1 }, tokens: 0, at: T, want: { ok: true } },
    { op: 'admit', id: 'c', limits: { maxParallel: 1, rpm: 10, tpm: 10 }, tokens: 0, at: T, want: { ok: false, reason: 'parallel', retryAt: undefined } },
    // Cooldowns: a shorter one keeps the running one, a longer one extends it, it ends by itself.
    { op: 'cooldown', id: 'd', until: T + 5000, at: T, want: true },
    { op: 'cooldown', id: 'd', until: T + 1000, at: T, want: false },
    { op: 'admit', id: 'd', limits: { rpm: 0 }, tokens: 0, at: T + 4000, want: { ok: false, reason: 'cooldown', retryAt: T + 5000 } },
    { op: 'cooldowns', at: T + 4000, want: [['d', T + 5000]] },
    { op: 'cooldown', id: 'd', until: T + 8000, at: T + 4000, want: false },
    { op: 'load', ids: ['d', 'zz'], kind: 'stream', at: T + 7999, want: { d: { cooldownUntil: T + 8000, requests: 0, tokens: 0, inFlight: 0, latencyMs: undefined }, zz: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: undefined } } },
    { op: 'admit', id: 'd', limits: {}, tokens: 0, at: T + 8000, want: { ok: true } },
    { op: 'cooldowns', at: T + 8000, want: [] },
    { op: 'cooldown', id: 'd', until: T + 9000, at: T + 8000, want: true },
    { op: 'cooldown', id: 'e', until: T + 20_000, at: T + 8000, want: true },
    { op: 'cooldowns', at: T + 8500, want: [['d', T + 9000], ['e', T + 20_000]] },
    // Failures: counted over the last 60 s (one exactly 60 s old is out), forgotten by a cooldown.
    { op: 'failure', id: 'f', at: T, want: 1 },
    { op: 'failure', id: 'f', at: T + 30_000, want: 2 },
    { op: 'failure', id: 'f', at: T + 30_000, want: 3 },
    { op: 'failure', id: 'f', at: T + 60_000, want: 3 },
    { op: 'failure', id: 'f', at: T + 60_001, want: 4 },
    { op: 'cooldown', id: 'f', until: T + 61_000, at: T + 60_001, want: true },
    { op: 'failure', id: 'f', at: T + 60_002, want: 1 },
    // Latency: window 3, TTL 30 s, per kind; the mean of what is left.
    { op: 'latency', id: 'g', kind: 'json', ms: 10, at: T },
    { op: 'latency', id: 'g', kind: 'json', ms: 20, at: T + 1000 },
    { op: 'latency', id: 'g', kind: 'json', ms: 30.5, at: T + 2000 },
    { op: 'latency', id: 'g', kind: 'stream', ms: 7, at: T + 2000 },
    { op: 'load', ids: ['g'], kind: 'json', at: T + 2000, want: { g: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: 60.5 / 3 } } },
    { op: 'latency', id: 'g', kind: 'json', ms: 40, at: T + 3000 },
    { op: 'load', ids: ['g'], kind: 'json', at: T + 3000, want: { g: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: 90.5 / 3 } } },
    { op: 'load', ids: ['g'], kind: 'stream', at: T + 3000, want: { g: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: 7 } } },
    // 30 s after the sample of 20 (exactly the TTL) it still counts; 1 ms later it does not.
    { op: 'load', ids: ['g'], kind: 'json', at: T + 31_000, want: { g: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: 90.5 / 3 } } },
    { op: 'load', ids: ['g'], kind: 'json', at: T + 31_001, want: { g: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: 70.5 / 2 } } },
    { op: 'load', ids: ['g'], kind: 'json', at: T + 40_000, want: { g: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: undefined } } },
    { op: 'latency', id: 'g', kind: 'json', ms: 5, at: T + 40_000 },
    { op: 'load', ids: ['g'], kind: 'json', at: T + 40_000, want: { g: { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: 5 } } },
  ];
}

async function run(state: RoutingState, step: Step, base: number): Promise<unknown> {
  const at = base + step.at;
  switch (step.op) {
    case 'admit': {
      const a = await state.admit(step.id, step.limits, step.tokens, at);
      return a.ok || a.retryAt === undefined ? a : { ...a, retryAt: a.retryAt - base };
    }
    case 'release':
      return state.release(step.id, step.tokens, at);
    case 'latency':
      return state.recordLatency(step.id, step.kind, step.ms, at);
    case 'failure':
      return state.recordFailure(step.id, at);
    case 'cooldown':
      return state.startCooldown(step.id, base + step.until, at);
    case 'cooldowns':
      return [...(await state.cooldowns(at))].map(([id, until]) => [id, until - base]);
    case 'load': {
      const loads = await state.load(step.ids, step.kind, at);
      return Object.fromEntries([...loads].map(([id, l]) => [id, { ...l, cooldownUntil: l.cooldownUntil === undefined ? undefined : l.cooldownUntil - base }]));
    }
  }
}

describe.skipIf(redisSkip !== undefined)(`Redis routing state${redisSkip === undefined ? '' : ` (skipped: ${redisSkip})`}`, () => {
  it('answers every step as the in-memory state does, and as worked out by hand', async () => {
    const options = { latencyWindow: 3, latencyTtlMs: 30_000 };
    const memory = new InMemoryRoutingState(options);
    const redis = await redisState(testPrefix(), options);
    const base = minuteStart();
    const table = steps();
    let checked = 0;
    for (const [i, step] of table.entries()) {
      const fromMemory = await run(memory, step, base);
      const fromRedis = await run(redis, step, base);
      expect(fromRedis, `step ${i}: ${JSON.stringify(step)}`).toEqual(fromMemory);
      if ('want' in step && step.want !== undefined) {
        expect(fromRedis, `step ${i} by hand: ${JSON.stringify(step)}`).toEqual(step.want);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(35);
  });

  it('two instances racing 200 admissions on an rpm of 50 admit exactly 50', async () => {
    const prefix = testPrefix();
    const states = [await redisState(prefix), await redisState(prefix)];
    const now = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => states[i % 2]!.admit('x', { rpm: 50 }, 0, now)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(50);
    const nextMinute = (Math.floor(now / 60_000) + 1) * 60_000;
    expect(outcomes.filter((o) => !o.ok).every((o) => !o.ok && o.reason === 'rpm' && o.retryAt === nextMinute)).toBe(true);
    const load = (await states[1]!.load(['x'], undefined, now)).get('x');
    expect(load).toMatchObject({ requests: 50, inFlight: 50 });
  });

  it('a cooldown started through one instance is seen by admit, load and cooldowns of another', async () => {
    const prefix = testPrefix();
    const a = await redisState(prefix);
    const b = await redisState(prefix);
    const now = Date.now();
    expect(await b.admit('y', {}, 0, now)).toEqual({ ok: true });
    await b.recordFailure('y', now);
    expect(await a.recordFailure('y', now)).toBe(2);
    expect(await a.startCooldown('y', now + 30_000, now)).toBe(true);
    expect(await b.startCooldown('y', now + 10_000, now)).toBe(false);
    expect(await b.admit('y', {}, 0, now + 1)).toEqual({ ok: false, reason: 'cooldown', retryAt: now + 30_000 });
    expect((await b.load(['y'], undefined, now + 1)).get('y')).toMatchObject({ cooldownUntil: now + 30_000, requests: 1, inFlight: 1 });
    expect(await b.cooldowns(now + 1)).toEqual(new Map([['y', now + 30_000]]));
    // The cooldown cleared the failures for both instances.
    expect(await b.recordFailure('y', now + 2)).toBe(1);
    expect(await a.cooldowns(now + 30_000)).toEqual(new Map());
  });

  it('in-flight counters expire 10 minutes after the last admit, so a crashed instance cannot hold slots forever', async () => {
    const prefix = testPrefix();
    const state = await redisState(prefix);
    const raw = clients.at(-1)!;
    const now = Date.now();
    expect(await state.admit('z', { maxParallel: 2 }, 0, now)).toEqual({ ok: true });
    const key = `${prefix}route:inflight:z`;
    expect(await raw.get(key)).toBe('1');
    const ttl = await raw.pttl(key);
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    // Minute buckets are housekeeping too: about two minutes.
    const minuteTtl = await raw.pttl(`${prefix}route:min:z:${Math.floor(now / 60_000)}`);
    expect(minuteTtl).toBeGreaterThan(110_000);
    expect(minuteTtl).toBeLessThanOrEqual(120_000);
    // A crash leaves the slot taken until the counter expires; simulate the expiry.
    expect(await state.admit('z', { maxParallel: 2 }, 0, now)).toEqual({ ok: true });
    expect(await state.admit('z', { maxParallel: 2 }, 0, now)).toMatchObject({ ok: false, reason: 'parallel' });
    await raw.pexpire(key, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await state.admit('z', { maxParallel: 2 }, 0, now)).toEqual({ ok: true });
  });
});
