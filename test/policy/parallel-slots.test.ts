/**
 * max_parallel_requests slots are leases: a call that keeps running keeps its slot (the heartbeat
 * moves it into each new bucket), a slot whose holder died (no heartbeat, never settled) stops
 * counting within two buckets, and a settlement after any number of moves leaves every counter at
 * exactly zero; budget reservations are leases the same way. Two "instances" share one state, as
 * they share Redis.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEASE_BUCKET_MS, ParallelSlots, parallelReads } from '../../src/policy/parallel-slots.js';
import { openDatabase } from '../../src/storage/database.js';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';
import type { Database } from '../../src/storage/ports.js';
import { bearer, clock, flatPrice, settled, stack, USD, type Stack } from './harness.js';

const sum = async (state: MemorySharedState, scope: string, now: number): Promise<number> => (await state.get(parallelReads(scope, now))).reduce((a, b) => a + b, 0);

describe('parallel slots as leases', () => {
  it('a held slot keeps counting across buckets while its heartbeat runs, and settles to zero', async () => {
    const c = clock();
    const state = new MemorySharedState({ now: c.now });
    const slots = new ParallelSlots(state, c.now, (err) => {
      throw err;
    });
    const { slot, increment } = slots.take('par:key:a', 1, c.now());
    await state.add([increment]);
    slots.hold([slot]);
    for (let i = 0; i < 6; i++) {
      c.advance(LEASE_BUCKET_MS * 0.6);
      await slots.heartbeat();
      expect(await sum(state, 'key:a', c.now())).toBe(1);
    }
    await state.add(slots.release([slot]));
    expect(slots.size).toBe(0);
    // Every bucket the slot passed through is back at zero (no -1 left behind, no +1).
    const start = Math.floor((c.now() - 6 * LEASE_BUCKET_MS) / LEASE_BUCKET_MS);
    const buckets = Array.from({ length: 8 }, (_, i) => `par:key:a#${start + i}`);
    expect(await state.get(buckets)).toEqual(buckets.map(() => 0));
    slots.stop();
    await state.close();
  });

  it('a slot nobody renews stops counting within two buckets', async () => {
    const c = clock();
    const state = new MemorySharedState({ now: c.now });
    const dead = new ParallelSlots(state, c.now, () => undefined);
    const { increment } = dead.take('par:key:b', 1, c.now());
    await state.add([increment]);
    expect(await sum(state, 'key:b', c.now())).toBe(1);
    c.advance(LEASE_BUCKET_MS);
    expect(await sum(state, 'key:b', c.now())).toBe(1);
    c.advance(LEASE_BUCKET_MS);
    expect(await sum(state, 'key:b', c.now())).toBe(0);
    await state.close();
  });
});

describe('max_parallel_requests across instances when one dies holding a slot', () => {
  let db: Database;
  let a: Stack;
  let b: Stack;
  beforeEach(async () => {
    db = openDatabase(':memory:', '.');
    await db.migrate();
    const c = clock();
    const state = new MemorySharedState({ now: c.now });
    a = await stack(db, { clock: c, state });
    b = await stack(db, { clock: c, state });
  });
  afterEach(async () => {
    await a.tenancy.close();
    await b.close();
    await db.close();
  });

  const admit = (s: Stack, key: string) => s.policy.admit({ principal: s.auth.authenticate(bearer(key)), requestedModel: 'gpt-4o', estimatedInputTokens: 10, maxOutputTokens: 10, priceNano: flatPrice(0) });

  it("the other instance gets the slot back once the dead one's lease runs out, not an hour later", async () => {
    const { plaintext } = await a.keys.generate({ max_parallel_requests: 1 }, null);
    await b.tenancy.sync(true);
    // Instance a admits and then "dies": it never settles and never renews the lease.
    await admit(a, plaintext);
    await expect(admit(b, plaintext)).rejects.toMatchObject({ status: 429 });
    a.clock.advance(LEASE_BUCKET_MS);
    await expect(admit(b, plaintext)).rejects.toMatchObject({ status: 429 });
    a.clock.advance(LEASE_BUCKET_MS);
    const taken = await admit(b, plaintext);
    // And b's own slot is exact: one in flight, refused again until it settles.
    await expect(admit(b, plaintext)).rejects.toMatchObject({ status: 429 });
    b.policy.settle(taken, undefined);
    await settled();
    await admit(b, plaintext);
  });

  it("a dead instance's budget reservation stops counting within two buckets too", async () => {
    const { plaintext } = await a.keys.generate({ max_budget_nano: USD }, null);
    await b.tenancy.sync(true);
    // 20 tokens reserved at USD/20 each: one reservation is the whole budget.
    const reserveAll = (s: Stack) => s.policy.admit({ principal: s.auth.authenticate(bearer(plaintext)), requestedModel: 'gpt-4o', estimatedInputTokens: 10, maxOutputTokens: 10, priceNano: flatPrice(USD / 20) });
    await reserveAll(a); // …and instance a dies with it in flight.
    await expect(reserveAll(b)).rejects.toMatchObject({ code: 'budget_exceeded' });
    a.clock.advance(LEASE_BUCKET_MS);
    await expect(reserveAll(b)).rejects.toMatchObject({ code: 'budget_exceeded' });
    a.clock.advance(LEASE_BUCKET_MS);
    const taken = await reserveAll(b);
    b.policy.settle(taken, undefined);
    await settled();
  });
});

