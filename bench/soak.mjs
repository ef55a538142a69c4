#!/usr/bin/env node
// Soak test: SOAK_SECONDS (default 600) of mixed traffic against the real built
// gateway, with a 5% rate of upstream faults. Prints one sample line per 30 s and
// exits non-zero if spend-log rows != requests sent, RSS grew > 20% or fds grew > 20
// after warm-up. Gateway heap/ELD come from bench/eld-probe.mjs (--import preload)
// because the gateway's /metrics exports no nodejs process metrics.
import { readdirSync, readlinkSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startChild, stopChild, freePort, sleep, ROOT } from './lib/procs.mjs';
import { eldCall } from './lib/measure.mjs';
import { PROBE_ARGS, GATEWAY_BIN } from './lib/gateway.mjs';
import { startFaultyUpstream } from './soak/faulty-upstream.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS) || 600;
const WARMUP_S = Math.min(60, Math.floor(SECONDS / 4));
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_MS) || 30_000;
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY) || 16;
const MASTER = 'sk-soak-master';

const tmp = mkdtempSync(join(tmpdir(), 'tollgate-soak-'));
const dbPath = join(tmp, 'soak.db');
const up = await startFaultyUpstream({ faultRate: 0.05 });
const cfgPath = join(tmp, 'soak.yaml');
writeFileSync(cfgPath, `model_list:
  - model_name: soak-openai
    litellm_params: { model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:${up.port}/v1", api_key: sk-up }
  - model_name: soak-anthropic
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "http://127.0.0.1:${up.port}", api_key: sk-up }
general_settings: { master_key: ${MASTER}, database_url: "${dbPath}" }
`);
const port = await freePort();
const eldPort = await freePort();
const base = `http://127.0.0.1:${port}`;
const gw = startChild('gateway', 0, [...PROBE_ARGS, GATEWAY_BIN, 'serve', '--config', cfgPath, '--port', String(port)], {
  cwd: ROOT,
  env: { ...process.env, NODE_ENV: 'production', HOST: '127.0.0.1', BENCH_ELD_PORT: String(eldPort) },
});
for (let i = 0; ; i++) {
  if (gw.exited || i > 300) { console.error(`gateway did not start:\n${gw.tail.text(40)}`); process.exit(2); }
  try { if ((await fetch(`${base}/health/liveliness`)).ok) break; } catch { /* not up yet */ }
  await sleep(100);
}
const kr = await fetch(`${base}/key/generate`, {
  method: 'POST',
  headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
  body: JSON.stringify({ key_alias: 'soak', max_budget: 1_000_000, rpm_limit: 1_000_000_000, tpm_limit: 1_000_000_000_000 }),
});
const key = (await kr.json()).key;
if (typeof key !== 'string') { console.error('key/generate failed'); process.exit(2); }

const TOOLS_OAI = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
const TOOLS_ANT = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
const stats = { sent: 0, byStatus: {}, disconnects: 0, errors: 0 };

/** One random request. Returns when the client is done with it. */
async function one() {
  const anthropic = Math.random() < 0.5;
  const stream = Math.random() < 0.5;
  const tool = Math.random() < 0.2;
  const bad = Math.random() < 0.05;
  const disconnect = stream && !bad && Math.random() < 0.05;
  const messages = [{ role: 'user', content: 'hi' }];
  let body = anthropic
    ? { model: 'soak-anthropic', max_tokens: 64, messages, stream, ...(tool ? { tools: TOOLS_ANT } : {}) }
    : { model: 'soak-openai', messages, stream, ...(tool ? { tools: TOOLS_OAI } : {}) };
  if (bad) body = anthropic ? { model: 'soak-anthropic', messages: 'not-a-list' } : { model: 'soak-openai' };
  const ac = new AbortController();
  stats.sent++;
  try {
    const res = await fetch(`${base}${anthropic ? '/v1/messages' : '/v1/chat/completions'}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: ac.signal,
    });
    stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
    if (disconnect && res.body) {
      const reader = res.body.getReader();
      await reader.read();
      ac.abort();
      stats.disconnects++;
      return;
    }
    await res.arrayBuffer();
  } catch (err) {
    if (err.name !== 'AbortError') stats.errors++;
  }
}

function fds(pid) {
  let n = 0, s = 0;
  for (const f of readdirSync(`/proc/${pid}/fd`)) {
    n++;
    try { if (readlinkSync(`/proc/${pid}/fd/${f}`).startsWith('socket:')) s++; } catch { /* closed meanwhile */ }
  }
  return { fds: n, sockets: s };
}

const t0 = Date.now();
const samples = [];
async function sample() {
  const e = await eldCall(eldPort, 'read');
  await eldCall(eldPort, 'reset');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gw.pid}/status`, 'utf8'))?.[1]) / 1024;
  const s = { t: Math.round((Date.now() - t0) / 1000), req: stats.sent, rssMB: Math.round(rss * 10) / 10, heapMB: e?.memMB?.heapUsed ?? null, eldP99: e?.eld?.p99 ?? null, ...fds(gw.pid) };
  samples.push(s);
  console.log(`t=${s.t}s requests=${s.req} rss=${s.rssMB}MB heapUsed=${s.heapMB}MB eld_p99=${s.eldP99}ms sockets=${s.sockets} fds=${s.fds}`);
}
const timer = setInterval(() => void sample(), SAMPLE_MS);
const end = t0 + SECONDS * 1000;
await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (Date.now() < end) await one(); }));
clearInterval(timer);
await sleep(3000); // let aborted streams and slow faults settle before the last sample
await sample();

await stopChild(gw, 15_000);
await up.close();
const db = new Database(dbPath, { readonly: true });
const rows = db.prepare('SELECT COUNT(*) AS n FROM "LiteLLM_SpendLogs"').get().n;
db.close();

const warm = samples.find((s) => s.t >= WARMUP_S) ?? samples[0];
const last = samples[samples.length - 1];
const rssGrowth = (last.rssMB - warm.rssMB) / warm.rssMB;
const fdGrowth = last.fds - warm.fds;
console.log(`statuses ${JSON.stringify(stats.byStatus)} disconnects=${stats.disconnects} client_errors=${stats.errors} upstream=${JSON.stringify(up.stats)}`);
console.log(`requests sent ${stats.sent}, spend-log rows ${rows}; RSS ${warm.rssMB} -> ${last.rssMB} MB (${(rssGrowth * 100).toFixed(1)}%), fds ${warm.fds} -> ${last.fds} (+${fdGrowth}); gateway exit ${gw.exitCode ?? gw.signal}`);
const fails = [];
if (rows !== stats.sent) fails.push(`spend-log rows ${rows} != requests ${stats.sent}`);
if (rssGrowth > 0.2) fails.push(`RSS grew ${(rssGrowth * 100).toFixed(1)}%`);
if (fdGrowth > 20) fails.push(`fds grew by ${fdGrowth}`);
console.log(fails.length ? `SOAK FAIL: ${fails.join('; ')}` : 'SOAK PASS');
rmSync(tmp, { recursive: true, force: true });
process.exit(fails.length ? 1 : 0);
