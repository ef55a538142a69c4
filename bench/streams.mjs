#!/usr/bin/env node
// Open-streams holder: opens N slow streams through a target and keeps them open,
// so the orchestrator can measure the target's RSS, CPU and event-loop delay with
// N streams in flight. The body must carry the fake upstream's held-stream marker
// (`[bench-hold ms=H every=E]`, see fake-upstream.mjs), with H long enough to cover
// the ramp, the settle time and the measured window.
//
//   node bench/streams.mjs --url http://127.0.0.1:P/v1/messages --count 1000 \
//     [--ramp 2000] [--settle 1] [--measure 2] [--open-timeout 20] \
//     --body-file f.json [--header 'k: v']... [--expect message_stop] [--markers]
//
// Streams are sent at --ramp per second. Once every stream has its first byte (or
// failed), or --open-timeout seconds after the last send, it prints @@opened, waits
// --settle seconds, then marks the measured window (@@window-start / @@window-end on
// stderr with --markers) of --measure seconds, and finally waits for every stream to
// end. Prints one JSON line. Loopback targets only.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { Samples, isLoopbackUrl } from './loadgen.mjs';

const MAX_STREAMS = 10_000;
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function holdStreams(o) {
  if (!isLoopbackUrl(o.url)) throw new Error(`refusing non-loopback target ${o.url}`);
  if (!(o.count >= 1 && o.count <= MAX_STREAMS)) throw new Error(`count must be within [1, ${MAX_STREAMS}]`);
  const url = new URL(o.url);
  const path = url.pathname + url.search;
  const headers = { 'content-type': 'application/json', ...o.headers };
  const expect = o.expect ? Buffer.from(o.expect) : null;
  const pool = new Pool(url.origin, { connections: o.count, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const ttfb = new Samples();
  const total = new Samples();
  const errorKinds = {};
  let errorSample = null;
  let open = 0;
  let maxOpen = 0;
  let started = 0;
  let firstBytes = 0;
  let failed = 0;
  let ok = 0;
  let ended = 0;
  let windowEnded = false;
  let closedBeforeWindowEnd = 0;
  let onProgress = () => {};
  const addErr = (kind, sample) => {
    failed++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    errorSample ??= String(sample).slice(0, 500);
  };

  const one = () => {
    const tSend = now();
    let status = 0;
    let gotFirst = false;
    let prev = null;
    let last = null;
    started++;
    const done = (err) => {
      ended++;
      if (gotFirst) open--;
      if (!windowEnded) closedBeforeWindowEnd++;
      if (err) addErr(err.code || err.name || 'error', `${err.code ?? ''} ${err.message}`);
      else if (status < 200 || status >= 300) addErr(`http_${status}`, `HTTP ${status}: ${last ? last.toString('utf8') : ''}`);
      else {
        const tail = prev && last ? Buffer.concat([prev, last]) : last;
        if (expect && !(tail && tail.includes(expect))) addErr('unexpected_body', `no ${o.expect} at the end: ${tail ? tail.toString('utf8').slice(-200) : '(empty)'}`);
        else {
          ok++;
          total.push(now() - tSend);
        }
      }
      if (!gotFirst) onProgress();
    };
    pool.dispatch(
      { path, method: 'POST', headers, body: o.body },
      {
        onConnect() {},
        onHeaders(code) {
          status = code;
          return true;
        },
        onData(chunk) {
          if (!gotFirst) {
            gotFirst = true;
            firstBytes++;
            open++;
            if (open > maxOpen) maxOpen = open;
            ttfb.push(now() - tSend);
            onProgress();
          }
          prev = last;
          last = chunk;
          return true;
        },
        onComplete() {
          done(null);
        },
        onError(err) {
          done(err);
        },
      },
    );
  };

  const t0 = now();
  // ramp: send in 10 ms slices at o.ramp streams per second
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(o.count, Math.ceil(((now() - t0) / 1000) * o.ramp) + 1);
      while (started < due) one();
      if (started < o.count) setTimeout(tick, 10);
      else resolve();
    };
    tick();
  });
  const rampMs = now() - t0;
  // all open (first byte or failure), or the open timeout
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, o.openTimeout * 1000);
    onProgress = () => {
      if (firstBytes + failed >= o.count) {
        clearTimeout(timer);
        resolve();
      }
    };
    onProgress();
  });
  onProgress = () => {};
  const openMs = now() - t0;
  const mark = (m) => o.markers && process.stderr.write(`${m}\n`);
  mark('@@opened');
  await sleep(o.settle * 1000);
  const openAtWindowStart = open;
  mark('@@window-start');
  await sleep(o.measure * 1000);
  const openAtWindowEnd = open;
  windowEnded = true;
  mark('@@window-end');
  // wait for the streams to finish on their own (bounded)
  const deadline = now() + o.drainMs;
  while (ended < started && now() < deadline) await sleep(50);
  const unfinished = started - ended;
  await pool.destroy().catch(() => {});
  return {
    mode: 'streams',
    url: o.url,
    count: o.count,
    ramp: o.ramp,
    started,
    ok,
    errors: failed,
    errorKinds,
    errorSample,
    unfinished,
    rampMs: Math.round(rampMs),
    openMs: Math.round(openMs),
    maxOpen,
    openAtWindowStart,
    openAtWindowEnd,
    closedBeforeWindowEnd,
    measure: o.measure,
    ttfb: ttfb.summary(),
    total: total.summary(),
  };
}

function parseArgs(argv) {
  const out = { header: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--markers') {
      out.markers = true;
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
    if (!a.url || !a['body-file']) throw new Error('--url and --body-file are required');
    const headers = {};
    for (const h of a.header) {
      const idx = h.indexOf(':');
      if (idx < 1) throw new Error(`bad --header ${h}`);
      headers[h.slice(0, idx).trim().toLowerCase()] = h.slice(idx + 1).trim();
    }
    const num = (k, d) => (a[k] === undefined ? d : Number(a[k]));
    const r = await holdStreams({
      url: a.url,
      count: num('count', 1000),
      ramp: Math.max(1, num('ramp', 2000)),
      settle: num('settle', 1),
      measure: num('measure', 2),
      openTimeout: num('open-timeout', 20),
      drainMs: num('drain-ms', 120_000),
      body: readFileSync(a['body-file']),
      headers,
      expect: a.expect,
      markers: !!a.markers,
    });
    console.log(JSON.stringify(r));
  } catch (err) {
    console.error(`streams: ${err.message}`);
    process.exit(2);
  }
}
