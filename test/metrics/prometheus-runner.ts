/**
 * A real Prometheus server for tests: it scrapes the given targets every second, and PromQL is
 * asked through its HTTP API, exactly as an operator's Prometheus would. Used by the metrics tests
 * and reusable for end-to-end tests against a running gateway.
 *
 * Gating: the tests skip (with a printed reason) when no `prometheus` binary is found, except in CI
 * (`CI=true`), where a missing binary is a failure. Install it with `apt-get install -y prometheus`
 * (Debian), or point PROMETHEUS_BIN at a binary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface PrometheusGate {
  /** Absolute path of the binary, when found. */
  bin: string | undefined;
  /** Whether the Prometheus tests should run (true in CI even without a binary, so they fail). */
  run: boolean;
  /** Why they are skipped, for the test log. */
  reason: string | undefined;
}

/** PROMETHEUS_BIN when set (and only it), else Debian's /usr/bin/prometheus, else the PATH. */
export function findPrometheus(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.PROMETHEUS_BIN;
  const candidates = explicit !== undefined && explicit !== '' ? [explicit] : ['/usr/bin/prometheus', ...(env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((dir) => join(dir, 'prometheus'))];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Decide once per test file; prints the reason when skipping so a skipped run is never silent. */
export function prometheusGate(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = console.warn): PrometheusGate {
  const bin = findPrometheus(env);
  if (bin !== undefined) return { bin, run: true, reason: undefined };
  if (env.CI === 'true') return { bin, run: true, reason: undefined };
  const reason = 'no prometheus binary (install with `apt-get install -y prometheus` or set PROMETHEUS_BIN); real-Prometheus tests skipped';
  log(`[prometheus-runner] ${reason}`);
  return { bin, run: false, reason };
}

export interface ScrapeTarget {
  /** `host:port` */
  address: string;
  metricsPath?: string | undefined;
  /** Sent as `Authorization: Bearer …` when /metrics needs a key. */
  bearerToken?: string | undefined;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  url: string;
  /** Instant query; throws on a PromQL error. */
  query(promql: string): Promise<PromSample[]>;
  /** Polls `promql` until `accept` is true for its result (e.g. after the next scrape). */
  waitFor(promql: string, accept: (samples: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  /** Resolves once every target has been scraped successfully at least once. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface StartOptions {
  /** The binary; found with findPrometheus(env) when absent. */
  bin?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  scrapeIntervalSeconds?: number | undefined;
}

export async function startPrometheus(targets: ScrapeTarget[], options: StartOptions = {}): Promise<PrometheusServer> {
  const bin = options.bin ?? findPrometheus(options.env);
  if (bin === undefined) throw new Error('prometheus binary not found: install the Debian package `prometheus` or set PROMETHEUS_BIN (required when CI=true)');
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-prom-'));
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  // Prometheus reads YAML, of which JSON is a subset.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: targets.map((t, i) => ({
      job_name: `target-${i}`,
      scrape_interval: interval,
      scrape_timeout: interval,
      metrics_path: t.metricsPath ?? '/metrics',
      static_configs: [{ targets: [t.address] }],
      ...(t.bearerToken === undefined ? {} : { authorization: { type: 'Bearer', credentials: t.bearerToken } }),
    })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  // Without a listener a spawn failure (e.g. ENOENT) would be an uncaught 'error' event.
  child.on('error', (err) => {
    stderr += `\n${err.message}`;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    await kill(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await poll(async () => (await fetch(`${url}/-/ready`)).ok, 20_000, () => `prometheus did not become ready:\n${stderr}`, child);
  } catch (err) {
    await stop();
    throw err;
  }

  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
    if (body.data.resultType === 'scalar') return [{ metric: {}, value: Number((body.data.result as [number, string])[1]) }];
    const result = body.data.result as { metric: Record<string, string>; value: [number, string] }[];
    return result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  return {
    url,
    query,
    async waitFor(promql, accept, timeoutMs = 15_000) {
      let last: PromSample[] = [];
      await poll(async () => accept((last = await query(promql))), timeoutMs, () => `timed out waiting on ${promql}; last result ${JSON.stringify(last)}`);
      return last;
    },
    async waitForTargetsUp(timeoutMs = 15_000) {
      await poll(
        async () => {
          const res = await fetch(`${url}/api/v1/targets`);
          const body = (await res.json()) as { data: { activeTargets: { health: string }[] } };
          const active = body.data.activeTargets;
          return active.length === targets.length && active.every((t) => t.health === 'up');
        },
        timeoutMs,
        () => `targets not up:\n${stderr}`,
      );
    },
    stop,
  };
}

/** Serves a metrics renderer on 127.0.0.1 (random port) at /metrics, for scraping in tests. */
export async function serveMetrics(render: () => Promise<string>, contentType: string): Promise<{ address: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    render().then(
      (text) => res.writeHead(200, { 'content-type': contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function poll(check: () => Promise<boolean>, timeoutMs: number, message: () => string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child !== undefined && (child.exitCode !== null || child.pid === undefined)) throw new Error(`prometheus exited with code ${child.exitCode}: ${message()}`);
    try {
      if (await check()) return;
    } catch {
      // not listening yet, or a transient error: keep polling until the deadline
    }
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
