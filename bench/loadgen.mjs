#!/usr/bin/env node
// HTTP load generator for loopback benchmarks (undici Pool, no other deps).
//
// Two modes:
//   rate        open loop: requests are scheduled at a fixed rate; latency and
//               TTFB are measured from the *scheduled* send time, so a slow
//               server cannot hide its queueing (coordinated omission).
//   throughput  closed loop: N concurrent loops each send the next request as
//               soon as the previous one finished, for D seconds.
//
// Latency = scheduled (rate) or actual (throughput) send time -> last body byte.
// TTFB    = same start -> first body byte.
// A response counts as OK only if its status is 2xx and, when --expect is
// given, the end of the body contains that string (e.g. "[DONE]").
//
// CLI:
//   node bench/loadgen.mjs --url http://127.0.0.1:18080/v1/chat/completions \
//     [--mode rate|throughput] [--rate 500] [--duration 5] [--warmup 1] \
//     [--connections 64] [--body '{...}' | --body-file f.json] \
//     [--header 'k: v']... [--method POST] [--expect STR] [--drain-ms 10000]
//     [--json] [--markers]
//
// Only loopback targets (127.0.0.0/8, localhost, ::1) are accepted.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

export const LIMITS = Object.freeze({
  maxDurationS: 3600, // the soak scenario runs 10 minutes
  maxWarmupS: 60,
  maxRate: 50_000,
  maxConnections: 1024,
  maxRequests: 5_000_000,
  maxBodyBytes: 64 * 1024 * 1024,
  maxDrainMs: 30_000,
});

const now = () => performance.now();

export function isLoopbackUrl(u) {
  let url;
  try {
    url = new URL(u);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:') return false;
  const h = url.hostname;
  return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Growable Float64 sample store. */
export class Samples {
  constructor(initial = 4096) {
    this.buf = new Float64Array(initial);
    this.n = 0;
  }
  push(v) {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  summary() {
    const n = this.n;
    if (n === 0) return null;
    const s = this.buf.slice(0, n).sort();
    const q = (p) => s[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i];
    const r = (x) => Math.round(x * 1000) / 1000;
    return { n, min: r(s[0]), mean: r(sum / n), p50: r(q(0.5)), p90: r(q(0.9)), p99: r(q(0.99)), max: r(s[n - 1]) };
  }
}

function normaliseHeaders(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = String(v);
  if (!('content-type' in out)) out['content-type'] = 'application/json';
  return out;
}

function validate(o) {
  if (!isLoopbackUrl(o.url)) throw new Error(`refusing non-loopback target ${o.url} (only 127.0.0.0/8, localhost, ::1)`);
  const num = (name, v, min, max) => {
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${name} must be within [${min}, ${max}], got ${v}`);
  };
  if (o.mode !== 'rate' && o.mode !== 'throughput') throw new Error(`mode must be rate or throughput, got ${o.mode}`);
  num('duration', o.duration, 0.1, LIMITS.maxDurationS);
  num('warmup', o.warmup, 0, LIMITS.maxWarmupS);
  num('connections', o.connections, 1, LIMITS.maxConnections);
  num('drainMs', o.drainMs, 0, LIMITS.maxDrainMs);
  if (o.mode === 'rate') {
    num('rate', o.rate, 0.1, LIMITS.maxRate);
    if (o.rate * (o.duration + o.warmup) > LIMITS.maxRequests) throw new Error('rate * (duration + warmup) exceeds maxRequests');
  }
  if (o.body && o.body.length > LIMITS.maxBodyBytes) throw new Error('body too large');
}

/**
 * Run one load test. Resolves to a plain-object summary.
 * @param {object} options
 * @param {string} options.url           full URL incl. path (loopback only)
 * @param {'rate'|'throughput'} [options.mode]
 * @param {number} [options.rate]        requests/s (rate mode)
 * @param {number} [options.duration]    measured seconds
 * @param {number} [options.warmup]      discarded seconds before the window
 * @param {number} [options.connections] pool size (rate) / concurrent loops (throughput)
 * @param {string} [options.method]
 * @param {Record<string,string>} [options.headers]
 * @param {string|Buffer} [options.body]
 * @param {string} [options.expect]      substring required near the end of a body
 * @param {number} [options.drainMs]     max wait for in-flight requests after the window
 */
export async function runLoad(options) {
  const o = {
    mode: 'rate',
    rate: 500,
    duration: 5,
    warmup: 1,
    connections: 64,
    method: 'POST',
    drainMs: 10_000,
  };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) o[k] = v;
  o.rate = Number(o.rate);
  o.duration = Number(o.duration);
  o.warmup = Number(o.warmup);
  o.connections = Math.floor(Number(o.connections));
  o.drainMs = Number(o.drainMs);
  const body = o.body == null ? null : Buffer.isBuffer(o.body) ? o.body : Buffer.from(String(o.body));
  if (body) o.body = body;
  validate(o);

  const url = new URL(o.url);
  const path = url.pathname + url.search;
  const headers = normaliseHeaders(o.headers);
  const expect = o.expect ? Buffer.from(o.expect) : null;
  const pool = new Pool(url.origin, {
    connections: o.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });

  const lat = new Samples();
  const ttfb = new Samples();
  const svc = new Samples();
  const lag = new Samples();
  const statusCounts = {};
  const errorKinds = {};
  let errorSample = null;
  let ok = 0;
  let errors = 0;
  let bytes = 0;
  let inflight = 0;
  let sent = 0;
  let completed = 0;
  let firstDone = Infinity;
  let lastDone = 0;
  const addErr = (kind, sample) => {
    errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    if (!errorSample && sample) errorSample = sample.slice(0, 500);
  };

  // ---- one request; onEnd(okBool, tStart) is called exactly once
  const dispatch = (onEnd) => {
    const tSend = now();
    let tFirst = 0;
    let status = 0;
    let n = 0;
    let prev = null;
    let last = null;
    let errBody = null;
    inflight++;
    sent++;
    const finish = (err) => {
      inflight--;
      completed++;
      const tEnd = now();
      let good = !err && status >= 200 && status < 300;
      if (err) addErr(err.code || err.name || 'error', `${err.code ?? ''} ${err.message}`);
      else if (!good) {
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        addErr(`http_${status}`, `HTTP ${status}: ${errBody ? Buffer.concat(errBody).toString('utf8') : ''}`);
      } else {
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        if (expect) {
          const tail = prev ? Buffer.concat([prev, last]) : last;
          if (!tail || !tail.includes(expect)) {
            good = false;
            addErr('unexpected_body', `body tail did not contain ${JSON.stringify(o.expect)}: ${tail ? tail.toString('utf8').slice(-200) : '(empty)'}`);
          }
        }
      }
      bytes += n;
      onEnd(good, tSend, tFirst || tEnd, tEnd);
    };
    pool.dispatch(
      { path, method: o.method, headers, body },
      {
        onConnect() {},
        onHeaders(statusCode) {
          status = statusCode;
          return true;
        },
        onData(chunk) {
          if (tFirst === 0) tFirst = now();
          n += chunk.length;
          prev = last;
          last = chunk;
          if ((status < 200 || status >= 300) && !errorSample) (errBody ??= []).push(chunk);
          return true;
        },
        onComplete() {
          finish(null);
        },
        onError(err) {
          finish(err);
        },
      },
    );
  };

  const t0 = now() + 5;
  const warmEnd = t0 + o.warmup * 1000;
  const end = warmEnd + o.duration * 1000;
  let drained;
  const drainedP = new Promise((r) => (drained = r));
  // Optional hooks at the edges of the measured window (used by run.mjs to
  // sample the CPU time of the server processes over exactly that window).
  const marks = [];
  for (const [fn, at] of [
    [o.onWindowStart, warmEnd],
    [o.onWindowEnd, end],
  ]) {
    if (typeof fn !== 'function') continue;
    const m = { fired: false, fn };
    m.timer = setTimeout(() => {
      m.fired = true;
      fn();
    }, Math.max(0, at - now()));
    marks.push(m);
  }

  if (o.mode === 'rate') {
    const interval = 1000 / o.rate;
    const total = Math.round(o.rate * (o.warmup + o.duration));
    let i = 0;
    let scheduledAll = false;
    const tick = () => {
      const t = now();
      while (i < total) {
        const sched = t0 + i * interval;
        if (sched > t) break;
        i++;
        const measured = sched >= warmEnd;
        dispatch((good, tSend, tFirst, tEnd) => {
          if (measured) {
            lag.push(tSend - sched);
            if (good) {
              ok++;
              lat.push(tEnd - sched);
              ttfb.push(tFirst - sched);
              svc.push(tEnd - tSend);
              if (tEnd < firstDone) firstDone = tEnd;
              if (tEnd > lastDone) lastDone = tEnd;
            }
          }
          if (scheduledAll && inflight === 0) drained();
        });
      }
      if (i < total) setTimeout(tick, Math.max(0, t0 + i * interval - now()));
      else {
        scheduledAll = true;
        if (inflight === 0) drained();
      }
    };
    setTimeout(tick, Math.max(0, t0 - now()));
  } else {
    let loops = o.connections;
    const loop = () => {
      if (now() >= end) {
        if (--loops === 0 && inflight === 0) drained();
        return;
      }
      dispatch((good, tSend, tFirst, tEnd) => {
        if (tEnd >= warmEnd && tEnd <= end && good) {
          ok++;
          lat.push(tEnd - tSend);
          ttfb.push(tFirst - tSend);
          if (tEnd < firstDone) firstDone = tEnd;
          if (tEnd > lastDone) lastDone = tEnd;
        }
        if (!good) setTimeout(loop, 5); // avoid a hot loop on connection errors
        else loop();
        if (loops === 0 && inflight === 0) drained();
      });
    };
    setTimeout(() => {
      for (let c = 0; c < o.connections; c++) loop();
    }, Math.max(0, t0 - now()));
  }

  // Wait for the schedule plus a bounded drain.
  let timedOut = false;
  const hardStop = end + o.drainMs - now();
  const timer = setTimeout(() => {
    timedOut = true;
    drained();
  }, Math.max(0, hardStop));
  await drainedP;
  clearTimeout(timer);
  // The last request can finish a hair before the window-end timer fires:
  // fire any pending marks now, in order, so hooks always run exactly once.
  for (const m of marks) {
    clearTimeout(m.timer);
    if (!m.fired) {
      m.fired = true;
      m.fn();
    }
  }
  const unfinished = inflight;
  await pool.destroy().catch(() => {});

  const windowMs = o.duration * 1000;
  let rps;
  if (o.mode === 'throughput') rps = ok / o.duration;
  else {
    // achieved rate: measured completions over the time they actually took
    // (never faster than the offered rate; lower when a queue built up).
    const span = Math.max(windowMs, lastDone - warmEnd);
    rps = ok / (span / 1000);
  }
  const r2 = (x) => Math.round(x * 100) / 100;
  return {
    mode: o.mode,
    url: o.url,
    method: o.method,
    connections: o.connections,
    rate: o.mode === 'rate' ? o.rate : undefined,
    duration: o.duration,
    warmup: o.warmup,
    bodyBytes: body ? body.length : 0,
    sent,
    completed,
    ok,
    errors,
    unfinished,
    timedOut,
    rps: r2(rps),
    avgResponseBytes: completed ? Math.round(bytes / completed) : 0,
    statusCounts,
    errorKinds,
    errorSample,
    latency: lat.summary(),
    ttfb: ttfb.summary(),
    service: o.mode === 'rate' ? svc.summary() : undefined,
    sendLag: o.mode === 'rate' ? lag.summary() : undefined,
  };
}

export function formatResult(r) {
  const f = (s) => (s ? `p50 ${s.p50.toFixed(2)}  p90 ${s.p90.toFixed(2)}  p99 ${s.p99.toFixed(2)}  max ${s.max.toFixed(2)} ms` : 'n/a');
  const lines = [
    `${r.mode} ${r.method} ${r.url}  ${r.mode === 'rate' ? `${r.rate} rps offered` : `${r.connections} loops`}, ${r.duration}s (+${r.warmup}s warm-up)`,
    `  RPS       ${r.rps}   ok ${r.ok}  errors ${r.errors}  unfinished ${r.unfinished}  avg response ${r.avgResponseBytes} B`,
    `  latency   ${f(r.latency)}`,
    `  TTFB      ${f(r.ttfb)}`,
  ];
  if (r.service) lines.push(`  service   ${f(r.service)}   (from actual send)`);
  if (r.sendLag) lines.push(`  send lag  ${f(r.sendLag)}   (loadgen timer lateness)`);
  if (r.errors) lines.push(`  errors    ${JSON.stringify(r.errorKinds)}  e.g. ${r.errorSample}`);
  return lines.join('\n');
}

function parseArgs(argv) {
  const out = { header: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json' || a === '--markers') {
      out[a.slice(2)] = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (!m) throw new Error(`unexpected argument ${a}`);
    const val = m[2] ?? argv[++i];
    if (val === undefined) throw new Error(`missing value for --${m[1]}`);
    if (m[1] === 'header') out.header.push(val);
    else out[m[1]] = val;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const a = parseArgs(process.argv.slice(2));
    if (!a.url) throw new Error('--url is required');
    const headers = {};
    for (const h of a.header) {
      const idx = h.indexOf(':');
      if (idx < 1) throw new Error(`bad --header ${h}`);
      headers[h.slice(0, idx).trim()] = h.slice(idx + 1).trim();
    }
    const body = a['body-file'] ? readFileSync(a['body-file']) : a.body;
    const r = await runLoad({
      url: a.url,
      mode: a.mode ?? 'rate',
      rate: a.rate !== undefined ? Number(a.rate) : undefined,
      duration: a.duration !== undefined ? Number(a.duration) : undefined,
      warmup: a.warmup !== undefined ? Number(a.warmup) : undefined,
      connections: a.connections !== undefined ? Number(a.connections) : undefined,
      drainMs: a['drain-ms'] !== undefined ? Number(a['drain-ms']) : undefined,
      method: a.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      expect: a.expect,
      // --markers: print @@window-start / @@window-end on stderr (for run.mjs)
      onWindowStart: a.markers ? () => process.stderr.write('@@window-start\n') : undefined,
      onWindowEnd: a.markers ? () => process.stderr.write('@@window-end\n') : undefined,
    });
    console.log(a.json ? JSON.stringify(r) : formatResult(r));
  } catch (err) {
    console.error(`loadgen: ${err.message}`);
    process.exit(2);
  }
}
