/**
 * Three policy stacks ("instances") on one Postgres and no Redis, counting in the database
 * (`tollgate_shared_counters`, one locked transaction per admission): the same exactness as one
 * instance — an rpm_limit of 60 admits exactly 60 of 300 concurrent requests, a budget is crossed
 * by at most one reservation — and a parallel limit holds across them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from '../storage/backends.js';
import { bearer, callFor, clock, flatPrice, stack, USD, type Stack } from './harness.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres');
const skip = postgres?.skip;

describe.skipIf(postgres === undefined || skip !== undefined)(`three instances on Postgres without Redis${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  let cleanup: () => Promise<void>;
  let stacks: Stack[] = [];
  const dbs: Database[] = [];
  const c = clock(Date.now());

  beforeEach(async () => {
    const opened = await postgres!.open();
    cleanup = opened.cleanup;
    await opened.db.migrate();
    dbs.push(opened.db, opened.reopen(), opened.reopen());
    stacks = [];
    for (const db of dbs) stacks.push(await stack(db, { clock: c, state: db.sharedCounters() }));
  });
  afterEach(async () => {
    for (const s of stacks) await s.close();
    for (const db of dbs.splice(1)) await db.close().catch(() => undefined);
    dbs.splice(0);
    await cleanup();
  });

  const admit = (s: Stack, key: string, price = flatPrice(0)) =>
    s.policy.admit({ principal: s.auth.authenticate(bearer(key)), requestedModel: 'gpt-4o', estimatedInputTokens: 50, maxOutputTokens: 50, priceNano: price });

  it('counts in the database: SQLite has no such state', async () => {
    const sqlite = BACKENDS.find((b) => b.name === 'sqlite-memory')!;
    const { db, cleanup: drop } = await sqlite.open();
    expect(db.sharedCounters()).toBeUndefined();
    await drop();
    expect(stacks[0]!.state.shared).toBe(true);
  });

  it('an rpm_limit of 60 admits exactly 60 of 300 concurrent requests spread over three instances', async () => {
    const { plaintext } = await stacks[0]!.keys.generate({ rpm_limit: 60 }, null);
    for (const s of stacks.slice(1)) await s.tenancy.sync(true);
    const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => admit(stacks[i % 3]!, plaintext)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(60);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.every((r) => (r.reason as { status?: number }).status === 429)).toBe(true);
  });

  it('max_parallel_requests 5 holds across the three while calls are in flight', async () => {
    const { plaintext } = await stacks[1]!.keys.generate({ max_parallel_requests: 5 }, null);
    for (const s of [stacks[0]!, stacks[2]!]) await s.tenancy.sync(true);
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => admit(stacks[i % 3]!, plaintext)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  });

  it('a max_budget key under concurrent load over three instances overshoots by at most one reservation', async () => {
    const callNano = USD / 100;
    const budgetNano = Math.round(10.5 * callNano);
    const price = flatPrice(callNano);
    const { plaintext, record } = await stacks[0]!.keys.generate({ max_budget_nano: budgetNano }, null);
    for (const s of stacks.slice(1)) await s.tenancy.sync(true);
    let admitted = 0;
    for (let wave = 0; wave < 10; wave++) {
      const results = await Promise.allSettled(Array.from({ length: 9 }, (_, i) => admit(stacks[i % 3]!, plaintext, price)));
      for (const [i, r] of results.entries()) {
        if (r.status !== 'fulfilled') continue;
        admitted += 1;
        stacks[i % 3]!.policy.settle(r.value, callFor(r.value, callNano));
      }
      // Settlement is a transaction of its own: wait until this wave's spend has landed.
      const expected = admitted * callNano;
      await expect.poll(() => stacks[1]!.tenancy.spendOf('key', record.token, null)).toBe(expected);
    }
    const spent = await stacks[2]!.tenancy.spendOf('key', record.token, null);
    expect(spent).toBe(admitted * callNano);
    expect(admitted).toBeGreaterThanOrEqual(10);
    expect(spent - budgetNano).toBeLessThanOrEqual(callNano);
  });
});
