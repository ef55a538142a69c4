/**
 * deploy/prometheus/alerts.yml and deploy/grafana/dashboards/*.json against a real Prometheus that
 * scrapes a live gateway every second: promtool accepts the rules; every panel query of every
 * dashboard returns data for the traffic of test/deploy/scenario.ts; and every alert fires, on the
 * series it is about, once its `for` is shortened to 0s (two latency thresholds are lowered too:
 * a test cannot wait 30 s for one request — and the rules as written are shown not to fire).
 *
 * Skips with a printed reason without a `prometheus` binary; in CI (CI=true) that is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort, prometheusGate } from '../metrics/prometheus-runner.js';
import { scrape, total } from '../metrics/helpers.js';
import { startScenario, type Scenario } from './scenario.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = join(ROOT, 'deploy/prometheus/alerts.yml');
const DASHBOARDS = join(ROOT, 'deploy/grafana/dashboards');
const gate = prometheusGate();

interface Rule { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleFile { groups: { name: string; rules: Rule[] }[] }
interface Sample { metric: Record<string, string>; value: [number, string] }
interface Alert { labels: Record<string, string>; state: string }

const ruleFile = parse(readFileSync(RULES, 'utf8')) as RuleFile;
const rules = ruleFile.groups.flatMap((g) => g.rules);

/**
 * Thresholds no 60 s test can cross with real requests (30 s of latency, 10 s to a first token),
 * lowered to 1 s; the test checks the rule still says what it replaces, and that as written it
 * stays silent on this traffic.
 */
const THRESHOLDS: Record<string, [string, string]> = {
  TollgateLatencyP95High: ['> 30', '> 1'],
  TollgateTimeToFirstTokenP95High: ['> 10', '> 1'],
};

/** Metric and label names docs/metrics.md lists (the doc is generated from the definitions). */
function documented(): { metrics: Set<string>; labels: Set<string> } {
  const doc = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  const metrics = new Set<string>();
  const labels = new Set<string>();
  for (const m of doc.matchAll(/^\| `((?:litellm|tollgate)_\w+)`[^|]*\| (counter|gauge|histogram)[^|]*\| ([^|]*)\|/gm)) {
    const name = m[1]!;
    if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) metrics.add(name + suffix);
    else metrics.add(name);
    for (const [, label] of m[3]!.matchAll(/`(\w+)`/g)) labels.add(label!);
  }
  return { metrics, labels };
}

/** The litellm_/tollgate_ metric names an expression reads (a label such as litellm_model_name is not one). */
const metricsIn = (expr: string, labels: Set<string>): string[] => [...expr.matchAll(/\b(?:litellm|tollgate)_\w+/g)].map(([name]) => name).filter((name) => !labels.has(name));

/** Every `targets[].expr` of a dashboard, however deep (rows nest panels). */
function panelQueries(node: unknown, title = ''): { title: string; expr: string }[] {
  if (Array.isArray(node)) return node.flatMap((n) => panelQueries(n, title));
  if (typeof node !== 'object' || node === null) return [];
  const obj = node as Record<string, unknown>;
  const here = typeof obj.title === 'string' ? obj.title : title;
  const own = Array.isArray(obj.targets) ? (obj.targets as { expr?: unknown }[]).filter((t) => typeof t.expr === 'string').map((t) => ({ title: here, expr: t.expr as string })) : [];
  return [...own, ...Object.entries(obj).filter(([k]) => k !== 'targets').flatMap(([, v]) => panelQueries(v, here))];
}

/** Grafana's built-in intervals become 1m; every template variable ($model, ${job}) matches all. */
const substitute = (expr: string): string => expr.replace(/\$\{?(\w+)\}?/g, (_, name: string) => (name.startsWith('__') ? '1m' : '.*'));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('dashboards and metric names (static)', () => {
  const { metrics, labels } = documented();
  const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));

  it('five dashboards, each on the datasource variable, querying only documented metrics', () => {
    expect(files.sort()).toEqual(['tollgate-cache.json', 'tollgate-cost.json', 'tollgate-latency.json', 'tollgate-overview.json', 'tollgate-routing.json']);
    // The doc parser works: a counter, a histogram's series, a label.
    expect([metrics.has('litellm_spend_metric_total'), metrics.has('litellm_overhead_latency_metric_bucket'), labels.has('litellm_model_name'), metrics.has('litellm_model_name')]).toEqual([true, true, true, false]);
    for (const file of files) {
      const dash = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as { uid: string; templating: { list: { name: string; type: string; current?: { value?: string } }[] }; panels: { datasource: { uid: string } }[] };
      expect(dash.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', current: { value: 'prometheus' } });
      for (const p of dash.panels) expect(p.datasource.uid, file).toBe('${datasource}');
      const queries = panelQueries(dash);
      expect(queries.length, file).toBeGreaterThan(5);
      for (const { title, expr } of queries) {
        for (const name of metricsIn(expr, labels)) expect(metrics.has(name), `${file} "${title}": ${name}`).toBe(true);
      }
    }
    for (const r of rules) for (const name of metricsIn(r.expr, labels)) expect(metrics.has(name), `${r.alert}: ${name}`).toBe(true);
  });

  it('every alert has a for, a severity and summary/description annotations', () => {
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const r of rules) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
  });
});

describe.runIf(gate.run)('alerts and dashboards against a real Prometheus scraping a live gateway', () => {
  let scenario: Scenario | undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let dir = '';
  let url = '';
  let dead = '';
  let stderr = '';

  const query = async (promql: string): Promise<Sample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
    if (body.data.resultType !== 'vector') throw new Error(`PromQL ${promql}: a ${body.data.resultType}, not a vector`);
    return body.data.result as Sample[];
  };
  const firing = async (): Promise<Alert[]> => {
    const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
    return body.data.alerts.filter((a) => a.state === 'firing');
  };

  beforeAll(async () => {
    if (gate.bin === undefined) throw new Error(gate.reason ?? 'prometheus binary not found (required when CI=true): apt-get install -y prometheus');
    scenario = await startScenario();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-rules-'));
    // The rules under test, with `for: 0s` so a firing alert shows within one evaluation.
    const testRules: RuleFile = {
      groups: ruleFile.groups.map((g) => ({
        ...g,
        rules: g.rules.map((r) => {
          const lowered = THRESHOLDS[r.alert];
          if (lowered !== undefined && !r.expr.includes(lowered[0])) throw new Error(`${r.alert} no longer says "${lowered[0]}"; update THRESHOLDS`);
          return { ...r, for: '0s', expr: lowered === undefined ? r.expr : r.expr.replace(lowered[0], lowered[1]) };
        }),
      })),
    };
    writeFileSync(join(dir, 'alerts.yml'), JSON.stringify(testRules, null, 2));
    dead = `127.0.0.1:${await freePort()}`;
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'alerts.yml')],
      // One job, as deploy/prometheus/prometheus.yml has: the gateway, the one whose Redis is down, and one that is down.
      scrape_configs: [{ job_name: 'tollgate', metrics_path: '/metrics', static_configs: [{ targets: [scenario.main, scenario.redisDown, dead] }] }],
    };
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const proc = spawn(gate.bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.on('error', (err) => (stderr += `\n${err.message}`));
    proc.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    await poll('prometheus to be ready', async () => (proc.exitCode === null && (await fetch(`${url}/-/ready`)).ok ? true : undefined), 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${stderr}`);
    });
    await poll('both gateways to be scraped', async () => ((await query('up{job="tollgate"} == 1')).length === 2 ? true : undefined), 15_000);

    // Twice, a few scrapes apart: a counter's first sample is not an increase, its second is.
    await scenario.run();
    await sleep(2500);
    await scenario.run();
    const main = scenario.main;
    const served = total(await scrape(`http://${main}`), 'litellm_proxy_total_requests_metric_total');
    await poll('Prometheus to see every request', async () => {
      const seen = await query(`sum(litellm_proxy_total_requests_metric_total{instance="${main}"})`);
      return Number(seen[0]?.value[1]) === served ? true : undefined;
    }, 10_000);
    await sleep(1500); // one more scrape, so rate() windows hold the last increments twice
  }, 60_000);

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await scenario?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('promtool check rules accepts deploy/prometheus/alerts.yml', () => {
    const sibling = join(dirname(gate.bin ?? ''), 'promtool');
    const promtool = existsSync(sibling) ? sibling : 'promtool';
    const result = spawnSync(promtool, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(`${result.stdout}${result.stderr}`).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.status).toBe(0);
  });

  it('every panel query of every dashboard returns data', async () => {
    const empty: string[] = [];
    let count = 0;
    for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))) {
      for (const { title, expr } of panelQueries(JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')))) {
        count += 1;
        const result = await query(substitute(expr));
        // NaN (a histogram with no new observations in the window) is no data on a panel.
        if (!result.some((s) => Number.isFinite(Number(s.value[1])))) empty.push(`${file} "${title}": ${substitute(expr)} → ${JSON.stringify(result)}`);
      }
    }
    expect(count).toBeGreaterThan(50);
    expect(empty).toEqual([]);
  });

  it('every alert fires, on the series its scenario is about', async () => {
    const names = rules.map((r) => r.alert);
    const alerts = await poll('every alert to fire', async () => {
      const now = await firing();
      return names.every((n) => now.some((a) => a.labels.alertname === n)) ? now : undefined;
    }, 15_000).catch(async (err: unknown) => {
      const now = await firing();
      throw new Error(`${String(err)}; missing: ${names.filter((n) => !now.some((a) => a.labels.alertname === n)).join(', ')}`);
    });
    const about = (name: string, label: string): string[] => [...new Set(alerts.filter((a) => a.labels.alertname === name).map((a) => a.labels[label] ?? ''))].sort();
    const redisDown = scenario!.redisDown;
    expect(about('TollgateDown', 'instance')).toEqual([dead]);
    expect(about('TollgateHighErrorRate', 'requested_model')).toEqual(['flaky']);
    // flaky-1 fails every attempt, backup-1 one in two and slow-a (timing out) one in one; gpt-a's
    // one 429 among its eight or so attempts a run stays under the 25%.
    expect(about('TollgateDeploymentFailing', 'model_id')).toEqual(['backup-1', 'flaky-1', 'slow-a']);
    expect(about('TollgateLatencyP95High', 'requested_model')).toEqual(['slow']);
    expect(about('TollgateTimeToFirstTokenP95High', 'requested_model')).toEqual(['slow']);
    expect(about('TollgateOverheadP95High', 'model_group')).toEqual(['slow']);
    expect(about('TollgateKeyBudgetNearlyExhausted', 'api_key_alias')).toEqual(['near-limit-key']);
    expect(about('TollgateTeamBudgetNearlyExhausted', 'team_alias')).toEqual(['near-limit']);
    expect(about('TollgateUserBudgetNearlyExhausted', 'user')).toEqual(['near-user']);
    expect(about('TollgateOrgBudgetNearlyExhausted', 'org_alias')).toEqual(['near-org']);
    expect(about('TollgateZeroCostCalls', 'reason')).toEqual(['missing_pricing_key']);
    expect(about('TollgateZeroCostCalls', 'model')).toEqual(['tollgate-unpriced-model']);
    expect(about('TollgateDeploymentCooldowns', 'model_id')).toEqual(['gpt-a', 'slow-a']);
    expect(about('TollgateRedisFailing', 'instance')).toEqual([redisDown]);
  }, 30_000);

  it('as written, the latency thresholds do not fire on sub-2-second requests', async () => {
    for (const name of Object.keys(THRESHOLDS)) {
      const rule = rules.find((r) => r.alert === name);
      expect(rule, name).toBeDefined();
      expect(await query(rule!.expr), name).toEqual([]);
      // ...and the lowered one does, so the difference is the threshold alone.
      const [from, to] = THRESHOLDS[name]!;
      expect((await query(rule!.expr.replace(from, to))).length, name).toBeGreaterThan(0);
    }
  });
});
