#!/usr/bin/env node
// `npm run bench`: direct vs bare passthrough vs Tollgate, on one machine.
//
// Processes (pinned with taskset when available and the machine has >= 2 CPUs):
//   core 1: fake upstream (bench/fake-upstream.mjs), load generator runs, this script
//   core 0: bare passthrough (bench/passthrough.mjs), gateway (node bin/tollgate.js serve)
// Only one server is under load at a time.
//
// For each scenario and target: a closed-loop throughput run, then an open-loop
// fixed-rate run. Prints tables plus gateway/direct and gateway/passthrough
// ratios, and writes bench/results/<timestamp>.json.
//
// Knobs (environment): see usage() below or bench/README.md.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { isLoopbackUrl } from './loadgen.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const GATEWAY_BIN = process.env.BENCH_GATEWAY_BIN ? resolve(process.env.BENCH_GATEWAY_BIN) : join(ROOT, 'bin', 'tollgate.js');
const MASTER_KEY = 'sk-bench-master';
const UPSTREAM_KEY = 'sk-bench';

const ALL_SCENARIOS = ['openai', 'openai-stream', 'anthropic', 'anthropic-stream', 'openai-large'];
const ALL_TARGETS = ['direct', 'passthrough', 'gateway'];
const ALL_MODES = ['throughput', 'rate'];

function usage() {
  return `usage: [ENV=...] node bench/run.mjs      (or: npm run bench)

  BENCH_DURATION=3          measured seconds per run (both modes)
  BENCH_WARMUP=1            discarded warm-up seconds before each throughput run
  BENCH_RATE_WARMUP=0.5     discarded warm-up seconds before each fixed-rate run
  BENCH_RATE=500            offered requests/s in fixed-rate mode
  BENCH_RATE_CONNECTIONS=64 undici pool size in fixed-rate mode
  BENCH_CONNECTIONS=50      concurrent loops in throughput mode
  BENCH_SCENARIOS=...       comma list of ${ALL_SCENARIOS.join(',')}
  BENCH_TARGETS=...         comma list of ${ALL_TARGETS.join(',')}
  BENCH_MODES=...           comma list of ${ALL_MODES.join(',')}
  BENCH_LARGE_KB=200        user-content size of the openai-large scenario
  BENCH_LARGE_RATE=100      offered requests/s for openai-large (default min(BENCH_RATE, 100))
  BENCH_LARGE_ASCII=0       1 makes the large prompt pure ASCII (default has some non-Latin-1 text)
  BENCH_PREWARM=1           seconds of discarded load per target before the first scenario
  BENCH_PIN=1               0 disables taskset pinning
  BENCH_PASSTHROUGH_JSON=0  1 makes the passthrough parse + re-serialise bodies
  BENCH_GATEWAY_URL=        benchmark an already running gateway (loopback) instead of spawning one
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

function envList(name, all) {
  const raw = process.env[name];
  if (!raw) return [...all];
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list) if (!all.includes(s)) throw configError(`${name}: unknown value ${JSON.stringify(s)} (known: ${all.join(', ')})`);
  return all.filter((s) => list.includes(s)); // canonical order
}

function readConfig() {
  const cfg = {
    duration: envNum('BENCH_DURATION', 3, 0.5, 300),
    warmup: envNum('BENCH_WARMUP', 1, 0, 60),
    rateWarmup: envNum('BENCH_RATE_WARMUP', 0.5, 0, 60),
    rate: envNum('BENCH_RATE', 500, 1, 50_000),
    largeRate: null,
    rateConnections: envNum('BENCH_RATE_CONNECTIONS', 64, 1, 1024),
    connections: envNum('BENCH_CONNECTIONS', 50, 1, 1024),
    largeKB: envNum('BENCH_LARGE_KB', 200, 1, 16 * 1024),
    largeAscii: process.env.BENCH_LARGE_ASCII === '1',
    prewarm: envNum('BENCH_PREWARM', 1, 0, 60),
    scenarios: envList('BENCH_SCENARIOS', ALL_SCENARIOS),
    targets: envList('BENCH_TARGETS', ALL_TARGETS),
    modes: envList('BENCH_MODES', ALL_MODES),
    pin: process.env.BENCH_PIN !== '0',
    passthroughJson: process.env.BENCH_PASSTHROUGH_JSON === '1',
    gatewayUrl: process.env.BENCH_GATEWAY_URL || null,
    gatewayArgs: (process.env.BENCH_GATEWAY_ARGS || '').split(/\s+/).filter(Boolean),
    gatewayTimeout: envNum('BENCH_GATEWAY_TIMEOUT', 30, 1, 600),
    out: process.env.BENCH_OUT || null,
  };
  cfg.largeRate = envNum('BENCH_LARGE_RATE', Math.min(cfg.rate, 100), 1, 50_000);
  if (cfg.gatewayUrl) {
    cfg.gatewayUrl = cfg.gatewayUrl.replace(/\/$/, '');
    if (!isLoopbackUrl(cfg.gatewayUrl)) throw configError(`BENCH_GATEWAY_URL must be a loopback http URL, got ${cfg.gatewayUrl}`);
  }
  if (cfg.scenarios.length === 0 || cfg.targets.length === 0 || cfg.modes.length === 0) throw configError('nothing to run');
  return cfg;
}

// ------------------------------------------------------------------ processes

const children = new Set();
let cleaningUp = null;
let stopping = false;

/** Ring buffer of the last lines a child printed. */
class Tail {
  constructor(maxLines = 200) {
    this.lines = [];
    this.max = maxLines;
    this.partial = { stdout: '', stderr: '' };
  }
  push(stream, chunk, onLine) {
    const text = this.partial[stream] + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial[stream] = parts.pop() ?? '';
    if (this.partial[stream].length > 1024 * 1024) {
      parts.push(this.partial[stream]);
      this.partial[stream] = '';
    }
    for (const line of parts) {
      this.lines.push(stream === 'stderr' ? `[stderr] ${line}` : line);
      if (this.lines.length > this.max) this.lines.shift();
      onLine?.(line, stream);
    }
  }
  text(n = 40) {
    const rest = [this.partial.stdout, this.partial.stderr].filter(Boolean);
    return [...this.lines, ...rest].slice(-n).join('\n');
  }
}

let PIN = false;

function pinnedCommand(cpu, args) {
  if (PIN && cpu !== null && cpu !== undefined) return { cmd: 'taskset', args: ['-c', String(cpu), process.execPath, ...args] };
  return { cmd: process.execPath, args };
}

/**
 * Spawn a child (node script) on a core. The child gets its own process group
 * so it can be stopped together with anything it forks.
 */
function startChild(name, cpu, args, { cwd = ROOT, env = process.env, onLine } = {}) {
  const { cmd, args: argv } = pinnedCommand(cpu, args);
  const proc = spawn(cmd, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const child = { name, proc, pid: proc.pid, tail: new Tail(), exited: false, exitCode: null, signal: null };
  const exitP = new Promise((r) => {
    proc.on('exit', (code, signal) => {
      child.exited = true;
      child.exitCode = code;
      child.signal = signal;
    });
    // 'close' comes after 'exit' once stdout/stderr are drained
    proc.on('close', (code, signal) => {
      child.exited = true;
      child.exitCode ??= code;
      child.signal ??= signal;
      children.delete(child);
      r();
    });
    proc.on('error', (err) => {
      child.exited = true;
      child.spawnError = err;
      children.delete(child);
      r();
    });
  });
  child.exitP = exitP;
  const lineHandler = (line, stream) => {
    onLine?.(line, stream);
    child.onLineHook?.(line, stream);
  };
  proc.stdout.on('data', (c) => child.tail.push('stdout', c, lineHandler));
  proc.stderr.on('data', (c) => child.tail.push('stderr', c, lineHandler));
  children.add(child);
  return child;
}

function signalGroup(child, sig) {
  if (child.exited || !child.pid) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      process.kill(child.pid, sig);
    } catch {
      /* already gone */
    }
  }
}

async function stopChild(child, graceMs = 3000) {
  if (child.exited) return;
  signalGroup(child, 'SIGTERM');
  const t = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await child.exitP;
  clearTimeout(t);
}

function cleanup() {
  cleaningUp ??= Promise.all([...children].map((c) => stopChild(c)));
  return cleaningUp;
}

process.on('exit', () => {
  for (const c of children) signalGroup(c, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    console.error(`\nbench: ${sig}, stopping child processes...`);
    cleanup().finally(() => {
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
    setTimeout(() => process.exit(1), 5000).unref();
  });
}

function waitForLine(child, regex, timeoutMs) {
  return new Promise((resolveP, rejectP) => {
    const found = child.tail.lines.find((l) => regex.test(l));
    if (found) return resolveP(found);
    let settled = false;
    const timer = setTimeout(() => done(new Error(`${child.name}: no line matching ${regex} within ${timeoutMs} ms\n${child.tail.text(20)}`)), timeoutMs);
    const onExit = () =>
      done(new Error(`${child.name} exited (code ${child.exitCode}, signal ${child.signal}) before becoming ready:\n${child.tail.text(20)}`));
    void child.exitP.then(onExit);
    function done(err, line) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.onLineHook = null;
      if (err) rejectP(err);
      else resolveP(line);
    }
    child.onLineHook = (line) => {
      if (regex.test(line)) done(null, line);
    };
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ /proc sampling

const CLK_TCK = (() => {
  try {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const v = Number(r.stdout.trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] = state (field 3); pgrp = field 5; utime = 14; stime = 15
    return { pgrp: Number(rest[2]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null;
  }
}

/** CPU ticks of every process in a process group (the child and what it forked). */
function groupTicks(pgid) {
  if (!pgid) return 0;
  let total = 0;
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    const st = readStat(e);
    if (st && st.pgrp === pgid) total += st.ticks;
  }
  return total;
}

/** user + nice + system ticks of the whole machine (all CPUs). */
function systemTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    return f[0] + f[1] + f[2];
  } catch {
    return 0;
  }
}

function rssMB(pgid) {
  if (!pgid) return null;
  let kb = 0;
  let found = false;
  for (const e of readdirSync('/proc')) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    const st = readStat(e);
    if (!st || st.pgrp !== pgid) continue;
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${e}/status`, 'utf8'));
      if (m) {
        kb += Number(m[1]);
        found = true;
      }
    } catch {
      /* gone */
    }
  }
  return found ? Math.round(kb / 102.4) / 10 : null;
}

// ------------------------------------------------------------------ scenarios

const SYSTEM = 'You are a concise assistant. Answer in one short sentence.';
const USER = 'Say hello to the benchmark and mention one fact about latency.';

function largeText(kb, ascii) {
  // Pasted documents usually carry some non-Latin-1 text (smart quotes, symbols),
  // which makes UTF-8 decoding and JSON parsing noticeably dearer than pure ASCII.
  const para =
    'Latency budgets for an LLM gateway are measured in microseconds per request, not milliseconds; ' +
    (ascii
      ? 'every copy, parse and re-serialisation of a prompt shows up in the p99. Unicode "quotes" and \\ backslashes. '
      : 'every copy, parse and re-serialisation of a prompt shows up in the p99. Ünïcödé ✓ “quotes” and \\ backslashes. ');
  const target = kb * 1024;
  let s = '';
  let i = 0;
  while (s.length < target) s += `[${i++}] ${para}\n`;
  return s.slice(0, target);
}

function buildScenarios(cfg) {
  const large = largeText(cfg.largeKB, cfg.largeAscii);
  const openaiBody = (model, { stream = false, user = USER } = {}) =>
    JSON.stringify({
      model,
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: user },
      ],
      max_tokens: 64,
      temperature: 0,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
  const anthropicBody = (model, { stream = false } = {}) =>
    JSON.stringify({
      model,
      system: SYSTEM,
      messages: [{ role: 'user', content: USER }],
      max_tokens: 64,
      temperature: 0,
      ...(stream ? { stream: true } : {}),
    });
  const oa = { direct: 'gpt-4o-mini', gateway: 'bench-openai' };
  const an = { direct: 'claude-sonnet-4-5', gateway: 'bench-anthropic' };
  const defs = {
    openai: { label: 'OpenAI chat, non-stream', api: 'openai', stream: false, body: (m) => openaiBody(m) },
    'openai-stream': { label: 'OpenAI chat, stream + include_usage', api: 'openai', stream: true, body: (m) => openaiBody(m, { stream: true }) },
    anthropic: { label: 'Anthropic messages, non-stream', api: 'anthropic', stream: false, body: (m) => anthropicBody(m) },
    'anthropic-stream': { label: 'Anthropic messages, stream', api: 'anthropic', stream: true, body: (m) => anthropicBody(m, { stream: true }) },
    'openai-large': {
      label: `OpenAI chat, non-stream, ${cfg.largeKB} KB ${cfg.largeAscii ? 'ASCII' : 'mixed-script'} prompt`,
      rate: cfg.largeRate,
      api: 'openai',
      stream: false,
      body: (m) => openaiBody(m, { user: large }),
    },
  };
  const out = [];
  for (const name of cfg.scenarios) {
    const d = defs[name];
    const models = d.api === 'openai' ? oa : an;
    out.push({
      name,
      rate: cfg.rate,
      ...d,
      path: d.api === 'openai' ? '/v1/chat/completions' : '/v1/messages',
      expect: d.stream ? (d.api === 'openai' ? '[DONE]' : 'message_stop') : null,
      bodies: {
        direct: Buffer.from(d.body(models.direct)),
        gateway: Buffer.from(d.body(models.gateway)),
      },
    });
  }
  return out;
}

function headersFor(scn, target) {
  const h = { 'content-type': 'application/json' };
  if (target === 'gateway') {
    h.authorization = `Bearer ${MASTER_KEY}`;
    if (scn.api === 'anthropic') h['anthropic-version'] = '2023-06-01';
  } else if (scn.api === 'openai') {
    h.authorization = `Bearer ${UPSTREAM_KEY}`;
  } else {
    h['x-api-key'] = UPSTREAM_KEY;
    h['anthropic-version'] = '2023-06-01';
  }
  return h;
}

/** One request per target before loading it: catches broken routes early. */
async function probe(baseUrl, scn, target) {
  const body = target === 'gateway' ? scn.bodies.gateway : scn.bodies.direct;
  const warnings = [];
  let res;
  try {
    res = await request(baseUrl + scn.path, {
      method: 'POST',
      headers: headersFor(scn, target),
      body,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
  } catch (err) {
    return { ok: false, error: `request failed: ${err.code ?? ''} ${err.message}` };
  }
  const text = await res.body.text();
  const ct = String(res.headers['content-type'] ?? '');
  if (res.statusCode < 200 || res.statusCode >= 300) return { ok: false, error: `HTTP ${res.statusCode}: ${text.slice(0, 500)}` };
  if (!scn.stream) {
    let j;
    try {
      j = JSON.parse(text);
    } catch {
      return { ok: false, error: `non-JSON body (${ct}): ${text.slice(0, 300)}` };
    }
    if (scn.api === 'openai') {
      if (typeof j?.choices?.[0]?.message?.content !== 'string') warnings.push('no choices[0].message.content');
      if (typeof j?.usage?.prompt_tokens !== 'number') warnings.push('no usage.prompt_tokens');
    } else {
      if (!Array.isArray(j?.content)) warnings.push('no content[]');
      if (typeof j?.usage?.input_tokens !== 'number') warnings.push('no usage.input_tokens');
      if (typeof j?.usage?.cache_read_input_tokens !== 'number') warnings.push('no usage.cache_read_input_tokens');
    }
  } else {
    if (!ct.includes('text/event-stream')) warnings.push(`content-type is ${ct || '(none)'}`);
    if (scn.api === 'openai') {
      if (!text.includes('data: [DONE]')) return { ok: false, error: `stream did not end with data: [DONE]: ...${text.slice(-300)}` };
      if (!/"usage":\{"prompt_tokens"|"usage":\s*\{[^}]*"prompt_tokens"/.test(text)) warnings.push('no usage chunk in stream');
      const n = (text.match(/"delta":\{"content"/g) ?? []).length;
      if (n === 0 && !text.includes('"content"')) warnings.push('no content deltas');
    } else {
      for (const ev of ['message_start', 'content_block_delta', 'message_delta', 'message_stop']) {
        if (!text.includes(`event: ${ev}`)) warnings.push(`no ${ev} event`);
      }
      if (!text.includes('message_stop')) return { ok: false, error: `stream has no message_stop: ...${text.slice(-300)}` };
    }
  }
  return { ok: true, status: res.statusCode, bytes: Buffer.byteLength(text), warnings };
}

// ------------------------------------------------------------------ load runs

let tmpDir = null;

async function runLoadChild({ url, mode, scn, target, cfg, cpuPgids, duration, warmup }) {
  const dur = duration ?? cfg.duration;
  const wu = warmup ?? (mode === 'rate' ? cfg.rateWarmup : cfg.warmup);
  const body = target === 'gateway' ? scn.bodies.gateway : scn.bodies.direct;
  const bodyFile = join(tmpDir, `${scn.name}-${target === 'gateway' ? 'gw' : 'direct'}.json`);
  if (!existsSync(bodyFile)) writeFileSync(bodyFile, body);
  const args = [
    join(BENCH_DIR, 'loadgen.mjs'),
    '--json',
    '--markers',
    '--url',
    url + scn.path,
    '--mode',
    mode,
    '--duration',
    String(dur),
    '--warmup',
    String(wu),
    '--connections',
    String(mode === 'rate' ? cfg.rateConnections : cfg.connections),
    '--body-file',
    bodyFile,
    '--drain-ms',
    '10000',
  ];
  if (mode === 'rate') args.push('--rate', String(scn.rate));
  if (scn.expect) args.push('--expect', scn.expect);
  for (const [k, v] of Object.entries(headersFor(scn, target))) args.push('--header', `${k}: ${v}`);

  const cpu = {};
  let startTicks = null;
  let stdout = '';
  const sample = () => {
    const o = Object.fromEntries(Object.entries(cpuPgids).map(([k, pg]) => [k, groupTicks(pg)]));
    const self = process.cpuUsage();
    o._self = ((self.user + self.system) / 1e6) * CLK_TCK;
    o._system = systemTicks();
    return o;
  };
  const child = startChild(`loadgen(${scn.name},${target},${mode})`, 1, args, {
    onLine: (line, stream) => {
      if (stream === 'stdout') {
        stdout += line + '\n';
        return;
      }
      if (line === '@@window-start') startTicks = sample();
      else if (line === '@@window-end' && startTicks) {
        const end = sample();
        for (const k of Object.keys(end)) cpu[k] = (end[k] - startTicks[k]) / CLK_TCK;
      }
    },
  });
  cpuPgids.loadgen = child.pid;
  const limitMs = (wu + dur) * 1000 + 30_000;
  const killer = setTimeout(() => signalGroup(child, 'SIGKILL'), limitMs);
  await child.exitP;
  clearTimeout(killer);
  delete cpuPgids.loadgen;
  stdout += child.tail.partial.stdout;
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (child.exitCode !== 0 || !line) {
    throw new Error(`load generator failed (code ${child.exitCode}, signal ${child.signal}):\n${child.tail.text(20)}`);
  }
  const r = JSON.parse(line);
  // CPU seconds used over the measured window, per process, as % of one core and µs per OK request
  const okInWindow = r.mode === 'throughput' ? r.ok : r.rps * r.duration;
  r.cpu = {};
  if (cpu._system !== undefined) {
    // CPU used during the window by processes other than ours: noise indicator.
    let ours = (cpu.upstream ?? 0) + (cpu.loadgen ?? 0) + cpu._self;
    if (cpuPgids.target !== undefined && cpuPgids.target !== cpuPgids.upstream) ours += cpu.target ?? 0;
    r.otherCpuPct = Math.max(0, Math.round(((cpu._system - ours) / r.duration) * 1000) / 10);
    delete cpu._system;
    delete cpu._self;
  }
  for (const [k, secs] of Object.entries(cpu)) {
    r.cpu[k] = {
      pctOfCore: Math.round((secs / r.duration) * 1000) / 10,
      usPerReq: okInWindow > 0 ? Math.round((secs * 1e6) / okInWindow) : null,
    };
  }
  return r;
}

// ------------------------------------------------------------------ gateway

function gatewayConfigYaml(upPort) {
  // A database of its own in the temp dir: the bench must not write into ./data of the checkout.
  return `# generated by bench/run.mjs
model_list:
  - model_name: bench-openai
    litellm_params: { model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:${upPort}/v1", api_key: ${UPSTREAM_KEY} }
  - model_name: bench-anthropic
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "http://127.0.0.1:${upPort}", api_key: ${UPSTREAM_KEY} }
general_settings: { master_key: ${MASTER_KEY}, database_url: "${join(tmpDir, 'tollgate-bench.db')}" }
`;
}

async function startGateway(cfg, upPort) {
  if (!existsSync(GATEWAY_BIN)) {
    throw new Error(`gateway entry point ${GATEWAY_BIN} does not exist (is the gateway written yet?)`);
  }
  const configPath = join(tmpDir, 'tollgate-bench.yaml');
  writeFileSync(configPath, gatewayConfigYaml(upPort));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [GATEWAY_BIN, 'serve', '--config', configPath, '--port', String(port), ...cfg.gatewayArgs];
  // HOST: bind the gateway to loopback only (its CLI reads $HOST as the --host default).
  const env = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production', HOST: process.env.HOST ?? '127.0.0.1' };
  const t0 = Date.now();
  let sawListening = false;
  const gw = startChild('gateway', 0, args, {
    env,
    onLine: (line) => {
      if (/listening/i.test(line)) sawListening = true;
    },
  });
  const showCmd = `node ${[GATEWAY_BIN.startsWith(ROOT + '/') ? GATEWAY_BIN.slice(ROOT.length + 1) : GATEWAY_BIN, ...args.slice(1)].join(' ')}`;
  const deadline = t0 + cfg.gatewayTimeout * 1000;
  let lastErr = 'no response yet';
  while (Date.now() < deadline) {
    if (gw.exited) break;
    try {
      const res = await request(`${url}/health/liveliness`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
        headersTimeout: 2000,
        bodyTimeout: 2000,
      });
      const text = await res.body.text();
      if (res.statusCode === 200) {
        return { child: gw, url, port, configPath, startMs: Date.now() - t0, sawListening, command: showCmd, health: text.slice(0, 200) };
      }
      lastErr = `GET /health/liveliness -> HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
    } catch (err) {
      lastErr = `GET /health/liveliness -> ${err.code ?? err.message}`;
    }
    await sleep(100);
  }
  const timedOut = !gw.exited;
  if (timedOut) await stopChild(gw);
  else await gw.exitP; // let the last output arrive
  const why = timedOut
    ? `not healthy after ${cfg.gatewayTimeout}s (${lastErr}; printed "listening": ${sawListening}); stopped it`
    : gw.spawnError
    ? `could not spawn: ${gw.spawnError.message}`
    : gw.exitCode !== null || gw.signal
      ? `exited with code ${gw.exitCode}${gw.signal ? `, signal ${gw.signal}` : ''}`
      : `exited early`;
  const err = new Error(
    `gateway failed to start: ${why}\n  command: ${showCmd}\n  cwd: ${ROOT}\n  config:\n${readFileSync(configPath, 'utf8').replace(/^/gm, '    ')}\n  output (last 40 lines):\n${gw.tail.text(40).replace(/^/gm, '    ') || '    (none)'}`,
  );
  throw err;
}

// ------------------------------------------------------------------ reporting

const fmt = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : typeof v === 'number' ? v.toFixed(d) : String(v));
const fmtInt = (v) => (v === null || v === undefined ? '-' : Math.round(v).toString());
const signed = (v) => (v === null || v === undefined ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);

function table(headers, rows, align) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (align?.[i] === 'l' ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function cpuCell(r, key) {
  const c = r?.cpu?.[key];
  return c && c.usPerReq !== null ? `${c.usPerReq}` : '-';
}

function compare(a, b) {
  // a = gateway, b = reference
  const o = {};
  if (a?.throughput && b?.throughput) {
    o.rpsRatio = b.throughput.rps > 0 ? Math.round((a.throughput.rps / b.throughput.rps) * 1000) / 1000 : null;
    if (a.throughput.latency && b.throughput.latency) o.throughputP50AddedMs = round2(a.throughput.latency.p50 - b.throughput.latency.p50);
  }
  if (a?.rate?.latency && b?.rate?.latency) {
    o.addedP50Ms = round2(a.rate.latency.p50 - b.rate.latency.p50);
    o.addedP99Ms = round2(a.rate.latency.p99 - b.rate.latency.p99);
    if (a.rate.ttfb && b.rate.ttfb) o.addedTtfbP50Ms = round2(a.rate.ttfb.p50 - b.rate.ttfb.p50);
  }
  return o;
}
const round2 = (x) => Math.round(x * 100) / 100;

function cmpLine(label, c) {
  if (!c || Object.keys(c).length === 0) return `  ${label}: n/a`;
  const parts = [];
  if (c.rpsRatio !== undefined) parts.push(`RPS ${fmt(c.rpsRatio)}x`);
  if (c.addedP50Ms !== undefined) parts.push(`p50 ${signed(c.addedP50Ms)} ms`);
  if (c.addedP99Ms !== undefined) parts.push(`p99 ${signed(c.addedP99Ms)} ms`);
  if (c.addedTtfbP50Ms !== undefined) parts.push(`TTFB p50 ${signed(c.addedTtfbP50Ms)} ms`);
  return `  ${label}: ${parts.join('   ')}`;
}

function printScenario(cfg, scn, res) {
  const rows = [];
  const pct = (r, k) => (r?.cpu?.[k] ? r.cpu[k].pctOfCore.toFixed(0) : '-');
  const core1 = (r) => (r?.cpu?.upstream && r?.cpu?.loadgen ? (r.cpu.upstream.pctOfCore + r.cpu.loadgen.pctOfCore).toFixed(0) : '-');
  for (const t of cfg.targets) {
    const r = res.targets[t];
    if (!r) continue;
    if (r.error) {
      rows.push([t, 'FAILED', ...Array(12).fill('')]);
      continue;
    }
    const th = r.throughput;
    const ra = r.rate;
    const cpuKey = t === 'direct' ? 'upstream' : 'target';
    rows.push([
      t,
      th ? fmtInt(th.rps) : '-',
      fmt(th?.latency?.p50),
      fmt(th?.latency?.p99),
      pct(th, cpuKey),
      cpuCell(th, cpuKey),
      core1(th),
      ra ? fmtInt(ra.rps) : '-',
      fmt(ra?.latency?.p50),
      fmt(ra?.latency?.p90),
      fmt(ra?.latency?.p99),
      fmt(ra?.ttfb?.p50),
      fmt(ra?.ttfb?.p99),
      String((th?.errors ?? 0) + (ra?.errors ?? 0)),
    ]);
  }
  console.log(`\n== ${scn.name}: ${scn.label} (request ${(scn.bodies.direct.length / 1024).toFixed(1)} KB) ==`);
  console.log(`   [closed loop, ${cfg.connections} conns: thr RPS .. core1 %]   [open loop at ${scn.rate} RPS offered: rate RPS .. TTFB p99]`);
  console.log(
    table(
      ['target', 'thr RPS', 'p50 ms', 'p99 ms', 'srv cpu%', 'srv us/req', 'core1 %', `rate RPS`, 'p50 ms', 'p90 ms', 'p99 ms', 'TTFB p50', 'TTFB p99', 'errors'],
      rows,
      ['l'],
    ),
  );
  for (const t of cfg.targets) {
    const r = res.targets[t];
    if (r?.error) console.log(`  ${t} FAILED: ${r.error.split('\n')[0]}`);
    for (const w of r?.probe?.warnings ?? []) console.log(`  ${t} probe warning: ${w}`);
    for (const m of ['throughput', 'rate']) {
      const x = r?.[m];
      if (x?.errors) console.log(`  ${t} ${m}: ${x.errors} errors ${JSON.stringify(x.errorKinds)} e.g. ${String(x.errorSample).slice(0, 200)}`);
      if (x?.unfinished) console.log(`  ${t} ${m}: ${x.unfinished} requests still in flight after the drain (overloaded)`);
    }
  }
  const noise = [];
  for (const t of cfg.targets) {
    const r = res.targets[t];
    const v = ['throughput', 'rate'].map((m) => r?.[m]?.otherCpuPct).filter((x) => typeof x === 'number');
    if (v.length) noise.push(`${t} ${v.map((x) => x.toFixed(0)).join('/')}`);
  }
  if (maxNoise(res) > 15) console.log(`  NOISY: other processes used CPU during the windows (% of a core, thr/rate): ${noise.join(', ')}`);
  if (res.comparisons.gatewayVsDirect) console.log(cmpLine('gateway/direct     ', res.comparisons.gatewayVsDirect));
  if (res.comparisons.gatewayVsPassthrough) console.log(cmpLine('gateway/passthrough', res.comparisons.gatewayVsPassthrough));
  if (res.comparisons.passthroughVsDirect) console.log(cmpLine('passthrough/direct ', res.comparisons.passthroughVsDirect));
}

function maxNoise(res) {
  let m = 0;
  for (const r of Object.values(res.targets)) for (const k of ['throughput', 'rate']) m = Math.max(m, r?.[k]?.otherCpuPct ?? 0);
  return m;
}

function printSummary(cfg, results) {
  const rows = [];
  for (const s of results) {
    const g = s.comparisons.gatewayVsDirect ?? {};
    const p = s.comparisons.gatewayVsPassthrough ?? {};
    const gw = s.targets.gateway;
    rows.push([
      s.name,
      gw && !gw.error ? fmtInt(gw.throughput?.rps) : gw?.error ? 'FAILED' : '-',
      fmt(g.rpsRatio),
      fmt(p.rpsRatio),
      signed(g.addedP50Ms),
      signed(g.addedP99Ms),
      signed(g.addedTtfbP50Ms),
      signed(p.addedP50Ms),
      signed(p.addedP99Ms),
      signed(p.addedTtfbP50Ms),
      gw && !gw.error ? cpuCell(gw.throughput, 'target') : '-',
      maxNoise(s).toFixed(0),
    ]);
  }
  console.log(`\n== summary: gateway vs direct (d) and vs passthrough (p); added ms at the fixed rate (${cfg.rate} RPS, openai-large ${cfg.largeRate} RPS) ==`);
  console.log(
    table(['scenario', 'gw RPS', 'RPS/d', 'RPS/p', 'p50 +d', 'p99 +d', 'TTFB +d', 'p50 +p', 'p99 +p', 'TTFB +p', 'gw us/req', 'noise %'], rows, ['l']),
  );
  if (results.some((s) => maxNoise(s) > 15)) {
    console.log('noise %: most CPU that processes other than the benchmark used during any window of the scenario (% of one core); above ~15 the figures are unreliable.');
  }
}

// ------------------------------------------------------------------ main

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const cfg = readConfig();
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  PIN = cfg.pin && cpus >= 2 && spawnSync('taskset', ['-c', '1', 'true']).status === 0;
  if (PIN) spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  tmpDir = mkdtempSync(join(os.tmpdir(), 'tollgate-bench-'));

  const perPair = (cfg.modes.includes('throughput') ? cfg.warmup + cfg.duration + 0.3 : 0) + (cfg.modes.includes('rate') ? cfg.rateWarmup + cfg.duration + 0.3 : 0);
  const estimate = Math.round(perPair * cfg.scenarios.length * cfg.targets.length + 3);
  console.log(
    `bench: ${cfg.scenarios.length} scenarios x ${cfg.targets.length} targets x [${cfg.modes.join(', ')}]; ` +
      `throughput ${cfg.connections} conns ${cfg.duration}s (+${cfg.warmup}s warm-up), rate ${cfg.rate} RPS (large ${cfg.largeRate}) ${cfg.duration}s (+${cfg.rateWarmup}s) over ${cfg.rateConnections} conns; ~${estimate}s`,
  );
  console.log(
    `bench: node ${process.version}, ${cpus} CPUs (${os.cpus()[0]?.model ?? '?'}), pinning ${PIN ? 'on: gateway/passthrough -> core 0, upstream + load -> core 1' : 'off'}`,
  );

  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus,
    cpuModel: os.cpus()[0]?.model ?? null,
    pinned: PIN,
    clkTck: CLK_TCK,
    config: { ...cfg },
  };

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

  // upstream
  const up = startChild('fake-upstream', 1, [join(BENCH_DIR, 'fake-upstream.mjs'), '--port', '0']);
  const upLine = await waitForLine(up, /fake-upstream listening/, 10_000);
  const upPort = JSON.parse(upLine.slice(upLine.indexOf('{'))).port;
  const upstreamUrl = `http://127.0.0.1:${upPort}`;

  const bases = { direct: upstreamUrl };
  const targetErrors = {};
  const procs = {};

  if (cfg.targets.includes('passthrough')) {
    const ptArgs = [join(BENCH_DIR, 'passthrough.mjs'), '--upstream', upstreamUrl, '--port', '0'];
    if (cfg.passthroughJson) ptArgs.push('--json');
    const pt = startChild('passthrough', 0, ptArgs);
    const ptLine = await waitForLine(pt, /passthrough listening/, 10_000);
    bases.passthrough = `http://127.0.0.1:${JSON.parse(ptLine.slice(ptLine.indexOf('{'))).port}`;
    procs.passthrough = pt;
  }

  let gateway = null;
  if (cfg.targets.includes('gateway')) {
    if (cfg.gatewayUrl) {
      bases.gateway = cfg.gatewayUrl;
      meta.gateway = { url: cfg.gatewayUrl, external: true };
      console.log(`bench: using the running gateway at ${cfg.gatewayUrl} (its api_base must point at ${upstreamUrl}: start it yourself with that config)`);
    } else {
      try {
        gateway = await startGateway(cfg, upPort);
        bases.gateway = gateway.url;
        procs.gateway = gateway.child;
        meta.gateway = {
          command: gateway.command,
          startMs: gateway.startMs,
          printedListening: gateway.sawListening,
          idleRssMB: rssMB(gateway.child.pid),
          config: readFileSync(gateway.configPath, 'utf8'),
        };
        console.log(`bench: gateway healthy at ${gateway.url} after ${gateway.startMs} ms (pid ${gateway.child.pid}, idle RSS ${meta.gateway.idleRssMB} MB)`);
      } catch (err) {
        targetErrors.gateway = err.message;
        meta.gateway = { error: err.message };
        console.error(`\nbench: ${err.message}\n\nbench: continuing without the gateway.\n`);
      }
    }
  }

  const scenarios = buildScenarios(cfg);
  const results = [];

  // JIT/connection warm-up of every server on the first scenario, discarded.
  if (cfg.prewarm > 0) {
    for (const target of cfg.targets) {
      if (targetErrors[target] || !bases[target]) continue;
      const pr = await probe(bases[target], scenarios[0], target);
      if (!pr.ok) continue; // reported by the scenario loop
      try {
        await runLoadChild({
          url: bases[target],
          mode: 'throughput',
          scn: scenarios[0],
          target,
          cfg,
          cpuPgids: {},
          duration: cfg.prewarm,
          warmup: 0,
        });
      } catch {
        /* reported by the scenario loop */
      }
    }
    const warmed = cfg.targets.filter((t) => bases[t] && !targetErrors[t]);
    if (warmed.length) console.log(`bench: pre-warmed ${warmed.join(', ')} (${cfg.prewarm}s each)`);
  }
  for (const scn of scenarios) {
    const res = { name: scn.name, label: scn.label, rate: scn.rate, path: scn.path, stream: scn.stream, requestBytes: scn.bodies.direct.length, targets: {}, comparisons: {} };
    results.push(res);
    for (const target of cfg.targets) {
      if (stopping) throw new Error('interrupted');
      if (targetErrors[target]) {
        res.targets[target] = { error: targetErrors[target] };
        continue;
      }
      const base = bases[target];
      const proc = procs[target];
      if (proc?.exited) {
        const msg = `${target} process exited (code ${proc.exitCode}, signal ${proc.signal}); output:\n${proc.tail.text(40)}`;
        targetErrors[target] = msg;
        res.targets[target] = { error: msg };
        console.error(`bench: ${msg}`);
        continue;
      }
      process.stdout.write(`bench: ${scn.name} -> ${target} ...`);
      const pr = await probe(base, scn, target);
      if (!pr.ok) {
        res.targets[target] = { error: `probe failed: ${pr.error}`, probe: pr };
        process.stdout.write(` probe FAILED: ${pr.error.slice(0, 300)}\n`);
        continue;
      }
      const entry = { probe: pr };
      res.targets[target] = entry;
      const cpuPgids = { upstream: up.pid };
      if (proc) cpuPgids.target = proc.pid;
      else if (target === 'direct') cpuPgids.target = up.pid;
      for (const mode of cfg.modes) {
        if (stopping) throw new Error('interrupted');
        try {
          entry[mode] = await runLoadChild({ url: base, mode, scn, target, cfg, cpuPgids });
          const r = entry[mode];
          process.stdout.write(
            mode === 'throughput'
              ? ` ${Math.round(r.rps)} rps (p50 ${fmt(r.latency?.p50)} ms)`
              : ` | @${scn.rate}: p50 ${fmt(r.latency?.p50)} p99 ${fmt(r.latency?.p99)} ms`,
          );
          if (r.errors) process.stdout.write(` [${r.errors} errors]`);
        } catch (err) {
          if (stopping) throw err;
          entry[mode] = { error: err.message };
          process.stdout.write(` ${mode} FAILED`);
          console.error(`\nbench: ${err.message}`);
        }
      }
      process.stdout.write('\n');
    }
    const t = res.targets;
    const okT = (x) => x && !x.error;
    if (okT(t.gateway) && okT(t.direct)) res.comparisons.gatewayVsDirect = compare(t.gateway, t.direct);
    if (okT(t.gateway) && okT(t.passthrough)) res.comparisons.gatewayVsPassthrough = compare(t.gateway, t.passthrough);
    if (okT(t.passthrough) && okT(t.direct)) res.comparisons.passthroughVsDirect = compare(t.passthrough, t.direct);
  }

  meta.rssAfterMB = {
    upstream: rssMB(up.pid),
    passthrough: procs.passthrough ? rssMB(procs.passthrough.pid) : null,
    gateway: procs.gateway && !procs.gateway.exited ? rssMB(procs.gateway.pid) : null,
  };

  for (let i = 0; i < results.length; i++) printScenario(cfg, scenarios[i], results[i]);
  if (cfg.targets.includes('gateway')) printSummary(cfg, results);
  if (procs.gateway) {
    const errLines = procs.gateway.tail.lines.filter((l) => l.startsWith('[stderr] '));
    meta.gateway.stderrTail = errLines.slice(-20);
    if (errLines.length) console.log(`\ngateway stderr (last ${Math.min(5, errLines.length)} of ${errLines.length} kept lines):\n${errLines.slice(-5).join('\n')}`);
  }
  console.log(
    `\nRSS after load: upstream ${fmt(meta.rssAfterMB.upstream, 1)} MB, passthrough ${fmt(meta.rssAfterMB.passthrough, 1)} MB, gateway ${fmt(meta.rssAfterMB.gateway, 1)} MB`,
  );

  const outFile = cfg.out ? resolve(cfg.out) : join(BENCH_DIR, 'results', `${meta.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ meta, results }, null, 2) + '\n');
  console.log(`results written to ${outFile}`);

  const failed = Object.keys(targetErrors).length > 0 || results.some((s) => Object.values(s.targets).some((x) => x.error || x.throughput?.error || x.rate?.error));
  if (failed) console.error('bench: some targets or runs failed (see above); exit code 1');
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (!stopping) console.error(err?.isConfigError ? `bench: ${err.message}\n\n${usage()}` : `bench: ${err?.stack ?? err}`);
  code = 1;
} finally {
  await cleanup();
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
}
process.exit(code);
