// One measured run: a load-generator (loadgen.mjs) or stream-holder (streams.mjs)
// child on core 1, with the server's CPU (/proc), RSS and event-loop delay (the
// eld-probe side port) sampled over exactly the child's measured window, which it
// marks on stderr. Plus the aggregation of A B A B rounds and the comparisons.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { BENCH_DIR, CLK_TCK, groupTicks, rssMB, signalGroup, startChild, state, systemTicks } from './procs.mjs';
import { headersFor } from './scenarios.mjs';

/** GET /reset or /read on a server's eld-probe side port; null when there is none. */
export async function eldCall(port, what) {
  if (!port) return null;
  try {
    const res = await request(`http://127.0.0.1:${port}/${what}`, { headersTimeout: 3000, bodyTimeout: 3000 });
    const text = await res.body.text();
    return res.statusCode === 200 ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/**
 * Spawn a measuring child and sample around its @@window-start / @@window-end.
 * m: { name, args, cpuPgids: {role: pgid}, eldPort, rssPgid, limitMs, rssEveryMs }
 */
async function runMeasured(m) {
  const cpu = {};
  let startTicks = null;
  let stdout = '';
  let eldReset = null;
  let eldRead = null;
  let rssAtEnd = null;
  const rssSeries = [];
  const pgids = { ...m.cpuPgids };
  const sample = () => {
    const o = Object.fromEntries(Object.entries(pgids).map(([k, pg]) => [k, groupTicks(pg)]));
    const self = process.cpuUsage();
    o._self = ((self.user + self.system) / 1e6) * CLK_TCK;
    o._system = systemTicks();
    return o;
  };
  let t0 = 0;
  let rssTimer = null;
  const child = startChild(m.name, 1, m.args, {
    onLine: (line, stream) => {
      if (stream === 'stdout') {
        stdout += line + '\n';
        return;
      }
      if (line === '@@window-start') {
        startTicks = sample();
        eldReset = eldCall(m.eldPort, 'reset');
        t0 = Date.now();
        if (m.rssEveryMs) {
          rssTimer = setInterval(() => rssSeries.push({ s: Math.round((Date.now() - t0) / 100) / 10, rssMB: rssMB(m.rssPgid) }), m.rssEveryMs);
        }
      } else if (line === '@@window-end' && startTicks) {
        const end = sample();
        for (const k of Object.keys(end)) cpu[k] = (end[k] - startTicks[k]) / CLK_TCK;
        rssAtEnd = rssMB(m.rssPgid);
        eldRead = eldCall(m.eldPort, 'read');
        if (rssTimer) clearInterval(rssTimer);
      }
    },
  });
  pgids.loadgen = child.pid;
  const killer = setTimeout(() => signalGroup(child, 'SIGKILL'), m.limitMs);
  await child.exitP;
  clearTimeout(killer);
  if (rssTimer) clearInterval(rssTimer);
  await eldReset;
  const eld = await eldRead;
  stdout += child.tail.partial.stdout;
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (child.exitCode !== 0 || !line) throw new Error(`${m.name} failed (code ${child.exitCode}, signal ${child.signal}):\n${child.tail.text(20)}`);
  const r = JSON.parse(line);
  const windowS = r.mode === 'streams' ? r.measure : r.duration;
  if (cpu._system !== undefined) {
    // CPU used during the window by processes other than ours: the noise indicator.
    let ours = (cpu.upstream ?? 0) + (cpu.loadgen ?? 0) + cpu._self;
    if (pgids.target !== undefined && pgids.target !== pgids.upstream) ours += cpu.target ?? 0;
    r.otherCpuPct = Math.max(0, Math.round(((cpu._system - ours) / windowS) * 1000) / 10);
    delete cpu._system;
    delete cpu._self;
  }
  const okInWindow = r.mode === 'throughput' ? r.ok : r.mode === 'rate' ? r.rps * r.duration : 0;
  r.cpu = {};
  for (const [k, secs] of Object.entries(cpu)) {
    r.cpu[k] = { pctOfCore: Math.round((secs / windowS) * 1000) / 10, usPerReq: okInWindow > 0 ? Math.round((secs * 1e6) / okInWindow) : null };
  }
  r.eld = eld?.eld ?? null;
  r.gc = eld?.gc ?? null;
  r.heapMB = eld?.memMB ?? null;
  r.rssMB = rssAtEnd;
  if (m.rssEveryMs) r.rssSeries = rssSeries;
  return r;
}

function bodyFile(scn, target) {
  const which = target === 'gateway' ? 'gateway' : 'direct';
  const f = join(state.tmpDir, `${scn.name}-${which}.json`);
  if (!existsSync(f)) writeFileSync(f, scn.bodies[which]);
  return f;
}

const headerArgs = (scn, target, key) => Object.entries(headersFor(scn, target, key)).flatMap(([k, v]) => ['--header', `${k}: ${v}`]);

/** A closed-loop (throughput) or fixed-rate run of loadgen.mjs. */
export function runLoad({ url, mode, scn, target, cfg, cpuPgids, eldPort, rssPgid, gatewayKey, duration, warmup, rssEveryMs }) {
  const dur = duration ?? cfg.duration;
  const wu = warmup ?? (mode === 'rate' ? cfg.rateWarmup : cfg.warmup);
  const args = [join(BENCH_DIR, 'loadgen.mjs'), '--json', '--markers', '--url', url + scn.path, '--mode', mode, '--duration', String(dur), '--warmup', String(wu)];
  args.push('--connections', String(mode === 'rate' ? cfg.rateConnections : scn.connections), '--body-file', bodyFile(scn, target), '--drain-ms', '10000');
  if (mode === 'rate') args.push('--rate', String(scn.rate));
  if (scn.expect) args.push('--expect', scn.expect);
  args.push(...headerArgs(scn, target, gatewayKey));
  return runMeasured({ name: `loadgen(${scn.name},${target},${mode})`, args, cpuPgids, eldPort, rssPgid, limitMs: (wu + dur) * 1000 + 30_000, rssEveryMs });
}

/** N held streams through streams.mjs, measured while all of them are open. */
export function runStreams({ url, scn, target, cfg, cpuPgids, eldPort, rssPgid, gatewayKey }) {
  const args = [join(BENCH_DIR, 'streams.mjs'), '--markers', '--url', url + scn.path, '--count', String(scn.count), '--ramp', String(cfg.streamRamp)];
  args.push('--settle', String(cfg.streamSettle), '--measure', String(cfg.streamMeasure), '--open-timeout', '30', '--body-file', bodyFile(scn, target));
  args.push('--expect', scn.expect, ...headerArgs(scn, target, gatewayKey));
  const limitMs = (scn.count / cfg.streamRamp + 30 + cfg.streamSettle + cfg.streamMeasure + 150) * 1000;
  return runMeasured({ name: `streams(${scn.name},${target})`, args, cpuPgids, eldPort, rssPgid, limitMs });
}

// ------------------------------------------------------------------ rounds and comparisons

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const r3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);

function meanSummary(list) {
  const s = list.filter(Boolean);
  if (!s.length) return null;
  const o = {};
  for (const k of Object.keys(s[0])) o[k] = k === 'max' ? Math.max(...s.map((x) => x[k])) : r3(mean(s.map((x) => x[k])));
  return o;
}

/**
 * Combine the rounds of one target and mode: percentiles and rates are the mean
 * of the rounds (max stays the max), errors are summed, every round is kept.
 */
export function aggregate(runs) {
  if (runs.length === 1) return { ...runs[0], rounds: 1 };
  const cpu = {};
  for (const k of Object.keys(runs[0].cpu ?? {})) {
    const us = runs.map((r) => r.cpu?.[k]?.usPerReq).filter((x) => typeof x === 'number');
    cpu[k] = { pctOfCore: r3(mean(runs.map((r) => r.cpu?.[k]?.pctOfCore ?? 0))), usPerReq: us.length ? Math.round(mean(us)) : null };
  }
  const errorKinds = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.errorKinds ?? {})) errorKinds[k] = (errorKinds[k] ?? 0) + v;
  const rps = runs.map((r) => r.rps);
  return {
    mode: runs[0].mode,
    rounds: runs.length,
    rps: r3(mean(rps)),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    ok: runs.reduce((a, r) => a + (r.ok ?? 0), 0),
    errors: runs.reduce((a, r) => a + (r.errors ?? 0), 0),
    unfinished: runs.reduce((a, r) => a + (r.unfinished ?? 0), 0),
    errorKinds,
    errorSample: runs.find((r) => r.errorSample)?.errorSample ?? null,
    latency: meanSummary(runs.map((r) => r.latency)),
    ttfb: meanSummary(runs.map((r) => r.ttfb)),
    eld: meanSummary(runs.map((r) => r.eld)),
    cpu,
    otherCpuPct: Math.max(...runs.map((r) => r.otherCpuPct ?? 0)),
    rssMB: Math.max(...runs.map((r) => r.rssMB ?? 0)) || null,
    runs,
  };
}

const round2 = (x) => Math.round(x * 100) / 100;

/** a = the proxy, b = the reference it is compared with. */
export function compare(a, b) {
  const o = {};
  if (a?.throughput && b?.throughput && b.throughput.rps > 0) o.rpsRatio = r3(a.throughput.rps / b.throughput.rps);
  if (a?.rate?.latency && b?.rate?.latency) {
    o.addedP50Ms = round2(a.rate.latency.p50 - b.rate.latency.p50);
    o.addedP99Ms = round2(a.rate.latency.p99 - b.rate.latency.p99);
    o.p99Ratio = b.rate.latency.p99 > 0 ? round2(a.rate.latency.p99 / b.rate.latency.p99) : null;
    if (a.rate.ttfb && b.rate.ttfb) o.addedTtfbP50Ms = round2(a.rate.ttfb.p50 - b.rate.ttfb.p50);
  }
  if (a?.streams?.ttfb && b?.streams?.ttfb) {
    o.addedTtfbP50Ms = round2(a.streams.ttfb.p50 - b.streams.ttfb.p50);
    o.addedTtfbP99Ms = round2(a.streams.ttfb.p99 - b.streams.ttfb.p99);
  }
  return o;
}
