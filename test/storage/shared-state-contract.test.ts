/**
 * The three SharedStates — memory, Postgres (`tollgate_shared_counters`) and Redis — follow one set
 * of counter rules: the same seeded random sequence of admit/add/get/set gives the same result at
 * every step on each (and the same as an independent model written here), and leaves the same
 * expiries behind. Also: an expired counter reads as 0 and restarts, amounts stay exact, and two
 * Postgres handles racing on one limit admit exactly the limit.
 */
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { CounterEntry } from '../../src/storage/counter-rules.js';
import { openDatabase } from '../../src/storage/database.js';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';
import { RedisSharedState } from '../../src/storage/redis/shared-state.js';
import type { CounterCheck, CounterIncrement, SharedState } from '../../src/storage/shared-state.js';
import { BACKENDS, createPostgresSchema } from './backends.js';
import { REDIS_URL, redisSkip, testPrefix } from './redis-gate.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres');
const pgSkip = postgres === undefined ? 'no postgres backend' : postgres.skip;
const bothSkip = pgSkip ?? redisSkip;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Trio {
  memory: MemorySharedState;
  postgres: SharedState;
  redis: RedisSharedState;
  /** Every implementation, in one order, for running the same operation on each. */
  all: [string, SharedState][];
  /** Expiry each implementation holds for a key: undefined for none, null for no counter. */
  memoryExpiry(key: string): number | undefined | null;
  postgresExpiry(key: string): Promise<number | undefined | null>;
  redisExpiry(key: string): Promise<number | undefined | null>;
}

/** Fresh state on each: a new memory map, a new migrated Postgres schema, a new Redis prefix. */
async function openTrio(): Promise<Trio> {
  const memory = new MemorySharedState();
  closers.push(() => memory.close());
  const schema = await createPostgresSchema();
  const db = openDatabase(schema.url, tmpdir());
  closers.push(async () => {
    await db.close();
    await schema.drop();
  });
  await db.migrate();
  const pgState = db.sharedCounters();
  if (pgState === undefined) throw new Error('Postgres database has no shared counters');
  closers.push(() => pgState.close());
  // A plain client to read the rows themselves: the port has no way to ask for an expiry.
  const client = new pg.Client({ connectionString: schema.url });
  await client.connect();
  closers.push(() => client.end());
  const prefix = testPrefix();
  const redis = new RedisSharedState({ url: REDIS_URL, prefix });
  closers.push(() => redis.close());
  await redis.connect();
  // The memory state has no accessor for an entry's expiry, and that expiry is what is compared.
  const entries = (memory as unknown as { entries: Map<string, CounterEntry> }).entries;
  return {
    memory,
    postgres: pgState,
    redis,
    all: [
      ['memory', memory],
      ['postgres', pgState],
      ['redis', redis],
    ],
    memoryExpiry: (key) => {
      const e = entries.get(key);
      return e === undefined ? null : e.expiresAt;
    },
    postgresExpiry: async (key) => {
      const { rows } = await client.query<{ expires_at: string | null }>('SELECT expires_at FROM tollgate_shared_counters WHERE key = $1', [key]);
      const row = rows[0];
      return row === undefined ? null : row.expires_at === null ? undefined : Number(row.expires_at);
    },
    redisExpiry: async (key) => {
      const ttl = await redis.client.pttl(prefix + key);
      return ttl === -2 ? null : ttl === -1 ? undefined : Date.now() + ttl;
    },
  };
}

/** mulberry32: a small deterministic generator, so a failing sequence can be replayed by its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op =
  | { kind: 'admit'; checks: CounterCheck[]; increments: CounterIncrement[] }
  | { kind: 'add'; increments: CounterIncrement[] }
  | { kind: 'get'; keys: string[] }
  | { kind: 'set'; entries: { key: string; value: number; expiresAt?: number | undefined }[] };

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];

/** A sequence over five keys; expiries are none, +1 h or +2 h so "longest wins, none beats any" is exercised without anything expiring mid-run. */
function sequence(seed: number, length: number, base: number): Op[] {
  const rnd = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const expiry = (): number | undefined => pick([undefined, base + 3_600_000, base + 7_200_000]);
  const increments = (lo: number, hi: number): CounterIncrement[] =>
    Array.from({ length: int(lo, hi) }, () => ({ key: pick(KEYS), amount: pick([-3, -2, -1, 1, 2, 3, 4, 5]), expiresAt: expiry() }));
  return Array.from({ length }, (): Op => {
    const r = rnd();
    if (r < 0.45) {
      const checks = Array.from({ length: int(1, 3) }, (): CounterCheck => ({
        read: Array.from({ length: int(1, 2) }, () => pick(KEYS)),
        limit: int(0, 12),
        incoming: int(0, 3),
        refuse: pick(['over', 'reached'] as const),
      }));
      return { kind: 'admit', checks, increments: increments(0, 3) };
    }
    if (r < 0.7) return { kind: 'add', increments: increments(1, 3) };
    if (r < 0.9) return { kind: 'get', keys: Array.from({ length: int(1, 4) }, () => pick(KEYS)) };
    // Distinct keys: Postgres rejects a set naming one key twice (ON CONFLICT cannot update a row twice).
    const first = int(0, KEYS.length - 1);
    const keys = int(0, 1) === 0 ? [KEYS[first]!] : [KEYS[first]!, KEYS[(first + int(1, KEYS.length - 1)) % KEYS.length]!];
    return { kind: 'set', entries: keys.map((key) => ({ key, value: int(-2, 10), expiresAt: expiry() })) };
  });
}

/** The rules as shared-state.ts documents them, written again here so the implementations are compared with something they do not share. */
class Model {
  readonly counters = new Map<string, { value: number; expiresAt: number | undefined }>();

  run(op: Op): unknown {
    switch (op.kind) {
      case 'admit': {
        const sums = op.checks.map((c) => c.read.reduce((s, k) => s + (this.counters.get(k)?.value ?? 0), 0));
        const failed = op.checks.findIndex((c, i) => (c.refuse === 'reached' ? sums[i]! >= c.limit : sums[i]! + c.incoming > c.limit));
        if (failed >= 0) return { ok: false, failed, sums };
        this.add(op.increments);
        return { ok: true, sums };
      }
      case 'add':
        return this.add(op.increments);
      case 'get':
        return op.keys.map((k) => this.counters.get(k)?.value ?? 0);
      case 'set':
        for (const e of op.entries) this.counters.set(e.key, { value: e.value, expiresAt: e.expiresAt });
        return undefined;
    }
  }

  private add(increments: readonly CounterIncrement[]): number[] {
    return increments.map((inc) => {
      const prev = this.counters.get(inc.key);
      const value = (prev?.value ?? 0) + inc.amount;
      let expiresAt = inc.expiresAt;
      if (prev !== undefined) expiresAt = prev.expiresAt === undefined || inc.expiresAt === undefined ? undefined : Math.max(prev.expiresAt, inc.expiresAt);
      this.counters.set(inc.key, { value, expiresAt });
      return value;
    });
  }
}

async function run(state: SharedState, op: Op): Promise<unknown> {
  switch (op.kind) {
    case 'admit': {
      const o = await state.admit(op.checks, op.increments);
      // Normalised: Redis reports `failed: undefined` on success, memory leaves the field out.
      return o.ok ? { ok: true, sums: o.sums } : { ok: false, failed: o.failed, sums: o.sums };
    }
    case 'add':
      return state.add(op.increments);
    case 'get':
      return state.get(op.keys);
    case 'set':
      return state.set(op.entries);
  }
}

describe.skipIf(bothSkip !== undefined)(`memory, Postgres and Redis SharedStates agree${bothSkip === undefined ? '' : ` (skipped: ${bothSkip})`}`, () => {
  it.each([1, 7, 42, 1234, 20261203])('seed %i: 80 random operations give the same result at every step and the same expiries', async (seed) => {
    const trio = await openTrio();
    const base = Date.now();
    const ops = sequence(seed, 80, base);
    const model = new Model();
    let admitted = 0;
    let refused = 0;
    for (const [step, op] of ops.entries()) {
      const expected = model.run(op);
      for (const [name, state] of trio.all) {
        // The label names the step and the implementation, so a failure points at the minimal prefix to replay.
        expect(await run(state, op), `seed ${seed} step ${step} ${name}: ${JSON.stringify(op)}`).toEqual(expected);
      }
      if (op.kind === 'admit') {
        if ((expected as { ok: boolean }).ok) admitted++;
        else refused++;
      }
    }
    // The sequence must exercise both outcomes, or the agreement says little.
    expect(admitted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    for (const key of KEYS) {
      const want = model.counters.has(key) ? model.counters.get(key)!.expiresAt : null;
      expect(trio.memoryExpiry(key), `memory expiry of ${key}`).toEqual(want);
      expect(await trio.postgresExpiry(key), `postgres expiry of ${key}`).toEqual(want);
      const redis = await trio.redisExpiry(key);
      if (want === null || want === undefined) expect(redis, `redis expiry of ${key}`).toEqual(want);
      else expect(Math.abs(redis! - want), `redis expiry of ${key}: ${redis} vs ${want}`).toBeLessThan(1000);
    }
    // The far-future expiries must actually be the ones left behind on some key, or the TTL check is vacuous.
    expect(KEYS.some((k) => typeof trio.memoryExpiry(k) === 'number')).toBe(true);
  });

  it('an expired counter reads as 0 and restarts with the new increment’s expiry', async () => {
    const trio = await openTrio();
    const soon = Date.now() + 1500;
    for (const [, state] of trio.all) {
      expect(await state.add([{ key: 'w', amount: 5, expiresAt: soon }])).toEqual([5]);
      // A counter without expiry next to it must survive the same wait.
      expect(await state.add([{ key: 'keep', amount: 2 }])).toEqual([2]);
    }
    await sleep(1700);
    const later = Date.now() + 60_000;
    for (const [name, state] of trio.all) {
      expect(await state.get(['w', 'keep']), name).toEqual([0, 2]);
      expect(await state.add([{ key: 'w', amount: 1, expiresAt: later }]), name).toEqual([1]);
      expect(await state.admit([{ read: ['w'], limit: 1, incoming: 0, refuse: 'reached' }], []), name).toMatchObject({ ok: false, failed: 0, sums: [1] });
    }
    expect(trio.memoryExpiry('w')).toBe(later);
    expect(await trio.postgresExpiry('w')).toBe(later);
    expect(Math.abs((await trio.redisExpiry('w'))! - later)).toBeLessThan(1000);
  });

  it('an expired counter also restarts inside admit: its old value is not summed and the increment starts from 0', async () => {
    const trio = await openTrio();
    const soon = Date.now() + 1500;
    for (const [, state] of trio.all) await state.set([{ key: 'rpm', value: 9, expiresAt: soon }]);
    await sleep(1700);
    const check: CounterCheck = { read: ['rpm'], limit: 10, incoming: 1, refuse: 'over' };
    for (const [name, state] of trio.all) {
      expect(await state.admit([check], [{ key: 'rpm', amount: 1 }]), name).toMatchObject({ ok: true, sums: [0] });
      expect(await state.get(['rpm']), name).toEqual([1]);
    }
    // Restarted without expiry: none is what the new increment asked for.
    expect(trio.memoryExpiry('rpm')).toBeUndefined();
    expect(await trio.postgresExpiry('rpm')).toBeUndefined();
    expect(await trio.redisExpiry('rpm')).toBeUndefined();
  });

  it('a counter an earlier increment of the same call expired restarts at the next one', async () => {
    const trio = await openTrio();
    const past = Date.now() - 1000;
    for (const [name, state] of trio.all) {
      expect(await state.add([{ key: 'p', amount: 1, expiresAt: past }, { key: 'p', amount: 1, expiresAt: past }]), name).toEqual([1, 1]);
      expect(await state.admit([], [{ key: 'q', amount: 1, expiresAt: past }, { key: 'q', amount: 1 }]), name).toMatchObject({ ok: true });
      expect(await state.get(['q']), name).toEqual([1]);
    }
  });

  it('set with the same key twice keeps the last entry', async () => {
    const trio = await openTrio();
    for (const [name, state] of trio.all) {
      await state.set([{ key: 'd', value: 1 }, { key: 'd', value: 2 }]);
      expect(await state.get(['d']), name).toEqual([2]);
    }
  });

  it('keeps nano-USD integers and binary fractions exact in add, admit sums, get and set', async () => {
    const trio = await openTrio();
    const nano = 123_456_789_012_345;
    for (const [name, state] of trio.all) {
      expect(await state.add([{ key: 'n', amount: nano }, { key: 'n', amount: nano }, { key: 'f', amount: 0.25 }]), name).toEqual([123_456_789_012_345, 246_913_578_024_690, 0.25]);
      expect(await state.admit([{ read: ['n', 'f'], limit: 1e18, incoming: nano, refuse: 'over' }], [{ key: 'f', amount: 0.25 }]), name).toMatchObject({ ok: true, sums: [2 * nano + 0.25] });
      expect(await state.get(['n', 'f']), name).toEqual([246_913_578_024_690, 0.5]);
      await state.set([{ key: 's', value: 9_007_199_254_740_991 }]);
      expect(await state.add([{ key: 's', amount: -1 }]), name).toEqual([9_007_199_254_740_990]);
    }
  });
});

describe.skipIf(pgSkip !== undefined)(`Postgres SharedState across two database handles${pgSkip === undefined ? '' : ` (skipped: ${pgSkip})`}`, () => {
  it('200 concurrent admissions on a limit of 50 over two handles admit exactly 50', async () => {
    const opened = await postgres!.open();
    closers.push(opened.cleanup);
    await opened.db.migrate();
    const states = [opened.db.sharedCounters(), opened.reopen().sharedCounters()];
    const [a, b] = states;
    if (a === undefined || b === undefined) throw new Error('Postgres database has no shared counters');
    closers.push(() => a.close(), () => b.close());
    const check: CounterCheck = { read: ['rpm:key:k@0'], limit: 50, incoming: 1, refuse: 'over' };
    const inc: CounterIncrement = { key: 'rpm:key:k@0', amount: 1, expiresAt: Date.now() + 120_000 };
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).admit([check], [inc])));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(50);
    // Admissions are serialised per counter, so every refusal saw the limit already taken.
    expect(outcomes.filter((o) => !o.ok).every((o) => o.failed === 0 && o.sums[0] === 50)).toBe(true);
    expect(await b.get(['rpm:key:k@0'])).toEqual([50]);
  });
});
