/**
 * Prometheus labels and counts as LiteLLM fills them, through the real server and its admin API:
 * master-key traffic is `user="default_user_id"` (litellm_proxy_admin_name) with
 * `hashed_api_key="litellm_proxy_master_key"`; `user_email` and `team_alias` come from the user and
 * team records; refusals are counted where LiteLLM's prometheus.py counts them (every 401 skipped,
 * other refusals in the proxy request counters); an unpriced model has a spend series at 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPost } from '../helpers/calls.js';
import { scrape as scrapeAt, total, type Sample } from '../metrics/helpers.js';
import { startGateway, waitForCalls, type TestGateway } from '../helpers/gateway.js';

const MASTER = 'sk-labels-master';

describe('LiteLLM label values through the server', () => {
  let gw: TestGateway;
  const post = (path: string, body: unknown, key: string) =>
    fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const admin = async <T>(path: string, body: object): Promise<T> => (await adminPost(gw.url, MASTER, path, body)) as T;
  const chat = (key: string, model = 'mock-a') => post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, key);
  const scrape = (): Promise<Sample[]> => scrapeAt(gw.url);

  beforeAll(async () => {
    gw = await startGateway(`
model_list:
  - model_name: mock-a
    litellm_params: { model: mock/mock-a }
  - model_name: mock-b
    litellm_params: { model: mock/mock-b }
  - model_name: priced
    litellm_params: { model: mock/priced, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
general_settings: { master_key: ${MASTER} }
`);
  });
  afterAll(() => gw.close());

  it('master-key traffic: user="default_user_id", hashed_api_key="litellm_proxy_master_key"', async () => {
    const before = gw.gateway.calls.records().length;
    expect((await chat(MASTER)).status).toBe(200);
    await waitForCalls(gw.gateway, before + 1);
    const s = await scrape();
    expect(total(s, 'litellm_proxy_total_requests_metric_total', { user: 'default_user_id', hashed_api_key: 'litellm_proxy_master_key', status_code: '200' })).toBe(1);
    expect(total(s, 'litellm_proxy_total_requests_metric_total', { user: 'None' })).toBeUndefined();
  });

  it('user_email and team_alias come from the user and team records', async () => {
    await admin('/user/new', { user_id: 'u-labels', user_email: 'dev@example.com' });
    const team = await admin<{ team_id: string }>('/team/new', { team_alias: 'platform-team' });
    const { key } = await admin<{ key: string }>('/key/generate', { user_id: 'u-labels', team_id: team.team_id });
    const before = gw.gateway.calls.records().length;
    expect((await chat(key)).status).toBe(200);
    await waitForCalls(gw.gateway, before + 1);
    const s = await scrape();
    expect(total(s, 'litellm_proxy_total_requests_metric_total', { user: 'u-labels', user_email: 'dev@example.com', team: team.team_id, team_alias: 'platform-team' })).toBe(1);
    expect(total(s, 'litellm_input_tokens_metric_total', { user_email: 'dev@example.com', team_alias: 'platform-team' })).toBeGreaterThan(0);
  });

  it('refusals: a bad key (401) is in no metric; a model-access denial (403) is in both proxy request counters', async () => {
    const { key } = await admin<{ key: string }>('/key/generate', { models: ['mock-a'], key_alias: 'only-a' });
    const before = gw.gateway.calls.records().length;
    expect((await chat('sk-not-a-key')).status).toBe(401);
    const denied = await chat(key, 'mock-b');
    expect(denied.status).toBe(403);
    await waitForCalls(gw.gateway, before + 1);
    const s = await scrape();
    expect(s.filter((x) => x.labels.status_code === '401' || x.labels.exception_status === '401')).toEqual([]);
    expect(total(s, 'litellm_proxy_total_requests_metric_total', { api_key_alias: 'only-a', status_code: '403', requested_model: 'mock-b' })).toBe(1);
    expect(total(s, 'litellm_proxy_failed_requests_metric_total', { api_key_alias: 'only-a', exception_status: '403' })).toBe(1);
    // Refused before routing: no deployment metrics, no spend series.
    expect(total(s, 'litellm_deployment_total_requests_total', { api_key_alias: 'only-a' })).toBeUndefined();
    expect(total(s, 'litellm_spend_metric_total', { api_key_alias: 'only-a' })).toBeUndefined();
  });

  it('an admitted 401 (user without default model access) is skipped like every 401 in LiteLLM', async () => {
    await admin('/user/new', { user_id: 'u-nodefault', models: ['no-default-models'] });
    const { key } = await admin<{ key: string }>('/key/generate', { user_id: 'u-nodefault', key_alias: 'nodefault' });
    const before = gw.gateway.calls.records().length;
    expect((await chat(key)).status).toBe(401);
    await waitForCalls(gw.gateway, before + 1); // it is a call record (admitted), just not a metric
    const s = await scrape();
    expect(s.filter((x) => x.labels.api_key_alias === 'nodefault')).toEqual([]);
  });

  it('an unpriced model gets a spend series at 0 next to the priced one; the call record keeps cost null', async () => {
    const before = gw.gateway.calls.records().length;
    expect((await chat(MASTER, 'mock-b')).status).toBe(200);
    expect((await chat(MASTER, 'priced')).status).toBe(200);
    await waitForCalls(gw.gateway, before + 2);
    const records = gw.gateway.calls.records().slice(before);
    expect(records.find((r) => r.requestedModel === 'mock-b')?.costNanoUsd).toBeNull();
    const s = await scrape();
    expect(total(s, 'litellm_spend_metric_total', { requested_model: 'mock-b' })).toBe(0);
    const priced = records.find((r) => r.requestedModel === 'priced')!;
    expect(total(s, 'litellm_spend_metric_total', { requested_model: 'priced' })).toBeCloseTo(priced.costNanoUsd! / 1e9, 12);
    expect(priced.costNanoUsd).toBeGreaterThan(0);
  });
});
