#!/usr/bin/env node
/**
 * Micro-benchmark of the Prometheus recorder alone (issue 10: "< 3 µs and ~0 allocation per request
 * for all metrics"). It feeds realistic CallRecords to `createMetrics()` of a built tree and reports
 * µs of CPU and bytes allocated per request, then the /metrics render time with many series.
 *
 *   npx tsc -p tsconfig.build.json && node bench/metrics-observe.mjs
 *   node bench/metrics-observe.mjs --root /tmp/old/dist   # another build (before/after)
 *   node bench/metrics-observe.mjs --sites                # where the bytes are allocated
 *
 * Per request it does what the gateway does: `inFlight.inc()`, `setKeyModelRemaining`, `observe`
 * of the finished record, one `setBudget` for the key, `inFlight.dec()`. Records rotate over 8 keys
 * × 2 deployments × stream or not (32 label combinations, as a small team's traffic): after warm-up
 * every combination has been seen, which is the steady state of a gateway.
 *
 * Allocation: heap growth over batches with no collection inside them (see `allocated`); it counts
 * the argument objects this script builds for the setters, as the gateway's callers do (`--sites`
 * tells them apart). CPU µs is the figure to read on a busy machine (wall includes waiting for a core).
 */
import { spawnSync } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
if (args.includes('--help')) {
  console.log('node bench/metrics-observe.mjs [--root dist] [--n 200000] [--series 1000] [--sites]');
  process.exit(0);
}
// A fixed 128 MB young generation (so a measured batch sees no scavenge) and gc() between batches.
if (typeof globalThis.gc !== 'function') {
  const flags = ['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128'];
  const child = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const root = resolve(arg('--root', 'dist'));
const N = Number(arg('--n', '200000'));
const SERIES = Number(arg('--series', '1000'));

const { createMetrics } = await import(pathToFileURL(`${root}/observability/metrics/index.js`).href);

const SONNET = { id: 'dep-sonnet-1', modelGroup: 'claude-sonnet', provider: 'anthropic', model: 'claude-sonnet-4-5', apiBase: 'https://api.anthropic.com' };
const GPT = { id: 'dep-gpt-1', modelGroup: 'gpt-4o', provider: 'openai', model: 'gpt-4o', apiBase: 'https://api.openai.com/v1' };

/** A record shaped as the gateway builds one: a virtual key, one attempt, tokens and cost. */
function record(i, keys) {
  const key = i % keys;
  const deployment = (i >> 3) % 2 === 0 ? SONNET : GPT;
  const stream = (i >> 4) % 2 === 0;
  return {
    requestId: `req-${i}`,
    callId: `call-${i}`,
    surface: deployment === SONNET ? 'anthropic-messages' : 'openai-chat',
    route: deployment === SONNET ? '/v1/messages' : '/v1/chat/completions',
    stream,
    startedAt: 1_700_000_000_000 + i,
    endedAt: 1_700_000_000_800 + i,
    durationMs: 800 + (i % 97),
    upstreamMs: 760 + (i % 89),
    timeToFirstTokenMs: stream ? 120 + (i % 31) : undefined,
    // Fresh strings per record, as parsing a request produces them (not interned literals).
    principal: { keyHash: `hash-${String(key).padStart(4, '0')}`, keyAlias: `key-${key}`, userId: `user-${key % 3}`, teamId: `team-${key % 2}`, isMaster: false },
    requestedModel: `${deployment.modelGroup}`,
    modelGroup: deployment.modelGroup,
    deployment,
    attempts: [{ deploymentId: deployment.id, startedAt: 1_700_000_000_010 + i, durationMs: 760, outcome: 'success', status: 200 }],
    retries: 0,
    fallbacks: 0,
    outcome: 'success',
    httpStatus: 200,
    clientDisconnected: false,
    usage: { inputUncached: 1200 + (i % 50), cacheRead: i % 2 === 0 ? 1024 : undefined, output: 180 + (i % 40) },
    upstreamModel: deployment.model,
    costNanoUsd: 4_500_000 + (i % 1000),
    userAgent: `${'claude-cli/2.1.0'}`,
    passthrough: true,
  };
}

function request(metrics, call, i) {
  metrics.inFlight.inc();
  metrics.setKeyModelRemaining({ keyHash: call.principal.keyHash, keyAlias: call.principal.keyAlias }, call.modelGroup, undefined, { requests: 1000 - (i % 1000), tokens: 1e6 - (i % 1000) });
  metrics.observe(call);
  metrics.setBudget({ kind: 'api_key', keyHash: call.principal.keyHash, keyAlias: call.principal.keyAlias }, { spendUsd: i / 1e4, maxBudgetUsd: 1e6, resetAt: 1_700_100_000_000 }, 1_700_000_000_000);
  metrics.inFlight.dec();
}

/**
 * Where the allocation happens (with --sites): V8's sampling heap profiler, collected objects
 * included, split into the recorder's own (files under `root`) and this script's (the argument
 * objects the gateway's callers build too). Statistical; the headline figure is the heap delta.
 */
async function sites(metrics, records, fn, calls) {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  for (let i = 0; i < calls; i++) fn(metrics, records[i % records.length], i);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  const bySite = new Map();
  const walk = (node) => {
    const { url, functionName, lineNumber } = node.callFrame;
    const site = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`    ${(bytes / calls).toFixed(1).padStart(9)} B/call  ${site}`);
}

/**
 * Bytes allocated per call: heap growth over a batch of calls with a young generation large enough
 * (the flags this script re-runs itself with: 1000 calls of the old recorder were 36 MB) that no
 * collection runs inside the batch; the smallest of three, since one-off JIT work (feedback,
 * recompiled code) lands in one batch and is not the per-call cost.
 */
function allocated(metrics, records, fn) {
  const batch = 1000;
  let least = Infinity;
  for (let round = 0; round < 3; round++) {
    globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < batch; i++) fn(metrics, records[(round * batch + i) % records.length], i);
    const after = process.memoryUsage().heapUsed;
    least = Math.min(least, (after - before) / batch);
  }
  return least;
}

/** µs per request (wall and CPU) over N requests, then bytes allocated per request. */
async function measure(label, metrics, records, fn) {
  for (let i = 0; i < 20_000; i++) fn(metrics, records[i % records.length], i); // warm-up: JIT and every combination
  globalThis.gc();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn(metrics, records[i % records.length], i);
  const cpu = process.cpuUsage(c0);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const bytes = allocated(metrics, records, fn);
  console.log(`${label.padEnd(32)} ${(wallUs / N).toFixed(2).padStart(7)} µs wall ${((cpu.user + cpu.system) / N).toFixed(2).padStart(7)} µs CPU ${bytes.toFixed(0).padStart(7)} B allocated per call`);
  if (args.includes('--sites')) await sites(metrics, records, fn, 20_000);
}

// The records exist before timing starts: building them is the gateway's cost, not the recorder's.
const records = Array.from({ length: 4096 }, (_, i) => record(i, 8));
console.log(`recorder from ${root}`);
await measure('observe(record) only', createMetrics(), records, (m, call) => m.observe(call));
await measure('per request (all metric calls)', createMetrics(), records, request);

// Render: SERIES label combinations (SERIES / 4 keys × 2 deployments × stream or not), so each
// per-call family holds about SERIES series.
const big = createMetrics();
const keys = Math.max(1, Math.round(SERIES / 4));
for (let key = 0; key < keys; key++) {
  for (const variant of [0, 8, 16, 24]) big.observe(record(key * 32 + variant, keys * 32));
}
const text = await big.render();
const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
const combos = text.split('\n').filter((l) => l.startsWith('litellm_proxy_total_requests_metric_total{')).length;
let renders = 0;
const r0 = process.hrtime.bigint();
const rc0 = process.cpuUsage();
while (renders < 5 || Number(process.hrtime.bigint() - r0) < 2e9) {
  await big.render();
  renders++;
}
const renderMs = Number(process.hrtime.bigint() - r0) / 1e6 / renders;
const renderCpu = process.cpuUsage(rc0);
const renderCpuMs = (renderCpu.user + renderCpu.system) / 1000 / renders;
console.log(`render: ${combos} label combinations (litellm_proxy_total_requests_metric series), ${lines} sample lines, ${(text.length / 1e6).toFixed(1)} MB: ${renderMs.toFixed(1)} ms wall, ${renderCpuMs.toFixed(1)} ms CPU per scrape (${renders} renders)`);
if (typeof big.renderBuffer === 'function') {
  // What the --metrics-port listener sends: the bytes, without making one large string.
  let n = 0;
  const b0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  while (n < 5 || Number(process.hrtime.bigint() - w0) < 2e9) {
    big.renderBuffer();
    n++;
  }
  const cpu = process.cpuUsage(b0);
  console.log(`renderBuffer: ${(Number(process.hrtime.bigint() - w0) / 1e6 / n).toFixed(1)} ms wall, ${((cpu.user + cpu.system) / 1000 / n).toFixed(1)} ms CPU per scrape (${n} renders)`);
}
