#!/usr/bin/env node
// The spend log's cost on the event loop, without HTTP: CPU µs per row for the writer's flush
// (the append) and for folding into LiteLLM's tables, and the longest synchronous block, on a
// SQLite file that already holds 0 and 200k calls (or Postgres, with SPEND_BENCH_DB=postgres://…).
//
//   npm run build && node bench/spend-writer.mjs
//   SPEND_BENCH_DIST=/tmp/other/dist node bench/spend-writer.mjs     # another build (before/after)
//   SPEND_BENCH_PREFILL=0,200000 SPEND_BENCH_ROWS=5000 SPEND_BENCH_BATCH=500 SPEND_BENCH_KEYS=1 (20: many daily rows)
//
// Parts: convert (spendLogRow, CallRecord -> row), append (the flush into the ingest table), fold
// (into LiteLLM's tables), each as CPU µs per row from process.cpuUsage; then the writer end to end
// (record() .. close()), with what record() itself costs the request path.
//
// "longest block" is the largest gap seen by a 0 ms timer that runs during the phase: the longest
// stretch the event loop could not serve a request (it includes the timer's own ~1 ms granularity,
// so read 1.2 ms as "at most ~1 ms").

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(resolve(process.env.SPEND_BENCH_DIST ?? new URL('../dist', import.meta.url).pathname) + '/').href;
const { openDatabase } = await import(`${dist}storage/database.js`);
const { SpendWriter, spendLogRow } = await import(`${dist}accounting/spend-writer.js`);

const PREFILL = (process.env.SPEND_BENCH_PREFILL ?? '0,200000').split(',').map(Number);
const ROWS = Number(process.env.SPEND_BENCH_ROWS ?? 5000);
const BATCH = Number(process.env.SPEND_BENCH_BATCH ?? 500);
const DB_URL = process.env.SPEND_BENCH_DB;

// Distinct keys (and users, teams: KEYS/2, KEYS/4) in the calls: 1 is the HTTP bench's one virtual key; 20 spreads the daily sums.
const KEY_COUNT = Number(process.env.SPEND_BENCH_KEYS ?? 1);
const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => createHash('sha256').update(`sk-bench-${i}`).digest('hex'));
const MODELS = [
  { group: 'gpt-4o-mini', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', surface: 'openai-chat', route: '/v1/chat/completions' },
  { group: 'claude-sonnet', provider: 'anthropic', model: 'claude-sonnet-4-5', surface: 'anthropic-messages', route: '/v1/messages' },
  { group: 'claude-haiku', provider: 'bedrock', model: 'anthropic.claude-haiku-4-5', surface: 'anthropic-messages', route: '/v1/messages' },
];
let seq = 0;

/** A call as the pipeline records it: 20 keys, 10 users, 5 teams, 3 models, tags on a third of them. */
function call(now) {
  seq += 1;
  const m = MODELS[seq % Math.min(MODELS.length, KEY_COUNT > 1 ? 3 : 2)];
  const startedAt = now - 900;
  return {
    requestId: `bench-${process.pid}-${seq}`,
    callId: `call-${process.pid}-${now.toString(36)}-${seq}`,
    responseId: seq % 2 === 0 ? `chatcmpl-${process.pid}-${seq}` : undefined,
    surface: m.surface,
    route: m.route,
    stream: seq % 2 === 0,
    startedAt,
    endedAt: now,
    durationMs: 900,
    timeToFirstTokenMs: 120,
    upstreamMs: 880,
    principal: { isMaster: false, keyHash: KEYS[seq % KEYS.length], keyAlias: `key-${seq % KEYS.length}`, userId: `user-${seq % Math.ceil(KEY_COUNT / 2)}`, teamId: `team-${seq % Math.ceil(KEY_COUNT / 4)}`, endUser: KEY_COUNT > 1 && seq % 4 === 0 ? `cust-${seq % 7}` : undefined },
    requestedModel: m.group,
    modelGroup: m.group,
    deployment: { id: `dep-${m.group}`, modelGroup: m.group, provider: m.provider, model: m.model, apiBase: 'http://127.0.0.1:9999/v1' },
    attempts: [{ deploymentId: `dep-${m.group}`, startedAt, durationMs: 880, outcome: 'success', status: 200 }],
    retries: 0,
    fallbacks: 0,
    outcome: 'success',
    httpStatus: 200,
    clientDisconnected: false,
    usage: { inputUncached: 1200, cacheRead: 800, cacheWrite5m: 0, output: 240 },
    upstreamModel: m.model,
    costNanoUsd: 1_234_567,
    userAgent: 'bench/1.0',
    metadata: KEY_COUNT > 1 && seq % 3 === 0 ? { tags: ['job:bench', `shard:${seq % 4}`] } : undefined,
    passthrough: m.provider === 'anthropic',
  };
}

const quiet = { warn: () => undefined, error: (obj, msg) => console.error(msg, obj) };

/** Longest gap between runs of a 0 ms timer while `fn` runs. */
async function watched(fn) {
  let last = performance.now();
  let longest = 0;
  let running = true;
  let timer;
  const tick = () => {
    const t = performance.now();
    longest = Math.max(longest, t - last);
    last = t;
    if (running) timer = setTimeout(tick, 0);
  };
  timer = setTimeout(tick, 0);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await fn();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  running = false;
  clearTimeout(timer);
  tick();
  return { cpuUs: cpu.user + cpu.system, wallMs: wall, longestMs: Math.max(longest, performance.now() - last) };
}

async function open() {
  if (DB_URL !== undefined) {
    const db = openDatabase(DB_URL, tmpdir());
    await db.migrate();
    return { db, cleanup: () => db.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-spend-bench-'));
  const db = openDatabase(join(dir, 'tollgate.db'), dir);
  await db.migrate();
  return {
    db,
    cleanup: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fold whatever is pending (a store without folding has nothing pending). */
const drain = (store) => (typeof store.drain === 'function' ? store.drain() : Promise.resolve());

async function prefill(db, count) {
  const writer = new SpendWriter(db.spendLogs, { flushIntervalMs: 3_600_000, maxBatchRows: 1_000_000, logger: quiet });
  const started = performance.now();
  for (let done = 0; done < count; done += 5000) {
    for (let i = 0; i < Math.min(5000, count - done); i++) writer.record(call(Date.now()));
    await writer.flush();
    await drain(db.spendLogs);
  }
  await writer.close();
  return performance.now() - started;
}

const fmt = (n, d = 1) => n.toFixed(d);

// How busy the machine is: a fixed loop (~100 ms on an idle core of a recent x86). Read the figures below relative to it.
{
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i % 7;
  console.log(`calibration: 1e8-iteration loop ${fmt(performance.now() - t, 0)} ms (${x > 0 ? 'ok' : ''}); load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

// Warm the JIT on a throwaway database first: the first thousands of rows run unoptimised code.
{
  const { db, cleanup } = await open();
  try {
    await prefill(db, Number(process.env.SPEND_BENCH_WARMUP ?? 20000));
  } finally {
    await cleanup();
  }
}

/** CPU µs of `fn` (synchronous), and its wall ms. */
function cpuOf(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = fn();
  const c = process.cpuUsage(c0);
  return { out, cpuUs: c.user + c.system, wallMs: performance.now() - t0 };
}

for (const rows of PREFILL) {
  const { db, cleanup } = await open();
  try {
    const fillMs = await prefill(db, rows);
    const store = db.spendLogs;
    // 1. convert: spendLogRow alone (CallRecord -> row), a synchronous loop.
    const calls = Array.from({ length: ROWS }, () => call(Date.now()));
    const conv = cpuOf(() => calls.map((c) => spendLogRow(c)));
    const converted = conv.out;
    // 2. append: the writer's batches handed to the store as its flush does (the append alone, or,
    //    for a store without an ingest table, the whole write).
    const append = { cpuUs: 0, wallMs: 0, longestMs: 0 };
    for (let b = 0; b < ROWS; b += BATCH) {
      const rowsOfBatch = converted.slice(b, b + BATCH);
      const r = await watched(() => (typeof store.append === 'function' ? store.append(rowsOfBatch) : store.insertMany(rowsOfBatch)));
      append.cpuUs += r.cpuUs;
      append.wallMs += r.wallMs;
      append.longestMs = Math.max(append.longestMs, r.longestMs);
    }
    // 3. fold: into LiteLLM's tables and the daily tables.
    // Older builds have only a getter: their figure then spans the prefill too.
    try {
      if (store.longestFoldSliceMs !== undefined) store.longestFoldSliceMs = 0;
    } catch {}
    const fold = await watched(() => drain(store));
    const slice = store.longestFoldSliceMs;
    // 4. the writer end to end, as the gateway runs it: record() on the "request path" (timed on
    //    its own: what a request pays), then its own flushes and folds.
    const writer = new SpendWriter(store, { flushIntervalMs: 3_600_000, maxBatchRows: BATCH, logger: quiet });
    const more = Array.from({ length: ROWS }, () => call(Date.now()));
    let recordUs = 0;
    const whole = await watched(async () => {
      for (let b = 0; b < ROWS; b += BATCH) {
        recordUs += cpuOf(() => {
          for (let i = b; i < Math.min(ROWS, b + BATCH); i++) writer.record(more[i]);
        }).cpuUs;
        // Let the writer's own flush (started at maxBatchRows) and fold run, as between requests.
        await new Promise((r) => setImmediate(r));
      }
      await writer.close();
    });
    const check = await store.report({ by: [] });
    const label = DB_URL === undefined ? 'sqlite' : 'postgres';
    const per = (us) => fmt(us / ROWS);
    console.log(
      `${label} prefill=${rows} (filled in ${fmt(fillMs / 1000)} s), ${ROWS} calls in batches of ${BATCH}, ${KEY_COUNT} key(s); ${check[0]?.requests ?? 0} calls stored\n` +
        `  convert (spendLogRow):           ${per(conv.cpuUs)} µs/row CPU\n` +
        `  append  (flush):                 ${per(append.cpuUs)} µs/row CPU, longest block ${fmt(append.longestMs)} ms, wall ${fmt(append.wallMs)} ms\n` +
        `  fold    (LiteLLM tables, daily): ${per(fold.cpuUs)} µs/row CPU, longest block ${fmt(fold.longestMs)} ms, wall ${fmt(fold.wallMs)} ms` +
        (slice === undefined ? '\n' : `, longest slice ${fmt(slice, 2)} ms\n`) +
        `  sum     (convert+append+fold):   ${per(conv.cpuUs + append.cpuUs + fold.cpuUs)} µs/row CPU\n` +
        `  writer  (record..close):         ${per(whole.cpuUs)} µs/row CPU, of which record() ${per(recordUs)} µs/row; longest block ${fmt(whole.longestMs)} ms`,
    );
  } finally {
    await cleanup();
  }
}
