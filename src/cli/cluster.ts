/**
 * `tollgate serve --workers N`: the primary forks N workers that share one port (node:cluster
 * hands connections out round-robin). Each worker is a whole gateway; without Redis they share
 * limits, budgets, cooldowns and admin changes through the primary (see cluster-host.ts), with
 * Redis through Redis. The first worker starts alone, so the database migrations run once; a worker
 * that dies is replaced; SIGTERM is passed to every worker, each drains as a single instance would,
 * and the primary exits 0 once all have.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { LoadedConfig } from '../config/loader.js';
import { createClusterHost, IpcChannel } from '../server.js';

/** `--workers`: a positive integer or `auto` (one per CPU); undefined when not valid. */
export function parseWorkers(value: string | undefined): number | undefined {
  if (value === undefined) return 1;
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 1024 ? n : undefined;
}

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** In a worker: the channel to the primary. */
export function primaryChannel(): IpcChannel {
  return new IpcChannel(process);
}

/** A worker dying sooner than this after its start counts as a crash loop: restarts back off. */
const QUICK_DEATH_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

export async function runPrimary(loaded: LoadedConfig, workers: number, log: (line: string) => void): Promise<number> {
  const host = createClusterHost(loaded);
  // Structured clone keeps undefined fields and large numbers as they are.
  cluster.setupPrimary({ serialization: 'advanced' });
  let stopping = false;
  let firstReady = false;
  let quickDeaths = 0;
  const detach = new Map<Worker, () => void>();
  const bornAt = new Map<Worker, number>();
  const fork = (): Worker => {
    const worker = cluster.fork();
    detach.set(worker, host.attach(new IpcChannel(worker)));
    bornAt.set(worker, Date.now());
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    detach.get(worker)?.();
    detach.delete(worker);
    const age = Date.now() - (bornAt.get(worker) ?? 0);
    bornAt.delete(worker);
    // Before the first worker listens, its failure ends the primary (no replacement).
    if (stopping || !firstReady) return;
    quickDeaths = age < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
    const delay = quickDeaths === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (quickDeaths - 1));
    log(`tollgate: worker ${worker.process.pid} exited (${signal ?? code}); starting another${delay > 0 ? ` in ${delay} ms` : ''}`);
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log(`tollgate: ${signal} received; stopping ${detach.size} workers`);
    const all = [...detach.keys()];
    let failed = false;
    let left = all.length;
    if (left === 0) void host.close().then(() => resolveStopped(0));
    for (const worker of all) {
      worker.once('exit', (code) => {
        if (code !== 0) failed = true;
        if (--left === 0) void host.close().then(() => resolveStopped(failed ? 1 : 0));
      });
      // SIGTERM whatever arrived: a terminal's Ctrl-C has sent the workers SIGINT already.
      worker.process.kill('SIGTERM');
    }
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const first = fork();
  const ready = await new Promise<boolean>((resolve) => {
    first.once('listening', () => resolve(true));
    first.once('exit', () => resolve(false));
  });
  if (!ready) {
    stopping = true;
    await host.close();
    return 1;
  }
  firstReady = true;
  for (let i = 1; i < workers; i++) fork();
  log(`tollgate: ${workers} workers on one port (primary ${process.pid})`);
  return stopped;
}
