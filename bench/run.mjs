#!/usr/bin/env node
// `npm run bench`: direct vs bare passthrough vs Tollgate, on one machine, in one run.
//
// Processes (pinned with taskset when available and the machine has >= 2 CPUs):
//   core 1: fake upstream (bench/fake-upstream.mjs), load generators, this script
//   core 0: bare passthrough (bench/passthrough.mjs), gateway (node bin/tollgate.js serve)
// Only one server is under load at a time. Every server runs with bench/eld-probe.mjs
// preloaded, which reports its event-loop delay on a side port.
//
// The gateway scenarios use a virtual key with a budget and rpm/tpm limits, created
// through /key/generate at start-up; metrics and spend logging are on (the defaults).
// For each load scenario: direct once, then passthrough and gateway alternating
// (A B A B, BENCH_ROUNDS rounds), each a closed-loop throughput run and a fixed-rate
// run. Streams scenarios hold N slow streams open and measure the server meanwhile.
// Prints tables, ratios, the issue-10 targets with pass/miss, and writes
// bench/results/<timestamp>.json. Knobs: usage() below or bench/README.md.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isLoopbackUrl } from './loadgen.mjs';
import { createVirtualKey, meteringCheck, PROBE_ARGS, startGateway } from './lib/gateway.mjs';
import { aggregate, compare, runLoad, runStreams } from './lib/measure.mjs';
import { BENCH_DIR, CLK_TCK, cleanup, freePort, installSignalHandlers, rssMB, setPin, sleep, startChild, state, systemTicks, waitForLine } from './lib/procs.mjs';
import { evaluateTargets, fmt, maxNoise, printLoadScenario, printSoak, printStreamsScenario, printSummary } from './lib/report.mjs';
import { ALL_SCENARIOS, DEFAULT_SCENARIOS, MASTER_KEY, buildScenarios, probe } from './lib/scenarios.mjs';

const ALL_TARGETS = ['direct', 'passthrough', 'gateway'];
const ALL_MODES = ['throughput', 'rate'];

function usage() {
  return `usage: [ENV=...] node bench/run.mjs      (or: npm run bench)

  BENCH_SCENARIOS=...       comma list, or "all"; default: ${DEFAULT_SCENARIOS.join(',')}
                            all: ${ALL_SCENARIOS.join(',')}
  BENCH_TARGETS=...         comma list of ${ALL_TARGETS.join(',')}
  BENCH_MODES=...           comma list of ${ALL_MODES.join(',')}
  BENCH_DURATION=2          measured seconds per run (both modes)
  BENCH_WARMUP=0.5          discarded warm-up seconds before each throughput run
  BENCH_RATE_WARMUP=0.5     discarded warm-up seconds before each fixed-rate run
  BENCH_ROUNDS=2            passthrough/gateway rounds per load scenario, alternating (A B A B)
  BENCH_RATE=1000           offered requests/s in fixed-rate mode (small bodies, soak)
  BENCH_LARGE_RATE=200      offered requests/s for the 100 KB scenarios
  BENCH_HUGE_RATE=20        offered requests/s for the 1 MB scenarios
  BENCH_RATE_CONNECTIONS=256 undici pool size in fixed-rate mode
  BENCH_CONNECTIONS=50      concurrent loops in throughput mode (1 MB scenarios: at most 16)
  BENCH_LARGE_ASCII=0       1 makes the large prompts pure ASCII (default has some non-Latin-1 text)
  BENCH_STREAM_RAMP=2000    streams opened per second in the streams-* scenarios
  BENCH_STREAM_EVERY=1000   ms between the events of a held stream
  BENCH_STREAM_SETTLE=1     seconds between the last stream opening and the measured window
  BENCH_STREAM_MEASURE=2    seconds measured with the streams open
  BENCH_SOAK_SECONDS=600    length of the soak scenario (gateway only, fixed rate, RSS every 10 s)
  BENCH_PREWARM=1           seconds of discarded load per target before the first scenario
  BENCH_PIN=1               0 disables taskset pinning
  BENCH_ADMISSION=1         0 skips the admission benchmark (bench/admission.mjs) at the end
  BENCH_PASSTHROUGH_JSON=1  the passthrough parses + re-serialises request bodies (issue 10's floor); 0 pipes bytes
  BENCH_GATEWAY_URL=        benchmark an already running gateway (loopback) instead of spawning one
  BENCH_GATEWAY_KEY=        key for BENCH_GATEWAY_URL (default: a virtual key made with the master key)
  BENCH_GATEWAY_BIN=        gateway entry point (default bin/tollgate.js), run as "node <bin> serve --config <yaml> --port <p>"
  BENCH_GATEWAY_ARGS=       extra arguments appended to "tollgate serve ..."
  BENCH_GATEWAY_TIMEOUT=30  seconds to wait for the gateway to become healthy
  BENCH_OUT=                results file (default bench/results/<timestamp>.json)`;
}

// ------------------------------------------------------------------ config

function configError(message) {
  const err = new Error(message);
  err.isConfigError = true;
  return err;
}

function envNum(name, def, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw configError(`${name} must be a number within [${min}, ${max}], got ${JSON.stringify(raw)}`);
  return v;
}

function envList(name, all, def = all) {
  const raw = process.env[name];
  if (!raw) return [...def];
  if (raw.trim() === 'all') return [...all];
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list) if (!all.includes(s)) throw configError(`${name}: unknown value ${JSON.stringify(s)} (known: ${all.join(', ')})`);
  return all.filter((s) => list.includes(s)); // canonical order
}

function readConfig() {
  const cfg = {
    duration: envNum('BENCH_DURATION', 2, 0.5, 300),
    warmup: envNum('BENCH_WARMUP', 0.5, 0, 60),
    rateWarmup: envNum('BENCH_RATE_WARMUP', 0.5, 0, 60),
    rounds: envNum('BENCH_ROUNDS', 2, 1, 20),
    rate: envNum('BENCH_RATE', 1000, 1, 50_000),
    largeRate: envNum('BENCH_LARGE_RATE', 200, 1, 50_000),
    hugeRate: envNum('BENCH_HUGE_RATE', 20, 1, 50_000),
    rateConnections: envNum('BENCH_RATE_CONNECTIONS', 256, 1, 1024),
    connections: envNum('BENCH_CONNECTIONS', 50, 1, 1024),
    largeAscii: process.env.BENCH_LARGE_ASCII === '1',
    streamRamp: envNum('BENCH_STREAM_RAMP', 2000, 10, 100_000),
    streamEvery: envNum('BENCH_STREAM_EVERY', 1000, 10, 60_000),
    streamSettle: envNum('BENCH_STREAM_SETTLE', 1, 0, 60),
    streamMeasure: envNum('BENCH_STREAM_MEASURE', 2, 0.5, 300),
    soakSeconds: envNum('BENCH_SOAK_SECONDS', 600, 10, 3600),
    prewarm: envNum('BENCH_PREWARM', 1, 0, 60),
    scenarios: envList('BENCH_SCENARIOS', ALL_SCENARIOS, DEFAULT_SCENARIOS),
    targets: envList('BENCH_TARGETS', ALL_TARGETS),
    modes: envList('BENCH_MODES', ALL_MODES),
    pin: process.env.BENCH_PIN !== '0',
    // issue 10's floor parses and re-serialises the body: the default; 0 pipes the bytes untouched
    passthroughJson: process.env.BENCH_PASSTHROUGH_JSON !== '0',
    gatewayUrl: process.env.BENCH_GATEWAY_URL || null,
    gatewayKey: process.env.BENCH_GATEWAY_KEY || null,
    gatewayArgs: (process.env.BENCH_GATEWAY_ARGS || '').split(/\s+/).filter(Boolean),
    gatewayTimeout: envNum('BENCH_GATEWAY_TIMEOUT', 30, 1, 600),
    out: process.env.BENCH_OUT || null,
  };
  if (cfg.gatewayUrl) {
    cfg.gatewayUrl = cfg.gatewayUrl.replace(/\/$/, '');
    if (!isLoopbackUrl(cfg.gatewayUrl)) throw configError(`BENCH_GATEWAY_URL must be a loopback http URL, got ${cfg.gatewayUrl}`);
  }
  if (cfg.scenarios.length === 0 || cfg.targets.length === 0 || cfg.modes.length === 0) throw configError('nothing to run');
  return cfg;
}

function estimateSeconds(cfg, scenarios) {
  const perRun = (cfg.modes.includes('throughput') ? cfg.warmup + cfg.duration + 0.3 : 0) + (cfg.modes.includes('rate') ? cfg.rateWarmup + cfg.duration + 0.3 : 0);
  let s = 5 + cfg.prewarm * cfg.targets.length;
  const seen = new Set();
  for (const scn of scenarios) {
    if (scn.kind === 'soak') s += cfg.soakSeconds + cfg.rateWarmup;
    else if (scn.kind === 'streams') s += cfg.targets.length * (scn.count / cfg.streamRamp + cfg.streamSettle + cfg.streamMeasure + 6);
    else {
      const direct = cfg.targets.includes('direct') && !seen.has(scn.directKey) ? 1 : 0;
      seen.add(scn.directKey);
      s += perRun * (direct + cfg.rounds * cfg.targets.filter((t) => t !== 'direct').length);
    }
  }
  return Math.round(s);
}

// ------------------------------------------------------------------ servers

/** Start a bench server script on core 0 or 1 with the event-loop probe; resolves to {child, url, eldPort}. */
async function startServer(name, cpu, script, args) {
  const eldPort = await freePort();
  const child = startChild(name, cpu, [...PROBE_ARGS, join(BENCH_DIR, script), ...args], { env: { ...process.env, BENCH_ELD_PORT: String(eldPort) } });
  const line = await waitForLine(child, new RegExp(`${name} listening`), 10_000);
  const port = JSON.parse(line.slice(line.indexOf('{'))).port;
  return { child, port, url: `http://127.0.0.1:${port}`, eldPort };
}

// ------------------------------------------------------------------ scenario runners

function logRun(mode, scn, r) {
  if (mode === 'throughput') process.stdout.write(` ${Math.round(r.rps)} rps`);
  else if (mode === 'rate') process.stdout.write(` | @${scn.rate}: p50 ${fmt(r.latency?.p50)} p99 ${fmt(r.latency?.p99)} ms`);
  else process.stdout.write(` ${r.openAtWindowStart}/${r.count} open, RSS ${fmt(r.rssMB, 1)} MB, eld p99 ${fmt(r.eld?.p99)} ms`);
  if (r.errors) process.stdout.write(` [${r.errors} errors]`);
}

async function runLoadScenario(ctx, scn, res) {
  const { cfg, servers, directCache } = ctx;
  const order = [];
  if (cfg.targets.includes('direct')) order.push('direct');
  for (let i = 0; i < cfg.rounds; i++) for (const t of ['passthrough', 'gateway']) if (cfg.targets.includes(t)) order.push(t);
  const runs = {};
  for (const target of order) {
    if (state.stopping) throw new Error('interrupted');
    if (target === 'direct' && directCache.has(scn.directKey)) {
      const d = directCache.get(scn.directKey);
      res.targets.direct = { ...d.entry, sharedFrom: d.scenario };
      continue;
    }
    const srv = servers[target];
    if (!srv || srv.error || res.targets[target]?.error) {
      res.targets[target] ??= { error: srv?.error ?? 'not started' };
      continue;
    }
    if (srv.child?.exited) {
      srv.error = `${target} process exited (code ${srv.child.exitCode}, signal ${srv.child.signal}); output:\n${srv.child.tail.text(40)}`;
      res.targets[target] = { error: srv.error };
      continue;
    }
    const round = (runs[target] ??= { throughput: [], rate: [] });
    process.stdout.write(`bench: ${scn.name} -> ${target} ...`);
    if (!res.targets[target]) {
      const pr = await probe(srv.url, scn, target, ctx.gatewayKey);
      if (!pr.ok) {
        res.targets[target] = { error: `probe failed: ${pr.error}`, probe: pr };
        process.stdout.write(` probe FAILED: ${pr.error.slice(0, 300)}\n`);
        continue;
      }
      res.targets[target] = { probe: pr };
    }
    for (const mode of cfg.modes) {
      try {
        const r = await runLoad({ url: srv.url, mode, scn, target, cfg, cpuPgids: ctx.cpuPgids(target), eldPort: srv.eldPort, rssPgid: srv.child?.pid, gatewayKey: ctx.gatewayKey });
        round[mode].push(r);
        logRun(mode, scn, r);
      } catch (err) {
        if (state.stopping) throw err;
        round[mode].push({ error: err.message });
        process.stdout.write(` ${mode} FAILED`);
        console.error(`\nbench: ${err.message}`);
      }
    }
    process.stdout.write('\n');
  }
  for (const [target, byMode] of Object.entries(runs)) {
    const entry = res.targets[target];
    if (!entry || entry.error) continue;
    for (const mode of cfg.modes) {
      const ok = byMode[mode].filter((r) => !r.error);
      if (ok.length) entry[mode] = aggregate(ok);
      else if (byMode[mode].length) entry[mode] = { error: byMode[mode][0].error };
    }
  }
  if (res.targets.direct && !res.targets.direct.sharedFrom && !res.targets.direct.error) directCache.set(scn.directKey, { scenario: scn.name, entry: res.targets.direct });
}

async function runStreamsScenario(ctx, scn, res) {
  for (const target of ctx.cfg.targets) {
    if (state.stopping) throw new Error('interrupted');
    const srv = ctx.servers[target];
    if (!srv || srv.error || srv.child?.exited) {
      res.targets[target] = { error: srv?.error ?? `${target} is not running` };
      continue;
    }
    process.stdout.write(`bench: ${scn.name} -> ${target} ...`);
    const pr = await probe(srv.url, scn, target, ctx.gatewayKey);
    if (!pr.ok) {
      res.targets[target] = { error: `probe failed: ${pr.error}`, probe: pr };
      process.stdout.write(` probe FAILED: ${pr.error.slice(0, 300)}\n`);
      continue;
    }
    const entry = { probe: pr, idleRssMB: rssMB(srv.child?.pid) };
    res.targets[target] = entry;
    try {
      entry.streams = await runStreams({ url: srv.url, scn, target, cfg: ctx.cfg, cpuPgids: ctx.cpuPgids(target), eldPort: srv.eldPort, rssPgid: srv.child?.pid, gatewayKey: ctx.gatewayKey });
      logRun('streams', scn, entry.streams);
    } catch (err) {
      if (state.stopping) throw err;
      entry.streams = { error: err.message };
      process.stdout.write(' FAILED');
      console.error(`\nbench: ${err.message}`);
    }
    entry.rssAfterMB = rssMB(srv.child?.pid);
    process.stdout.write('\n');
  }
}

async function runSoak(ctx, scn, res) {
  const srv = ctx.servers.gateway;
  if (!srv || srv.error) {
    res.targets.gateway = { error: srv?.error ?? 'the soak runs the gateway only; it is not in BENCH_TARGETS' };
    return;
  }
  process.stdout.write(`bench: ${scn.name} -> gateway (${ctx.cfg.soakSeconds}s) ...`);
  const entry = { idleRssMB: rssMB(srv.child?.pid) };
  res.targets.gateway = entry;
  try {
    entry.rate = await runLoad({
      url: srv.url, mode: 'rate', scn, target: 'gateway', cfg: ctx.cfg, cpuPgids: ctx.cpuPgids('gateway'), eldPort: srv.eldPort, rssPgid: srv.child?.pid,
      gatewayKey: ctx.gatewayKey, duration: ctx.cfg.soakSeconds, rssEveryMs: 10_000,
    });
    logRun('rate', scn, entry.rate);
  } catch (err) {
    entry.rate = { error: err.message };
    console.error(`\nbench: ${err.message}`);
  }
  process.stdout.write('\n');
}

// ------------------------------------------------------------------ main

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const cfg = readConfig();
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  const pin = cfg.pin && cpus >= 2 && spawnSync('taskset', ['-c', '1', 'true']).status === 0;
  setPin(pin);
  if (pin) spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  state.tmpDir = mkdtempSync(join(os.tmpdir(), 'tollgate-bench-'));
  installSignalHandlers(() => state.tmpDir && rmSync(state.tmpDir, { recursive: true, force: true }));

  const scenarios = buildScenarios(cfg);
  console.log(
    `bench: ${scenarios.length} scenarios x [${cfg.targets.join(', ')}], ${cfg.rounds} rounds A B A B; throughput ${cfg.connections} conns ${cfg.duration}s (+${cfg.warmup}s), ` +
      `fixed rate ${cfg.rate} RPS (100 KB ${cfg.largeRate}, 1 MB ${cfg.hugeRate}) ${cfg.duration}s (+${cfg.rateWarmup}s); ~${estimateSeconds(cfg, scenarios)}s`,
  );
  console.log(`bench: node ${process.version}, ${cpus} CPUs (${os.cpus()[0]?.model ?? '?'}), pinning ${pin ? 'on: gateway/passthrough -> core 0, upstream + load -> core 1' : 'off'}`);
  console.log(`bench: passthrough ${cfg.passthroughJson ? 'parses and re-serialises each request body (BENCH_PASSTHROUGH_JSON=0: pipe bytes)' : 'pipes bytes untouched (BENCH_PASSTHROUGH_JSON=0)'}`);
  const meta = { date: new Date().toISOString(), node: process.version, platform: `${os.platform()} ${os.release()}`, cpus, cpuModel: os.cpus()[0]?.model ?? null, pinned: pin, clkTck: CLK_TCK, loadavg: os.loadavg(), config: { ...cfg } };

  // Is something else already using the CPU? (other builds/tests make results noisy)
  {
    const t0 = systemTicks();
    const s0 = process.cpuUsage();
    await sleep(500);
    const s1 = process.cpuUsage(s0);
    const busy = ((systemTicks() - t0) / CLK_TCK - (s1.user + s1.system) / 1e6) / 0.5;
    meta.backgroundCpuPctBefore = Math.max(0, Math.round(busy * 1000) / 10);
    if (busy > 0.15) console.log(`bench: WARNING: other processes are using ${Math.round(busy * 100)}% of a core right now; results will be noisy`);
  }

  const up = await startServer('fake-upstream', 1, 'fake-upstream.mjs', ['--port', '0']);
  const servers = { direct: up };
  if (cfg.targets.includes('passthrough')) {
    servers.passthrough = await startServer('passthrough', 0, 'passthrough.mjs', ['--upstream', up.url, '--port', '0', ...(cfg.passthroughJson ? ['--json'] : [])]);
  }
  let gatewayKey = cfg.gatewayKey;
  if (cfg.targets.includes('gateway')) {
    try {
      if (cfg.gatewayUrl) {
        servers.gateway = { url: cfg.gatewayUrl, eldPort: null, child: null };
        meta.gateway = { url: cfg.gatewayUrl, external: true };
        console.log(`bench: using the running gateway at ${cfg.gatewayUrl} (its api_base must point at ${up.url}); no event-loop or RSS figures for it`);
      } else {
        const gw = await startGateway(cfg, up.port, await freePort());
        servers.gateway = { url: gw.url, eldPort: gw.eldPort, child: gw.child };
        meta.gateway = { command: gw.command, startMs: gw.startMs, printedListening: gw.sawListening, idleRssMB: rssMB(gw.child.pid), config: readFileSync(gw.configPath, 'utf8') };
        console.log(`bench: gateway healthy at ${gw.url} after ${gw.startMs} ms (pid ${gw.child.pid}, idle RSS ${meta.gateway.idleRssMB} MB)`);
      }
      if (!gatewayKey) {
        const vk = await createVirtualKey(servers.gateway.url);
        gatewayKey = vk.key;
        meta.virtualKey = { limits: vk.limits };
        console.log(`bench: virtual key created through /key/generate: ${JSON.stringify(vk.limits)}`);
      }
    } catch (err) {
      servers.gateway = { ...servers.gateway, error: err.message };
      meta.gateway = { ...meta.gateway, error: err.message };
      console.error(`\nbench: ${err.message}\n\nbench: continuing without the gateway.\n`);
    }
  }
  meta.idleRssMB = Object.fromEntries(Object.entries(servers).map(([t, s]) => [t, rssMB(s.child?.pid)]));

  const ctx = {
    cfg,
    servers,
    gatewayKey: gatewayKey ?? MASTER_KEY,
    directCache: new Map(),
    cpuPgids: (target) => ({ upstream: up.child.pid, target: servers[target]?.child?.pid ?? (target === 'direct' ? up.child.pid : undefined) }),
  };

  // JIT and connection warm-up of every server on the first load scenario, discarded.
  const warmScn = scenarios.find((s) => s.kind === 'load');
  if (cfg.prewarm > 0 && warmScn) {
    const warmed = [];
    for (const target of cfg.targets) {
      const srv = servers[target];
      if (!srv || srv.error || !(await probe(srv.url, warmScn, target, ctx.gatewayKey)).ok) continue;
      try {
        await runLoad({ url: srv.url, mode: 'throughput', scn: warmScn, target, cfg, cpuPgids: {}, gatewayKey: ctx.gatewayKey, duration: cfg.prewarm, warmup: 0 });
        warmed.push(target);
      } catch {
        /* reported by the scenario loop */
      }
    }
    if (warmed.length) console.log(`bench: pre-warmed ${warmed.join(', ')} (${cfg.prewarm}s each)`);
  }

  const results = [];
  for (const scn of scenarios) {
    const res = { name: scn.name, label: scn.label, kind: scn.kind, size: scn.size, count: scn.count, rate: scn.rate, connections: scn.connections, path: scn.path, stream: scn.stream, translated: scn.translated, requestBytes: scn.bodies.direct.length, targets: {}, comparisons: {} };
    results.push(res);
    if (scn.kind === 'load') await runLoadScenario(ctx, scn, res);
    else if (scn.kind === 'streams') await runStreamsScenario(ctx, scn, res);
    else await runSoak(ctx, scn, res);
    const t = res.targets;
    const okT = (x) => x && !x.error;
    if (okT(t.gateway) && okT(t.direct)) res.comparisons.gatewayVsDirect = compare(t.gateway, t.direct);
    if (okT(t.gateway) && okT(t.passthrough)) res.comparisons.gatewayVsPassthrough = compare(t.gateway, t.passthrough);
    if (okT(t.passthrough) && okT(t.direct)) res.comparisons.passthroughVsDirect = compare(t.passthrough, t.direct);
    res.targetsMet = evaluateTargets(res);
  }
  if (meta.virtualKey && servers.gateway && !servers.gateway.error) {
    await sleep(1500); // the spend writer flushes every second
    meta.metering = await meteringCheck(servers.gateway.url, gatewayKey);
  }
  meta.rssAfterMB = Object.fromEntries(Object.entries(servers).map(([t, s]) => [t, s.child && !s.child.exited ? rssMB(s.child.pid) : null]));

  for (const res of results) {
    if (res.kind === 'load') printLoadScenario(cfg, res);
    else if (res.kind === 'streams') printStreamsScenario(cfg, res);
    else printSoak(cfg, res);
  }
  printSummary(cfg, results);
  const gwChild = servers.gateway?.child;
  if (gwChild) {
    const errLines = gwChild.tail.lines.filter((l) => l.startsWith('[stderr] '));
    meta.gateway.stderrTail = errLines.slice(-20);
    if (errLines.length) console.log(`\ngateway stderr (last ${Math.min(5, errLines.length)} of ${errLines.length} kept lines):\n${errLines.slice(-5).join('\n')}`);
  }
  const rs = meta.rssAfterMB;
  console.log(`\nRSS idle -> after load: upstream ${fmt(meta.idleRssMB.direct, 1)} -> ${fmt(rs.direct, 1)} MB, passthrough ${fmt(meta.idleRssMB.passthrough, 1)} -> ${fmt(rs.passthrough, 1)} MB, gateway ${fmt(meta.idleRssMB.gateway, 1)} -> ${fmt(rs.gateway, 1)} MB`);
  if (meta.metering) {
    console.log(`metering was live: virtual key spend $${fmt(meta.metering.keySpendUsd, 4)}, litellm_proxy_total_requests_metric ${meta.metering.totalRequestsMetric ?? '-'} (sum over its series)`);
  }
  if (results.some((s) => maxNoise(s) > 15)) meta.noisy = true;

  const outFile = cfg.out ? resolve(cfg.out) : join(BENCH_DIR, 'results', `${meta.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ meta, results }, null, 2) + '\n');
  console.log(`results written to ${outFile}`);

  // Admission cost per shared state (memory, Redis, Postgres): issue 11's figure, after the load runs.
  if (process.env.BENCH_ADMISSION !== '0') {
    const admission = spawnSync(process.execPath, [join(BENCH_DIR, 'admission.mjs')], { stdio: 'inherit', env: process.env });
    if (admission.status !== 0) console.error('bench: the admission benchmark failed (see above)');
  }

  const failed = Object.values(servers).some((s) => s.error) || results.some((s) => Object.values(s.targets).some((x) => x.error || x.throughput?.error || x.rate?.error || x.streams?.error));
  if (failed) console.error('bench: some targets or runs failed (see above); exit code 1');
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (!state.stopping) console.error(err?.isConfigError ? `bench: ${err.message}\n\n${usage()}` : `bench: ${err?.stack ?? err}`);
  code = 1;
} finally {
  await cleanup();
  if (state.tmpDir) rmSync(state.tmpDir, { recursive: true, force: true });
}
process.exit(code);
