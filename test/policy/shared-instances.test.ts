/**
 * Three policy stacks ("instances") on one Postgres, counting together — through one real Redis,
 * or without Redis in the database itself (`tollgate_shared_counters`): the key limits and budgets
 * that in-process counters enforce per instance (limit × instances) hold exactly across all three.
 * In-process admission through the real Tenancy and Policy; the server and process tests in
 * test/e2e/ build on this.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/ports.js';
import { RedisSharedState } from '../../src/storage/redis/shared-state.js';
import type { SharedState } from '../../src/storage/shared-state.js';
import { BACKENDS } from '../storage/backends.js';
import { REDIS_URL, redisSkip, testPrefix } from '../storage/redis-gate.js';
import { bearer, callFor, clock, flatPrice, stack, USD, type Stack } from './harness.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres');

interface Sharing {
  name: string;
  skip: string | undefined;
  /** The shared state of one instance; `prefix` is the same for all three. */
  open(db: Database, prefix: string): Promise<SharedState>;
}

const SHARINGS: Sharing[] = [
  {
    name: 'Redis',
    skip: postgres?.skip ?? redisSkip,
    async open(_db, prefix) {
      const state = new RedisSharedState({ url: REDIS_URL, prefix });
      await state.connect();
      return state;
    },
  },
  {
    name: 'Postgres without Redis',
    skip: postgres?.skip,
    open: (db) => {
      const state = db.sharedCounters();
      if (state === undefined) throw new Error('Postgres has shared counters');
      return Promise.resolve(state);
    },
  },
];

describe.each(SHARINGS)('three instances on Postgres, counting through $name', (sharing) => {
  const skip = postgres === undefined ? 'no postgres backend' : sharing.skip;
  let cleanup: () => Promise<void>;
  let stacks: Stack[] = [];
  const dbs: Database[] = [];
  // Redis expires counters on its own clock, so the instances run on real time.
  const c = clock(Date.now());

  beforeEach(async () => {
    if (skip !== undefined) return;
    const opened = await postgres!.open();
    cleanup = opened.cleanup;
    await opened.db.migrate();
    dbs.push(opened.db, opened.reopen(), opened.reopen());
    const prefix = testPrefix();
    stacks = [];
    for (const db of dbs) stacks.push(await stack(db, { clock: c, state: await sharing.open(db, prefix) }));
  });
  afterEach(async () => {
    if (skip !== undefined) return;
    for (const s of stacks) await s.close();
    for (const db of dbs.splice(1)) await db.close().catch(() => undefined);
    dbs.splice(0);
    await cleanup();
  });

  const admit = (s: Stack, key: string, price = flatPrice(0)) =>
    s.policy.admit({ principal: s.auth.authenticate(bearer(key)), requestedModel: 'gpt-4o', estimatedInputTokens: 50, maxOutputTokens: 50, priceNano: price });

  it.skipIf(skip !== undefined)(`an rpm_limit of 60 admits exactly 60 of 300 concurrent requests spread over three instances${skip === undefined ? '' : ` (skipped: ${skip})`}`, async () => {
    const { plaintext } = await stacks[0]!.keys.generate({ rpm_limit: 60 }, null);
    for (const s of stacks.slice(1)) await s.tenancy.sync(true);
    const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => admit(stacks[i % 3]!, plaintext)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(60);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.every((r) => (r.reason as { status?: number }).status === 429)).toBe(true);
  });

  it.skipIf(skip !== undefined)('max_parallel_requests 5 holds across the three while calls are in flight', async () => {
    const { plaintext } = await stacks[1]!.keys.generate({ max_parallel_requests: 5 }, null);
    for (const s of [stacks[0]!, stacks[2]!]) await s.tenancy.sync(true);
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => admit(stacks[i % 3]!, plaintext)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  });

  it.skipIf(skip !== undefined)('a max_budget key under concurrent load over three instances overshoots by at most one reservation', async () => {
    // Priced flat: a call's reservation and its settled cost are both callNano.
    const callNano = USD / 100;
    const budgetNano = Math.round(10.5 * callNano);
    const price = flatPrice(callNano);
    const { plaintext, record } = await stacks[0]!.keys.generate({ max_budget_nano: budgetNano }, null);
    for (const s of stacks.slice(1)) await s.tenancy.sync(true);
    let admitted = 0;
    // Waves of concurrent calls; each admitted call settles at its full reserved price.
    for (let wave = 0; wave < 10; wave++) {
      const results = await Promise.allSettled(Array.from({ length: 9 }, (_, i) => admit(stacks[i % 3]!, plaintext, price)));
      for (const [i, r] of results.entries()) {
        if (r.status !== 'fulfilled') continue;
        admitted += 1;
        stacks[i % 3]!.policy.settle(r.value, callFor(r.value, callNano));
      }
      // Settlement is asynchronous (a round trip of its own): wait until this wave's spend has landed.
      const expected = admitted * callNano;
      await expect.poll(() => stacks[1]!.tenancy.spendOf('key', record.token, null)).toBe(expected);
    }
    const spent = await stacks[2]!.tenancy.spendOf('key', record.token, null);
    expect(spent).toBe(admitted * callNano);
    // LiteLLM's rule: refuse once spend reaches the budget; the last admitted call may cross it.
    expect(admitted).toBeGreaterThanOrEqual(10);
    expect(spent - budgetNano).toBeLessThanOrEqual(callNano);
  });
});

describe('shared counters in the database', () => {
  it('exist on Postgres only: SQLite has none', async () => {
    const sqlite = BACKENDS.find((b) => b.name === 'sqlite-memory')!;
    const { db, cleanup } = await sqlite.open();
    expect(db.sharedCounters()).toBeUndefined();
    await cleanup();
  });
});
