#!/usr/bin/env node
// What one tenancy-cache refresh costs the event loop, on SQLite and on Postgres.
//
//   npx vite-node bench/tenancy-refresh.mjs            (both databases)
//   BENCH_DB=sqlite npx vite-node bench/tenancy-refresh.mjs
//
// Fills LiteLLM's tables with 10k keys (half with spend), 1k users, 200 teams (sizes:
// BENCH_KEYS / BENCH_USERS / BENCH_TEAMS), starts a Tenancy over them and times
// `sync(true)` (a flush with nothing to write, then the refresh) BENCH_ROUNDS times (default 7)
// after one warm-up refresh,
// in two cases: nothing changed, and 10 key rows changed by a direct UPDATE (as another tool
// would write them: no updated_at) before each refresh. Per case it prints the median and the
// worst round of: CPU ms of the process (user+system, pg's parsing included), wall ms, and the
// longest synchronous block (the most CPU used in one turn of the event loop, measured in a
// refresh of its own right after: see blockProbe).
// Postgres: TOLLGATE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test), in a
// schema of its own that is dropped afterwards.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../src/storage/database.ts';
import { MemorySharedState } from '../src/storage/memory/shared-state.ts';
import { Tenancy } from '../src/policy/tenancy.ts';
import { keyCodec, teamCodec, userCodec } from '../src/storage/sql/litellm-codecs.ts';
import { Encoder } from '../src/storage/sql/litellm-values.ts';

const KEYS = Number(process.env.BENCH_KEYS ?? 10_000);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const TEAMS = Number(process.env.BENCH_TEAMS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CHANGED = 10;
const PG_URL = process.env.TOLLGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NOW = Date.now();

const settings = { max_budget_nano: 10e9, soft_budget_nano: null, budget_duration: '30d', model_max_budget: {}, tpm_limit: 1000, rpm_limit: 100, max_parallel_requests: null };

const team = (i) => ({ ...settings, team_id: `team-${i}`, team_alias: `Team ${i}`, models: ['gpt-4o', 'claude-sonnet'], members_with_roles: [{ user_id: `user-${i}`, user_email: null, role: 'admin' }], metadata: { cost_center: i }, tags: ['bench'], blocked: false, organization_id: null, budget_reset_at: null, extra: {}, created_at: NOW, updated_at: NOW });
const user = (i) => ({ ...settings, user_id: `user-${i}`, user_alias: null, user_email: `u${i}@example.com`, user_role: 'internal_user', teams: [`team-${i % TEAMS}`], models: [], metadata: {}, organization_id: null, budget_reset_at: null, extra: {}, created_at: NOW, updated_at: NOW });
const key = (i) => ({
  ...settings,
  token: `${String(i).padStart(8, '0')}${'ab'.repeat(28)}`,
  key_name: `sk-...${String(i).padStart(4, '0').slice(-4)}`,
  key_alias: `key-${i}`,
  user_id: `user-${i % USERS}`,
  team_id: `team-${i % TEAMS}`,
  models: ['gpt-4o'],
  model_rpm_limit: {},
  model_tpm_limit: {},
  metadata: { app: `app-${i % 37}` },
  tags: ['bench'],
  blocked: false,
  expires: null,
  budget_id: null,
  organization_id: null,
  budget_reset_at: null,
  extra: {},
  created_at: NOW,
  updated_at: NOW,
  created_by: 'bench',
  updated_by: 'bench',
});

const raw = (db) => db.db;

async function fill(db, dialect) {
  const enc = new Encoder(dialect);
  const put = async (codec, records, spend) => {
    for (let i = 0; i < records.length; i += 500) {
      const rows = records.slice(i, i + 500).map((r, j) => ({ ...codec.encode(r, enc).row, spend: spend(i + j) }));
      await raw(db).insertInto(codec.table).values(rows).execute();
    }
  };
  await put(teamCodec, Array.from({ length: TEAMS }, (_, i) => team(i)), () => 0);
  await put(userCodec, Array.from({ length: USERS }, (_, i) => user(i)), () => 0);
  await put(keyCodec, Array.from({ length: KEYS }, (_, i) => key(i)), (i) => (i % 2 === 0 ? 0.25 : 0));
}

async function touch(db, dialect, round) {
  // Another tool's UPDATE: no updated_at, straight into the column.
  for (let n = 0; n < CHANGED; n++) {
    const token = key((round * 7919 + n * 997) % KEYS).token;
    const blocked = dialect === 'sqlite' ? (round + n) % 2 : (round + n) % 2 === 1;
    await sql`update "LiteLLM_VerificationToken" set blocked = ${blocked}, key_alias = ${`touched-${round}-${n}`} where token = ${token}`.execute(raw(db));
  }
}

/**
 * Longest synchronous block, as CPU: a setImmediate chain notes the process CPU used in each turn
 * of the event loop; the largest is the longest stretch the loop was busy. CPU rather than wall
 * time, so time the process spent descheduled (a loaded machine) is not counted as a block. The
 * chain keeps the loop spinning, which costs CPU of its own: blocks are measured in rounds of
 * their own, apart from the CPU and wall-time rounds.
 */
function blockProbe() {
  let last = process.cpuUsage();
  let max = 0;
  let running = true;
  const tick = () => {
    const now = process.cpuUsage();
    const used = (now.user - last.user + now.system - last.system) / 1000;
    if (used > max) max = used;
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return () => {
    running = false;
    tick();
    return max;
  };
}

async function measure(tenancy, before) {
  const out = [];
  for (let r = 0; r < ROUNDS; r++) {
    await before(2 * r);
    await new Promise((res) => setTimeout(res, 20));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await tenancy.sync(true);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await before(2 * r + 1);
    await new Promise((res) => setTimeout(res, 20));
    const stop = blockProbe();
    await tenancy.sync(true);
    const block = stop();
    out.push({ cpu: (cpu.user + cpu.system) / 1000, wall, block });
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (rounds, f) => `${median(rounds.map(f)).toFixed(1)} (max ${Math.max(...rounds.map(f)).toFixed(1)})`;

async function run(name, open) {
  const { db, cleanup } = await open();
  try {
    await db.migrate();
    const t0 = performance.now();
    await fill(db, db.dialect);
    const state = new MemorySharedState({});
    // The clock runs ahead after start, so the counters seeded at start are no longer "changed
    // lately" (a refresh re-reads those written in the last minute): the rounds see a steady state.
    let skew = 0;
    const tenancy = new Tenancy(db.tenancy, state, { refreshIntervalMs: 1e9, flushIntervalMs: 1e9, now: () => Date.now() + skew });
    const s0 = performance.now();
    await tenancy.start();
    const startMs = performance.now() - s0;
    skew = 120_000;
    // The first refresh after start looks at every entity once; the rounds measure the ones after it.
    await tenancy.sync(true);
    if (tenancy.keys.size !== KEYS) throw new Error(`expected ${KEYS} keys, cache has ${tenancy.keys.size}`);
    const unchanged = await measure(tenancy, () => Promise.resolve());
    const changed = await measure(tenancy, (r) => touch(db, db.dialect, r + 1));
    const probe = key(((2 * ROUNDS * 7919) % KEYS)).token;
    if (tenancy.keys.get(probe)?.key_alias !== `touched-${2 * ROUNDS}-0`) throw new Error('a changed row did not reach the cache');
    console.log(`${name}: ${KEYS} keys, ${USERS} users, ${TEAMS} teams (fill ${(s0 - t0).toFixed(0)} ms, start ${startMs.toFixed(0)} ms)`);
    for (const [label, rounds] of [['unchanged', unchanged], [`${CHANGED} changed`, changed]]) {
      console.log(`  ${label.padEnd(10)}  cpu ms ${fmt(rounds, (x) => x.cpu)}  wall ms ${fmt(rounds, (x) => x.wall)}  longest block (cpu) ms ${fmt(rounds, (x) => x.block)}`);
    }
    await tenancy.close();
    await state.close();
  } finally {
    await cleanup();
  }
}

const sqlite = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const db = openDatabase(join(dir, 'tollgate.db'), dir);
  return Promise.resolve({ db, cleanup: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } });
};

const postgres = async () => {
  const schema = `tg_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const db = openDatabase(`${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, tmpdir());
  return {
    db,
    cleanup: async () => {
      await db.close();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
};

const which = process.env.BENCH_DB ?? 'sqlite,postgres';
if (which.includes('sqlite')) await run('sqlite', sqlite);
if (which.includes('postgres')) await run('postgres', postgres);
