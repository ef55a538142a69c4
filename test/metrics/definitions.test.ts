/**
 * The definitions table is the one list of metrics: it must be well-formed, match LiteLLM where
 * dashboards depend on it, and docs/metrics.md must be regenerated whenever it changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRICS_BY_NAME, exposedName, LATENCY_BUCKETS, LITELLM_METRICS_NOT_EMITTED, METRICS } from '../../src/observability/metrics/definitions.js';
import { renderMetricsDoc } from '../../src/observability/metrics/doc.js';
import { resolveMetricsConfig, type MetricsSettings } from '../../src/observability/metrics/index.js';
import { parse as parseYaml } from 'yaml';

describe('definitions', () => {
  it('names each metric once, with valid and unique label names', () => {
    expect(METRICS_BY_NAME.size).toBe(METRICS.length);
    for (const def of METRICS) {
      expect(def.name).toMatch(/^(litellm|tollgate)_[a-z0-9_]+$/);
      expect(new Set(def.labels).size, def.name).toBe(def.labels.length);
      for (const label of def.labels) expect(label).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(LITELLM_METRICS_NOT_EMITTED).not.toContain(def.name);
      if (def.type === 'histogram') expect(def.buckets?.length, def.name).toBeGreaterThan(0);
    }
  });

  it("uses LiteLLM's LATENCY_BUCKETS for the latency histograms", () => {
    expect(LATENCY_BUCKETS).toHaveLength(35); // LiteLLM's 36 minus the +Inf prom-client adds itself
    for (const name of ['litellm_request_total_latency_metric', 'litellm_llm_api_latency_metric', 'litellm_llm_api_time_to_first_token_metric', 'litellm_overhead_latency_metric']) {
      expect(METRICS_BY_NAME.get(name)?.buckets, name).toBe(LATENCY_BUCKETS);
    }
  });

  it("exposes counters with prometheus_client's _total suffix, once", () => {
    expect(exposedName(METRICS_BY_NAME.get('litellm_spend_metric')!)).toBe('litellm_spend_metric_total');
    expect(exposedName(METRICS_BY_NAME.get('litellm_zero_cost_requests_total')!)).toBe('litellm_zero_cost_requests_total');
    expect(exposedName(METRICS_BY_NAME.get('litellm_deployment_state')!)).toBe('litellm_deployment_state');
  });

  it('covers the metrics the metering issue requires', () => {
    const required = [
      'litellm_proxy_total_requests_metric', 'litellm_proxy_failed_requests_metric', 'litellm_requests_metric', 'litellm_spend_metric',
      'litellm_total_tokens_metric', 'litellm_input_tokens_metric', 'litellm_output_tokens_metric', 'litellm_input_cached_tokens_metric',
      'litellm_input_cache_creation_tokens_metric', 'litellm_output_reasoning_tokens_metric', 'litellm_request_total_latency_metric',
      'litellm_llm_api_latency_metric', 'litellm_llm_api_time_to_first_token_metric', 'litellm_overhead_latency_metric',
      'litellm_deployment_success_responses', 'litellm_deployment_failure_responses', 'litellm_deployment_total_requests',
      'litellm_deployment_successful_fallbacks', 'litellm_deployment_failed_fallbacks', 'litellm_deployment_cooled_down',
      'litellm_deployment_state', 'litellm_remaining_api_key_budget_metric', 'litellm_api_key_max_budget_metric',
      'litellm_remaining_team_budget_metric', 'litellm_remaining_user_budget_metric', 'litellm_remaining_customer_budget_metric',
      'litellm_remaining_api_key_requests_for_model', 'litellm_remaining_api_key_tokens_for_model', 'litellm_in_flight_requests',
      'litellm_zero_cost_requests_total', 'litellm_cache_hits_metric', 'litellm_cache_misses_metric', 'litellm_cached_tokens_metric',
      'tollgate_deployment_answered_total', 'tollgate_request_retries', 'tollgate_request_fallbacks',
    ];
    expect(required.filter((name) => !METRICS_BY_NAME.has(name))).toEqual([]);
  });
});

describe('docs/metrics.md', () => {
  it('is up to date with the definitions table (regenerate: npm run docs:metrics)', () => {
    const onDisk = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'metrics.md'), 'utf8');
    expect(onDisk === renderMetricsDoc(), 'docs/metrics.md is stale: run `npm run docs:metrics`').toBe(true);
  });

  it('documents every metric, and the response cache vs prompt cache distinction', () => {
    const doc = renderMetricsDoc();
    for (const def of METRICS) expect(doc).toMatch(new RegExp(`\\| \`${exposedName(def)}\`( \\(config: \`${def.name}\`\\))? \\| ${def.type}`));
    expect(doc).toContain('## Response cache vs provider prompt cache');
  });

  it('every YAML example is a valid config; only the cache-metrics-only one gets the prompt-cache warning', () => {
    const blocks = [...renderMetricsDoc().matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]!) as { litellm_settings: MetricsSettings });
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const warned = blocks.map((b) => resolveMetricsConfig(b.litellm_settings).warnings.some((w) => w.includes('litellm_input_cache_creation_tokens_metric')));
    const cacheOnly = blocks.findIndex((b) => JSON.stringify(b).includes('"metrics":["litellm_cache_hits_metric","litellm_cache_misses_metric","litellm_cached_tokens_metric"]'));
    expect(cacheOnly).toBeGreaterThanOrEqual(0);
    expect(warned).toEqual(blocks.map((_, i) => i === cacheOnly));
  });
});
