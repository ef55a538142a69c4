/**
 * prometheus_metrics_config through the real server: the seed's group starts and /metrics exposes
 * only those metrics with only those labels; a misspelt metric stops startup with a clear message.
 * Also the separate --metrics-port listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config/loader.js';
import { createGateway } from '../../src/server.js';
import { MASTER_KEY, postJson } from '../e2e/harness.js';
import { startGateway, waitForCalls, type TestGateway } from '../helpers/gateway.js';

const SEED = `
model_list:
  - model_name: mock-a
    litellm_params: { model: mock/mock-a }
general_settings: { master_key: ${MASTER_KEY} }
litellm_settings:
  callbacks: ["prometheus"]
  prometheus_metrics_config:
    - group: cache
      metrics: [litellm_cache_hits_metric, litellm_cache_misses_metric, litellm_cached_tokens_metric]
      include_labels: [model, team_alias]
`;

function metricNames(exposition: string): string[] {
  return [...new Set(exposition.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!))].sort();
}

describe('prometheus_metrics_config', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(SEED);
  });
  afterAll(() => gw.close());

  it('exposes only the configured metrics, with only the configured labels', async () => {
    const res = await postJson(gw.url, '/v1/chat/completions', { model: 'mock-a', messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${MASTER_KEY}` });
    expect(res.status).toBe(200);
    await waitForCalls(gw.gateway, 1);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metricNames(text)).toEqual(['litellm_cache_hits_metric_total', 'litellm_cache_misses_metric_total', 'litellm_cached_tokens_metric_total']);
    expect(text).not.toContain('litellm_proxy_total_requests_metric');
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      const labels = /\{(.*)\}/.exec(line)?.[1] ?? '';
      for (const pair of labels.split(',').filter((p) => p !== '')) expect(['model', 'team_alias']).toContain(pair.split('=')[0]);
    }
  });

  it('warns once at startup that these three count the response cache, naming the prompt-cache metrics', () => {
    const lines = gw.gateway.warnings.filter((w) => w.includes('litellm_cache_hits_metric'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/litellm_input_cached_tokens_metric and litellm_input_cache_creation_tokens_metric/);
  });

  it('refuses to start with a misspelt metric, naming it', () => {
    const loaded = parseConfigText(SEED.replace('litellm_cache_misses_metric', 'litellm_cache_miss_metric'), 'bad.yaml', {});
    let error: unknown;
    try {
      createGateway(loaded, { databaseUrl: ':memory:' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('litellm_cache_miss_metric');
    expect((error as Error).message).toContain('bad.yaml');
  });
});

describe('--metrics-port', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(SEED.replace(/litellm_settings:[\s\S]*$/, ''));
  });
  afterAll(() => gw.close());

  it('serves the same registry without authentication on its own port', async () => {
    const url = await gw.gateway.listenMetrics(0, '127.0.0.1');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('# TYPE litellm_proxy_total_requests_metric_total counter');
    expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('answers /metrics/ (the path LiteLLM users and its Grafana dashboard scrape) on both ports', async () => {
    const url = await gw.gateway.listenMetrics(0, '127.0.0.1');
    for (const base of [gw.url, url.replace(/\/metrics$/, '')]) {
      for (const path of ['/metrics', '/metrics/', '/metrics/?name[]=x']) {
        const res = await fetch(`${base}${path}`);
        expect(res.status, `${base}${path}`).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/plain');
        expect(await res.text()).toContain('# TYPE litellm_proxy_total_requests_metric_total counter');
      }
    }
  });
});

describe('/metrics authentication', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(`${SEED.replace(/litellm_settings:[\s\S]*$/, '')}
litellm_settings:
  require_auth_for_metrics_endpoint: true
  require_auth_for_metrics_port: true
`);
  });
  afterAll(() => gw.close());

  it('needs a key on the main port and on the metrics port when configured', async () => {
    for (const path of ['/metrics', '/metrics/']) {
      expect((await fetch(`${gw.url}${path}`)).status).toBe(401);
      expect((await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).status).toBe(200);
    }
    const url = await gw.gateway.listenMetrics(0, '127.0.0.1');
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).status).toBe(200);
  });
});
