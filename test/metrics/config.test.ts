/**
 * LiteLLM's prometheus_metrics_config semantics: only configured metrics exist, labels are filtered
 * in default order, excludes win, and any typo stops startup with a message that says what to fix.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics, resolveMetricsConfig } from '../../src/observability/metrics/index.js';
import { callRecord, declaredMetrics, find, parseExposition } from './helpers.js';

const SEED_GROUP = {
  group: 'cache',
  metrics: ['litellm_cache_hits_metric', 'litellm_cache_misses_metric', 'litellm_cached_tokens_metric'],
  include_labels: ['model', 'team_alias'],
};

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected an error');
}

describe('prometheus_metrics_config', () => {
  it("exposes only the seed group's three metrics, with only model and team_alias", async () => {
    const metrics = createMetrics({ config: resolveMetricsConfig({ prometheus_metrics_config: [SEED_GROUP] }) });
    const principal = { ...callRecord().principal, teamAlias: 'platform' };
    metrics.observe({ ...callRecord({ principal }), responseCache: 'hit' });
    metrics.observe({ ...callRecord({ principal }), responseCache: 'miss' });
    metrics.inFlight.inc(); // not configured: a no-op
    const text = await metrics.render();
    expect(declaredMetrics(text).sort()).toEqual(['litellm_cache_hits_metric_total', 'litellm_cache_misses_metric_total', 'litellm_cached_tokens_metric_total']);
    const samples = parseExposition(text);
    expect(samples.map((s) => s.labels)).toEqual([
      { model: 'claude-sonnet-4-5', team_alias: 'platform' },
      { model: 'claude-sonnet-4-5', team_alias: 'platform' },
      { model: 'claude-sonnet-4-5', team_alias: 'platform' },
    ]);
    // 10 input + 5 output tokens in the cached response.
    expect(find(samples, 'litellm_cached_tokens_metric_total')[0]?.value).toBe(15);
  });

  it('keeps the default label order whatever order include_labels uses', () => {
    const config = resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_spend_metric'], include_labels: ['model_id', 'team', 'hashed_api_key'] }] });
    expect(config.metrics.get('litellm_spend_metric')).toEqual(['hashed_api_key', 'team', 'model_id']);
  });

  it('keeps all default labels for a group without include_labels', () => {
    const config = resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_deployment_state'] }] });
    expect(config.metrics.get('litellm_deployment_state')).toEqual(['litellm_model_name', 'model_id', 'api_base', 'api_provider']);
    expect([...config.metrics.keys()]).toEqual(['litellm_deployment_state']);
  });

  it('creates every metric with default labels when there is no config (or an empty list)', () => {
    for (const config of [resolveMetricsConfig(), resolveMetricsConfig({ prometheus_metrics_config: [] })]) {
      expect(config.metrics.size).toBeGreaterThan(40);
      expect(config.metrics.get('litellm_input_cache_creation_tokens_metric')?.at(-1)).toBe('cache_ttl');
    }
  });

  it('refuses a misspelt metric, naming the group, the name, a suggestion and the allowed ones', () => {
    const message = errorOf(() => resolveMetricsConfig({ prometheus_metrics_config: [{ ...SEED_GROUP, metrics: ['litellm_cache_hit_metric'] }] }));
    expect(message).toContain('prometheus_metrics_config group "cache"');
    expect(message).toContain('unknown metric "litellm_cache_hit_metric"');
    expect(message).toContain('did you mean "litellm_cache_hits_metric"');
    expect(message).toMatch(/Allowed metrics: .*litellm_cache_misses_metric/);
  });

  it('explains the _total suffix when a config uses the exposed name', () => {
    const message = errorOf(() => resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_spend_metric_total'] }] }));
    expect(message).toContain('did you mean "litellm_spend_metric"? config names have no _total suffix');
  });

  it("refuses a label the metric doesn't have, listing the metric's labels", () => {
    const message = errorOf(() => resolveMetricsConfig({ prometheus_metrics_config: [{ ...SEED_GROUP, include_labels: ['model', 'status_code'] }] }));
    expect(message).toContain('"status_code" is not a label of litellm_cache_hits_metric');
    expect(message).toContain('Allowed labels: model, hashed_api_key, api_key_alias, team, team_alias, end_user, user, model_id, api_provider');
  });

  it('refuses malformed groups', () => {
    expect(errorOf(() => resolveMetricsConfig({ prometheus_metrics_config: { group: 'g' } }))).toContain('must be a list');
    expect(errorOf(() => resolveMetricsConfig({ prometheus_metrics_config: [{ metrics: ['litellm_spend_metric'] }] }))).toContain('"group" must be a non-empty string');
    expect(errorOf(() => resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metrics: [] }] }))).toContain('"metrics" must be a non-empty list');
    expect(errorOf(() => resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metric: ['x'] }] }))).toContain('unknown key "metric"');
  });

  it('accepts LiteLLM metrics Tollgate does not emit, with a warning', () => {
    const config = resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_spend_metric', 'litellm_request_queue_time_seconds'] }] });
    expect([...config.metrics.keys()]).toEqual(['litellm_spend_metric']);
    expect(config.warnings).toEqual(['prometheus_metrics_config group "g": litellm_request_queue_time_seconds is a LiteLLM metric Tollgate does not emit; ignored']);
  });
});

describe('the response-cache metrics mistaken for prompt caching', () => {
  const promptCacheLine = (warnings: readonly string[]): string[] => warnings.filter((w) => w.includes('litellm_input_cached_tokens_metric'));

  it('the seed config (three litellm_cache_* metrics) gets one line naming the provider prompt-cache metrics', () => {
    const lines = promptCacheLine(resolveMetricsConfig({ prometheus_metrics_config: [SEED_GROUP] }).warnings);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('litellm_input_cache_creation_tokens_metric');
    expect(lines[0]).toContain("gateway's own response cache");
    expect(lines[0]).toContain('litellm_cache_hits_metric, litellm_cache_misses_metric, litellm_cached_tokens_metric');
    expect(lines[0]).not.toContain('\n');
  });

  it('the fixed config, the default (no groups) and configs without cache metrics stay quiet', () => {
    const fixed = { ...SEED_GROUP, metrics: [...SEED_GROUP.metrics, 'litellm_input_cached_tokens_metric', 'litellm_input_cache_creation_tokens_metric'] };
    expect(promptCacheLine(resolveMetricsConfig({ prometheus_metrics_config: [fixed] }).warnings)).toEqual([]);
    expect(resolveMetricsConfig({}).warnings).toEqual([]);
    expect(resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_spend_metric'] }] }).warnings).toEqual([]);
  });

  it('one prompt-cache metric in another group is enough', () => {
    const config = resolveMetricsConfig({ prometheus_metrics_config: [SEED_GROUP, { group: 'p', metrics: ['litellm_input_cached_tokens_metric'] }] });
    expect(promptCacheLine(config.warnings)).toEqual([]);
  });

  it('excluding the prompt-cache metrics brings the line back', () => {
    const fixed = { ...SEED_GROUP, metrics: [...SEED_GROUP.metrics, 'litellm_input_cached_tokens_metric', 'litellm_input_cache_creation_tokens_metric'] };
    const config = resolveMetricsConfig({ prometheus_metrics_config: [fixed], prometheus_exclude_metrics: PROMPT_CACHE });
    expect(promptCacheLine(config.warnings)).toHaveLength(1);
  });
});
const PROMPT_CACHE = ['litellm_input_cached_tokens_metric', 'litellm_input_cache_creation_tokens_metric'];

describe('exclude lists', () => {
  it('drops excluded metrics, even when a group names them', () => {
    const config = resolveMetricsConfig({
      prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_spend_metric', 'litellm_requests_metric'] }],
      prometheus_exclude_metrics: ['litellm_requests_metric'],
    });
    expect([...config.metrics.keys()]).toEqual(['litellm_spend_metric']);
    expect(resolveMetricsConfig({ prometheus_exclude_metrics: ['litellm_requests_metric'] }).metrics.has('litellm_requests_metric')).toBe(false);
  });

  it('drops excluded labels from every metric, even when include_labels lists them', async () => {
    const config = resolveMetricsConfig({
      prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_spend_metric', 'litellm_remaining_api_key_budget_metric'], include_labels: ['hashed_api_key', 'api_key_alias'] }],
      prometheus_exclude_labels: ['hashed_api_key'],
    });
    expect(config.metrics.get('litellm_spend_metric')).toEqual(['api_key_alias']);
    expect(config.metrics.get('litellm_remaining_api_key_budget_metric')).toEqual(['api_key_alias']);
    const metrics = createMetrics({ config });
    metrics.observe(callRecord());
    expect(parseExposition(await metrics.render()).map((s) => s.labels)).toEqual([{ api_key_alias: 'ci-key' }]);
  });

  it('refuses unknown names in the exclude lists', () => {
    expect(errorOf(() => resolveMetricsConfig({ prometheus_exclude_metrics: ['litellm_spend'] }))).toContain('prometheus_exclude_metrics: unknown metric "litellm_spend"');
    const message = errorOf(() => resolveMetricsConfig({ prometheus_exclude_labels: ['hashed_key'] }));
    expect(message).toContain('prometheus_exclude_labels: unknown label "hashed_key"');
    expect(message).toContain('Allowed labels: ');
  });
});

describe('custom_prometheus_metadata_labels', () => {
  it('adds metadata_foo to per-request metrics, read from the call metadata', async () => {
    const config = resolveMetricsConfig({ custom_prometheus_metadata_labels: ['metadata.foo', 'metadata.deep.key'] });
    expect(config.metrics.get('litellm_proxy_total_requests_metric')?.slice(-2)).toEqual(['metadata_foo', 'metadata_deep_key']);
    expect(config.metrics.get('litellm_remaining_api_key_budget_metric')).toEqual(['hashed_api_key', 'api_key_alias']);
    expect(config.metrics.get('litellm_deployment_state')).toEqual(['litellm_model_name', 'model_id', 'api_base', 'api_provider']);
    const metrics = createMetrics({ config });
    metrics.observe(callRecord({ metadata: { foo: 'hello\nworld', deep: { key: 7 } } }));
    metrics.observe(callRecord({ requestId: 'no-metadata' }));
    const samples = find(parseExposition(await metrics.render()), 'litellm_proxy_total_requests_metric_total');
    expect(samples.map((s) => [s.labels.metadata_foo, s.labels.metadata_deep_key])).toEqual([
      ['hello world', '7'],
      ['None', 'None'],
    ]);
  });

  it('lets include_labels name a custom label, and refuses one that shadows a built-in label', () => {
    const config = resolveMetricsConfig({ custom_prometheus_metadata_labels: ['metadata.foo'], prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_spend_metric'], include_labels: ['metadata_foo'] }] });
    expect(config.metrics.get('litellm_spend_metric')).toEqual(['metadata_foo']);
    expect(errorOf(() => resolveMetricsConfig({ custom_prometheus_metadata_labels: ['user'] }))).toContain('which is a built-in label');
  });
});

describe('prometheus_emit_stream_label', () => {
  it('adds stream="True"|"False" to litellm_proxy_total_requests_metric only', async () => {
    const metrics = createMetrics({ config: resolveMetricsConfig({ prometheus_emit_stream_label: true }) });
    metrics.observe(callRecord({ stream: true }));
    metrics.observe(callRecord({ stream: false }));
    const samples = parseExposition(await metrics.render());
    expect(find(samples, 'litellm_proxy_total_requests_metric_total').map((s) => s.labels.stream)).toEqual(['True', 'False']);
    expect(find(samples, 'litellm_spend_metric_total')[0]?.labels.stream).toBeUndefined();
    expect(errorOf(() => resolveMetricsConfig({ prometheus_emit_stream_label: 'yes' }))).toContain('prometheus_emit_stream_label must be true or false');
  });
});
