/**
 * The recorder resolves each label combination once and then writes numeric cells. These check
 * what that cache must not change: values that sanitize alike share a series, a label value that
 * changes (a renamed team) starts a new one, dropped metrics and labels stay dropped, and every
 * name of the definitions table has a typed handle.
 */
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../src/observability/metrics/definitions.js';
import { buildFamilies } from '../../src/observability/metrics/families.js';
import { createMetrics, resolveMetricsConfig } from '../../src/observability/metrics/index.js';
import type { DeploymentRef } from '../../src/core/call-record.js';
import { callRecord, find, parseExposition, SONNET } from './helpers.js';

const OPUS: DeploymentRef = { id: 'dep-opus-1', modelGroup: 'claude-opus', provider: 'bedrock', model: 'anthropic.claude-opus-4', apiBase: 'https://bedrock.example' };

describe('series handles', () => {
  it('counts records whose raw values differ but sanitize alike in one series', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ userAgent: 'sdk\nv1' }));
    metrics.observe(callRecord({ userAgent: 'sdk v1' }));
    metrics.observe(callRecord({ userAgent: 'sdk\r\nv1' })); // \r dropped, \n a space: "sdk v1" too
    const series = find(parseExposition(await metrics.render()), 'litellm_proxy_total_requests_metric_total');
    expect(series.map((s) => [s.labels.user_agent, s.value])).toEqual([['sdk v1', 3]]);
  });

  it('starts a new series when a looked-up label changes between calls (a team renamed)', async () => {
    let alias = 'platform';
    const metrics = createMetrics({ lookupPrincipal: () => ({ teamAlias: alias }) });
    metrics.observe(callRecord());
    metrics.observe(callRecord());
    alias = 'platform-2';
    metrics.observe(callRecord());
    const series = find(parseExposition(await metrics.render()), 'litellm_spend_metric_total');
    expect(series.map((s) => [s.labels.team_alias, s.value])).toEqual([
      ['platform', 0.000105 + 0.000105], // 105 000 nano-USD per call
      ['platform-2', 0.000105],
    ]);
  });

  it('keeps one series per deployment attempt combination, apart from the call that made it', async () => {
    const metrics = createMetrics();
    for (let i = 0; i < 3; i++) metrics.observe(callRecord());
    metrics.observe(callRecord({ outcome: 'failure', httpStatus: 529, error: { code: 'overloaded', message: 'o' }, attempts: [{ deploymentId: 'dep-sonnet-1', startedAt: 0, durationMs: 1, outcome: 'failure', status: 529, errorCode: 'overloaded' }] }));
    const s = parseExposition(await metrics.render());
    // Success and failure attempts share the total's series (its labels have no status).
    expect(find(s, 'litellm_deployment_total_requests_total').map((x) => x.value)).toEqual([4]);
    expect(find(s, 'litellm_deployment_success_responses_total').map((x) => x.value)).toEqual([3]);
    expect(find(s, 'litellm_deployment_failure_responses_total').map((x) => [x.labels.exception_status, x.value])).toEqual([['529', 1]]);
    // One deployment_state series (its labels have no status): the last attempt's state wins.
    expect(find(s, 'litellm_deployment_state').map((x) => x.value)).toEqual([1]);
  });

  it('writes nothing for a dropped metric or label, however often it is fed', async () => {
    const metrics = createMetrics({ config: resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_spend_metric'], include_labels: ['model'] }] }) });
    for (let i = 0; i < 5; i++) metrics.observe(callRecord({ userAgent: `agent-${i}`, principal: { isMaster: false, keyHash: `k${i}` } }));
    metrics.inFlight.inc();
    metrics.setBudget({ kind: 'api_key', keyHash: 'k' }, { spendUsd: 1, maxBudgetUsd: 2 });
    const s = parseExposition(await metrics.render());
    expect(s.map((x) => [x.name, x.labels])).toEqual([['litellm_spend_metric_total', { model: 'claude-sonnet-4-5' }]]);
    expect(s[0]?.value).toBeCloseTo(5 * 0.000105, 15);
  });

  it('keys the cache by the labels a fallback counter shows when nothing else shows them', async () => {
    const lookupDeployment = (id: string) => (id === 'dep-opus-1' ? OPUS : id === SONNET.id ? SONNET : undefined);
    const metrics = createMetrics({ lookupDeployment, config: resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'g', metrics: ['litellm_deployment_successful_fallbacks'], include_labels: ['hashed_api_key'] }] }) });
    for (const key of ['k1', 'k2', 'k1']) {
      metrics.observe(callRecord({ principal: { isMaster: false, keyHash: key }, modelGroup: 'claude-opus', deployment: OPUS, fallbacks: 1, attempts: [{ deploymentId: SONNET.id, startedAt: 0, durationMs: 1, outcome: 'failure', status: 529, errorCode: 'overloaded' }, { deploymentId: OPUS.id, startedAt: 0, durationMs: 1, outcome: 'success' }] }));
    }
    const series = find(parseExposition(await metrics.render()), 'litellm_deployment_successful_fallbacks_total');
    expect(series.map((s) => [s.labels.hashed_api_key, s.value])).toEqual([
      ['k1', 2],
      ['k2', 1],
    ]);
  });

  it('has a typed handle for every metric of the table, enabled or not', () => {
    const { families } = buildFamilies(resolveMetricsConfig({ prometheus_exclude_metrics: ['litellm_spend_metric'] }));
    const byName = families as unknown as Record<string, { def: { name: string }; enabled: boolean }>;
    for (const def of METRICS) expect(byName[def.name]?.def.name).toBe(def.name);
    expect(families.litellm_spend_metric.enabled).toBe(false);
    expect(families.litellm_total_tokens_metric.enabled).toBe(true);
    // @ts-expect-error a misspelt metric name is a compile error (checked by `npm run typecheck`)
    expect(families.litellm_spend_metrc).toBeUndefined();
  });

  it('serves the same exposition as text and as bytes', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ userAgent: 'agent “curly” é' }));
    expect(metrics.renderBuffer().toString('utf8')).toBe(await metrics.render());
    expect(await metrics.render()).toContain('user_agent="agent “curly” é"');
  });
});
