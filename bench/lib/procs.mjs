// Child processes of the benchmark (pinned, each in its own process group) and
// /proc sampling of their CPU time and RSS.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(BENCH_DIR, '..');

/** Shared run state: set by run.mjs, read by the signal handlers. */
export const state = { stopping: false, tmpDir: null };

// ------------------------------------------------------------------ processes

const children = new Set();
let cleaningUp = null;

/** Ring buffer of the last lines a child printed. */
export class Tail {
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
export function setPin(on) {
  PIN = on;
}
export const isPinned = () => PIN;

function pinnedCommand(cpu, args) {
  if (PIN && cpu !== null && cpu !== undefined) return { cmd: 'taskset', args: ['-c', String(cpu), process.execPath, ...args] };
  return { cmd: process.execPath, args };
}

/**
 * Spawn a child (node script) on a core. The child gets its own process group
 * so it can be stopped together with anything it forks.
 */
export function startChild(name, cpu, args, { cwd = ROOT, env = process.env, onLine } = {}) {
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

export function signalGroup(child, sig) {
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

export async function stopChild(child, graceMs = 3000) {
  if (child.exited) return;
  signalGroup(child, 'SIGTERM');
  const t = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await child.exitP;
  clearTimeout(t);
}

export function cleanup() {
  cleaningUp ??= Promise.all([...children].map((c) => stopChild(c)));
  return cleaningUp;
}

process.on('exit', () => {
  for (const c of children) signalGroup(c, 'SIGKILL');
});

/** Stop every child on SIGINT/SIGTERM/SIGHUP, run `onStop`, exit. */
export function installSignalHandlers(onStop) {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (state.stopping) return;
      state.stopping = true;
      console.error(`\nbench: ${sig}, stopping child processes...`);
      cleanup().finally(() => {
        onStop();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
      setTimeout(() => process.exit(1), 5000).unref();
    });
  }
}

export function waitForLine(child, regex, timeoutMs) {
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

export function freePort() {
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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ /proc sampling

export const CLK_TCK = (() => {
  try {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const v = Number(r.stdout.trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

export function readStat(pid) {
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
export function groupTicks(pgid) {
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
export function systemTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    return f[0] + f[1] + f[2];
  } catch {
    return 0;
  }
}

export function rssMB(pgid) {
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
