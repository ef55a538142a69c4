/**
 * A real Prometheus scrapes the registry over HTTP and the numbers are read back with PromQL, so
 * names, types, label escaping and the exposition format are checked by the consumer that matters.
 * Skips with a printed reason without a `prometheus` binary; fails in CI (CI=true) without one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, resolveMetricsConfig, type Metrics } from '../../src/observability/metrics/index.js';
import { callRecord } from './helpers.js';
import { prometheusGate, serveMetrics, startPrometheus, type PrometheusServer, type PromSample } from './prometheus-runner.js';

const gate = prometheusGate();

const value = (samples: PromSample[]): number | undefined => samples[0]?.value;

describe.runIf(gate.run)('a real Prometheus scraping Tollgate metrics', () => {
  let prom: PrometheusServer | undefined;
  let full: Metrics;
  let seedOnly: Metrics;
  const servers: { close: () => Promise<void> }[] = [];

  beforeAll(async () => {
    full = createMetrics();
    seedOnly = createMetrics({
      config: resolveMetricsConfig({
        prometheus_metrics_config: [{ group: 'cache', metrics: ['litellm_cache_hits_metric', 'litellm_cache_misses_metric', 'litellm_cached_tokens_metric'], include_labels: ['model', 'team_alias'] }],
      }),
    });
    const a = await serveMetrics(() => full.render(), full.contentType);
    const b = await serveMetrics(() => seedOnly.render(), seedOnly.contentType);
    servers.push(a, b);
    prom = await startPrometheus([{ address: a.address }, { address: b.address }], { bin: gate.bin });
    await prom.waitForTargetsUp();
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('sees the seed scenario: cache reads +1802, 5m cache writes +1802, spend = the hand-computed cost', async () => {
    const p = prom!;
    // 3 × $3 + 1802 × $3.75 + 25 × $15 per MTok = $0.0071415, then 3 × $3 + 1802 × $0.30 + 25 × $15 = $0.0009246.
    full.observe(callRecord({ requestId: 'w', stream: true, timeToFirstTokenMs: 250, usage: { inputUncached: 3, cacheWrite5m: 1802, output: 25 }, costNanoUsd: 7_141_500, userAgent: 'sdk "quoted"\nline' }));
    await p.waitFor('sum(litellm_input_cache_creation_tokens_metric_total{cache_ttl="5m"})', (s) => value(s) === 1802);
    expect(await p.query('litellm_input_cached_tokens_metric_total')).toEqual([]); // sparse: nothing read yet

    full.observe(callRecord({ requestId: 'r', usage: { inputUncached: 3, cacheRead: 1802, output: 25 }, costNanoUsd: 924_600 }));
    await p.waitFor('sum(litellm_input_cached_tokens_metric_total)', (s) => value(s) === 1802);
    expect(value(await p.query('sum(litellm_input_cache_creation_tokens_metric_total{cache_ttl="5m"})'))).toBe(1802);
    expect(value(await p.query('sum(litellm_input_tokens_metric_total)'))).toBe(3610);
    expect(value(await p.query('sum(litellm_spend_metric_total)'))).toBeCloseTo(0.0080661, 12);
    expect(value(await p.query('sum(litellm_proxy_total_requests_metric_total{status_code="200", requested_model="claude-sonnet"})'))).toBe(2);
    // The provider prompt-cache ratio from docs/metrics.md: 1802 / 3610.
    expect(value(await p.query('sum(litellm_input_cached_tokens_metric_total) / sum(litellm_input_tokens_metric_total)'))).toBeCloseTo(1802 / 3610, 12);
    // Label values survive escaping: quotes kept, the newline turned into a space.
    expect((await p.query('litellm_proxy_total_requests_metric_total{user_agent="sdk \\"quoted\\" line"}')).length).toBe(1);
  }, 40_000);

  it('reads the latency histograms in seconds with LiteLLM buckets', async () => {
    const p = prom!;
    await p.waitFor('sum(litellm_request_total_latency_metric_count)', (s) => value(s) === 2);
    // Each call took 1 s in total, 0.9 s upstream: the total falls in the (0.5, 1] bucket, which is
    // le="1.0" as LiteLLM's prometheus_client writes it.
    expect(value(await p.query('sum(litellm_request_total_latency_metric_bucket{le="0.5"})'))).toBe(0);
    expect(value(await p.query('sum(litellm_request_total_latency_metric_bucket{le="1.0"})'))).toBe(2);
    expect(value(await p.query('sum(litellm_overhead_latency_metric_sum)'))).toBeCloseTo(0.2, 9);
    expect(value(await p.query('sum(litellm_llm_api_time_to_first_token_metric_count)'))).toBe(1);
    const p50 = value(await p.query('histogram_quantile(0.5, sum by (le) (litellm_llm_api_latency_metric_bucket))'));
    expect(p50).toBeGreaterThan(0.5);
    expect(p50).toBeLessThanOrEqual(1);
  }, 40_000);

  it('exposes only the seed group metrics, with only model and team_alias, when so configured', async () => {
    const p = prom!;
    const principal = { ...callRecord().principal, teamAlias: 'platform' };
    seedOnly.observe({ ...callRecord({ principal }), responseCache: 'hit' });
    seedOnly.observe({ ...callRecord({ principal }), responseCache: 'miss' });
    seedOnly.observe(callRecord({ principal }));
    await p.waitFor('sum(litellm_cache_misses_metric_total)', (s) => value(s) === 1);
    const series = await p.query('{job="target-1", __name__=~"litellm_.*|tollgate_.*"}');
    expect(series.map((s) => s.metric.__name__).sort()).toEqual(['litellm_cache_hits_metric_total', 'litellm_cache_misses_metric_total', 'litellm_cached_tokens_metric_total']);
    for (const s of series) expect(s.metric).toEqual({ __name__: s.metric.__name__, instance: expect.any(String), job: 'target-1', model: 'claude-sonnet-4-5', team_alias: 'platform' });
    expect(value(await p.query('litellm_cached_tokens_metric_total'))).toBe(15);
  }, 40_000);
});
