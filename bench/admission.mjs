#!/usr/bin/env node
// What admission costs per request with each shared state: this process's memory, and Redis (the
// admit and settle Lua scripts, one round trip each). A virtual key with a budget, rpm/tpm and
// max_parallel_requests, as the gateway scenarios use; each request is admit + settle.
//
//   npm run build && node bench/admission.mjs          (BENCH_ADMISSION_N=20000, BENCH_ADMISSION_CONCURRENCY=50)
//
// Per state it prints µs of CPU per request (this process: policy, serialisation, the Redis
// client), wall µs per request one at a time (latency: includes Redis's own time and the round
// trip) and requests/s with N in flight. Redis: REDIS_URL or TOLLGATE_TEST_REDIS_URL (default
// 127.0.0.1:6379), under a prefix of its own that is deleted afterwards; Postgres (the counters in
// the database, as several instances without Redis use them): TOLLGATE_TEST_POSTGRES_URL, in a
// schema of its own; each skipped when unreachable.
// `npm run bench` runs it at the end (BENCH_ADMISSION=0 skips it).

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { openDatabase } from '../dist/storage/database.js';
import { Tenancy } from '../dist/policy/tenancy.js';
import { Policy } from '../dist/policy/admission.js';
import { KeyAdmin } from '../dist/policy/admin/keys.js';
import { VirtualKeyAuthenticator } from '../dist/policy/virtual-keys.js';
import { MemorySharedState } from '../dist/storage/memory/shared-state.js';
import { RedisSharedState } from '../dist/storage/redis/shared-state.js';
import { FailoverSharedState } from '../dist/storage/redis/failover.js';

const N = Number(process.env.BENCH_ADMISSION_N ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_ADMISSION_CONCURRENCY ?? 50);
const REDIS_URL = process.env.REDIS_URL ?? process.env.TOLLGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function measure(name, makeState, dbUrl = ':memory:') {
  const db = openDatabase(dbUrl, tmpdir());
  await db.migrate();
  const state = makeState(db);
  const tenancy = new Tenancy(db.tenancy, state, { refreshIntervalMs: 1e9, flushIntervalMs: 1e9 });
  await tenancy.start();
  const keys = new KeyAdmin(tenancy);
  const { plaintext } = await keys.generate({ max_budget_nano: 1e15, budget_duration: '30d', rpm_limit: 1e9, tpm_limit: 1e12, max_parallel_requests: 1e6 }, null);
  const auth = new VirtualKeyAuthenticator('sk-bench-master', tenancy);
  const policy = new Policy(tenancy, {});
  const principal = auth.authenticate({ authorization: `Bearer ${plaintext}` });
  const request = { principal, requestedModel: 'gpt-4o', estimatedInputTokens: 50, maxOutputTokens: 100, priceNano: () => 1000 };
  const record = (a) => ({ principal: a.principal, costNanoUsd: 1000, usage: { inputUncached: 50, output: 20 } });
  const once = async () => {
    const a = await policy.admit(request);
    policy.settle(a, record(a));
  };
  for (let i = 0; i < 2000; i++) await once(); // warm-up: JIT, Redis scripts loaded
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await once();
  const serialMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const t1 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < N) await once();
  }));
  const parallelMs = performance.now() - t1;
  await new Promise((r) => setTimeout(r, 50)); // settlements in flight
  await tenancy.close();
  await state.close();
  await db.close();
  return { name, cpuUs: ((cpu.user + cpu.system) / N), serialUs: (serialMs * 1000) / N, rps: N / (parallelMs / 1000) };
}

const rows = [await measure('memory', () => new MemorySharedState())];
const prefix = `tollgate-bench:${randomBytes(4).toString('hex')}:`;
const redis = new RedisSharedState({ url: REDIS_URL, prefix });
try {
  await redis.connect();
  rows.push(await measure('redis', () => new FailoverSharedState(redis, { mode: 'fail_closed' })));
  const cleaner = new RedisSharedState({ url: REDIS_URL });
  await cleaner.connect();
  const stale = await cleaner.client.keys(`${prefix}*`);
  if (stale.length > 0) await cleaner.client.del(...stale);
  await cleaner.close();
} catch (err) {
  console.log(`admission bench: Redis at ${REDIS_URL} skipped (${err instanceof Error ? err.message : String(err)})`);
  await redis.close().catch(() => undefined);
}

// Postgres without Redis: the counters in the database (a transaction per admit and per settle).
const PG_URL = process.env.TOLLGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `tg_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: PG_URL });
try {
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  rows.push(await measure('postgres', (db) => db.sharedCounters(), `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`));
} catch (err) {
  console.log(`admission bench: Postgres at ${PG_URL} skipped (${err instanceof Error ? err.message : String(err)})`);
} finally {
  await admin.query(`drop schema if exists ${schema} cascade`).catch(() => undefined);
  await admin.end().catch(() => undefined);
}

console.log(`\nAdmission (admit + settle) per request, ${N} requests, key with budget + rpm/tpm + max_parallel:`);
console.log('state    CPU µs/req   serial wall µs/req   req/s at ' + CONCURRENCY + ' in flight');
for (const r of rows) console.log(`${r.name.padEnd(8)} ${r.cpuUs.toFixed(1).padStart(10)}   ${r.serialUs.toFixed(1).padStart(18)}   ${Math.round(r.rps).toString().padStart(8)}`);
