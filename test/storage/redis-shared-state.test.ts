/**
 * The Redis SharedState against a real Redis: admission is atomic across clients (several
 * "instances" racing on one limit admit exactly the limit), the budget and rate rules match the
 * in-memory state's, expiries are kept, and an outage is handled as `redis_failure_mode` says.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';
import { FailoverSharedState } from '../../src/storage/redis/failover.js';
import { RedisSharedState } from '../../src/storage/redis/shared-state.js';
import type { CounterCheck, CounterIncrement, SharedState } from '../../src/storage/shared-state.js';
import { REDIS_URL, redisSkip, testPrefix } from './redis-gate.js';

const open: SharedState[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function redisState(prefix: string): Promise<RedisSharedState> {
  const state = new RedisSharedState({ url: REDIS_URL, prefix });
  open.push(state);
  await state.connect();
  return state;
}

const rpm = (limit: number): { checks: CounterCheck[]; increments: CounterIncrement[] } => ({
  checks: [{ read: ['rpm:key:k@0'], limit, incoming: 1, refuse: 'over' }],
  increments: [{ key: 'rpm:key:k@0', amount: 1, expiresAt: Date.now() + 120_000 }],
});

describe.skipIf(redisSkip !== undefined)(`Redis shared state${redisSkip === undefined ? '' : ` (skipped: ${redisSkip})`}`, () => {
  it('three clients racing 300 admissions on an rpm of 60 admit exactly 60', async () => {
    const prefix = testPrefix();
    const states = [await redisState(prefix), await redisState(prefix), await redisState(prefix)];
    const { checks, increments } = rpm(60);
    const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => states[i % 3]!.admit(checks, increments)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(60);
    expect(outcomes.filter((o) => !o.ok).every((o) => o.failed === 0 && o.sums[0] === 60)).toBe(true);
    expect(await states[0]!.get(['rpm:key:k@0'])).toEqual([60]);
  });

  it('follows the same rules as the in-memory state for budgets, sums and several checks', async () => {
    const redis = await redisState(testPrefix());
    const memory = new MemorySharedState();
    open.push(memory);
    // A budget of 1 USD: settled 0.6 + reserved 0.3 < 1 admits; once settled + reserved reach it, refuses.
    const budget: CounterCheck = { read: ['spend:key:a@0', 'resv:key:a@0'], limit: 1e9, incoming: 3e8, refuse: 'reached' };
    const reserve: CounterIncrement = { key: 'resv:key:a@0', amount: 3e8 };
    for (const s of [redis, memory]) {
      await s.set([{ key: 'spend:key:a@0', value: 6e8 }]);
      const first = await s.admit([budget], [reserve]);
      const second = await s.admit([budget], [reserve]);
      const third = await s.admit([budget], [reserve]);
      expect([first.ok, second.ok, third.ok]).toEqual([true, true, false]);
      expect(third.sums).toEqual([6e8 + 6e8]);
      // A second check refusing leaves the first check's counters untouched.
      const mixed = await s.admit(
        [{ read: ['tpm:x@0'], limit: 100, incoming: 10, refuse: 'reached' }, { read: ['par:x'], limit: 0, incoming: 1, refuse: 'over' }],
        [{ key: 'tpm:x@0', amount: 10 }, { key: 'par:x', amount: 1 }],
      );
      expect(mixed).toMatchObject({ ok: false, failed: 1 });
      expect(await s.get(['tpm:x@0', 'par:x', 'absent'])).toEqual([0, 0, 0]);
      expect(await s.add([{ key: 'resv:key:a@0', amount: -3e8 }, { key: 'spend:key:a@0', amount: 123_456_789 }])).toEqual([3e8, 6e8 + 123_456_789]);
    }
  });

  it('keeps nano-USD integers exact and fractional amounts as written', async () => {
    const redis = await redisState(testPrefix());
    const big = 9_007_199_254_740_000;
    expect(await redis.add([{ key: 'n', amount: big }, { key: 'n', amount: 991 }, { key: 'f', amount: 0.25 }])).toEqual([big, big + 991, 0.25]);
  });

  it('sets expiries: the later of two wins, none beats any', async () => {
    const prefix = testPrefix();
    const redis = await redisState(prefix);
    const soon = Date.now() + 5_000;
    const later = Date.now() + 50_000;
    await redis.add([{ key: 'a', amount: 1, expiresAt: soon }]);
    await redis.add([{ key: 'a', amount: 1, expiresAt: later }]);
    await redis.add([{ key: 'a', amount: 1, expiresAt: soon }]);
    const ttl = await redis.client.pttl(`${prefix}a`);
    expect(ttl).toBeGreaterThan(40_000);
    await redis.add([{ key: 'a', amount: 1 }]);
    expect(await redis.client.pttl(`${prefix}a`)).toBe(-1);
    await redis.set([{ key: 'b', value: 7, expiresAt: Date.now() + 30 }]);
    await new Promise((r) => setTimeout(r, 80));
    expect(await redis.get(['b'])).toEqual([0]);
  });

  it('keeps deployments apart by prefix', async () => {
    const one = await redisState(testPrefix());
    const two = await redisState(testPrefix());
    await one.add([{ key: 'same', amount: 5 }]);
    expect(await two.get(['same'])).toEqual([0]);
  });

  it('fail_closed refuses with a 503 without hanging while Redis is unreachable; fail_open counts locally', async () => {
    const logs: string[] = [];
    const unreachable = new RedisSharedState({ url: 'redis://127.0.0.1:1', prefix: testPrefix(), commandTimeoutMs: 200 });
    const closed = new FailoverSharedState(unreachable, { mode: 'fail_closed', log: (m) => logs.push(m) });
    open.push(closed);
    await unreachable.connect().catch(() => undefined);
    const { checks, increments } = rpm(1);
    const started = Date.now();
    const refused = await closed.admit(checks, increments).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).status).toBe(503);
    expect(closed.up).toBe(false);
    expect(logs.join('\n')).toMatch(/fail_closed/);
    // Operations with nothing to send (empty adds and reads) answer without Redis: not a recovery.
    expect(await closed.add([])).toEqual([]);
    expect(await closed.get([])).toEqual([]);
    expect(closed.up).toBe(false);
    expect(logs.join('\n')).not.toMatch(/reachable again/);

    const down = new RedisSharedState({ url: 'redis://127.0.0.1:1', prefix: testPrefix(), commandTimeoutMs: 200 });
    const failOpen = new FailoverSharedState(down, { mode: 'fail_open' });
    open.push(failOpen);
    await down.connect().catch(() => undefined);
    expect((await failOpen.admit(checks, increments)).ok).toBe(true);
    expect((await failOpen.admit(checks, increments)).ok).toBe(false);
  });

  it('recovers by itself: a failover state over a working Redis answers again once the client has reconnected', async () => {
    const logs: string[] = [];
    const redis = new RedisSharedState({ url: REDIS_URL, prefix: testPrefix() });
    const state = new FailoverSharedState(redis, { mode: 'fail_closed', log: (m) => logs.push(m) });
    open.push(state);
    await redis.connect();
    redis.client.disconnect(true);
    await state.get(['x']).catch(() => undefined);
    let value: number[] | undefined;
    for (let i = 0; i < 60 && value === undefined; i++) {
      value = await state.get(['x']).catch(() => undefined);
      if (value === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(value).toEqual([0]);
    expect(state.up).toBe(true);
  });
});
