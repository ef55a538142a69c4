/**
 * GET /health in LiteLLM's shape: healthy and unhealthy endpoints with their counts, probed on
 * demand, or from the background loop when `background_health_checks` is on — whose failed probes
 * cool deployments down like failed requests do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, eventually, openaiClient } from './harness.js';
import { routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

interface Report {
  healthy_endpoints: Record<string, unknown>[];
  unhealthy_endpoints: Record<string, unknown>[];
  healthy_count: number;
  unhealthy_count: number;
}

const models = (f: { o: string[] }): string => `
model_list:
  - model_name: good
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, rpm: 100 }
    model_info: { id: good-1 }
  - model_name: mixed
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-wrong, order: 1 }
    model_info: { id: mixed-bad }
  - model_name: mixed
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: mixed-good }
  - model_name: mock
    litellm_params: { model: mock/mock-1 }
    model_info: { id: mock-1 }
  - model_name: "openai/*"
    litellm_params: { model: "openai/*", api_base: "${f.o[0]}", api_key: sk-openai-fake }
    model_info: { id: wildcard }`;

async function health(url: string, query = '', key: string | null = MASTER_KEY): Promise<{ status: number; body: Report }> {
  const res = await fetch(`${url}/health${query}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as Report };
}

describe('GET /health on demand', () => {
  let e2e: RouterE2E;
  beforeAll(async () => {
    e2e = await startRouterE2E({ anthropic: 0, openai: 1 }, models);
  });
  afterAll(() => e2e.close());

  it('needs the master key', async () => {
    expect((await health(e2e.url, '', null)).status).toBe(401);
    expect((await health(e2e.url, '', 'sk-nope')).status).toBe(401);
  });

  it('probes every deployment but wildcards, and reports them in LiteLLM shape without secrets', async () => {
    const before = e2e.openai[0]!.requests.length;
    const { status, body } = await health(e2e.url);
    expect(status).toBe(200);
    expect(body.healthy_count).toBe(3);
    expect(body.unhealthy_count).toBe(1);
    expect(body.healthy_endpoints.map((e) => e.model_id).sort()).toEqual(['good-1', 'mixed-good', 'mock-1']);
    expect(body.healthy_endpoints.find((e) => e.model_id === 'good-1')).toEqual({
      model: 'openai/gpt-4o-mini', model_name: 'good', model_id: 'good-1', api_base: `${e2e.openai[0]!.url}/v1`, rpm: 100,
    });
    expect(body.unhealthy_endpoints).toEqual([
      expect.objectContaining({ model_id: 'mixed-bad', model_name: 'mixed', error: expect.stringMatching(/Incorrect API key/) }),
    ]);
    for (const endpoint of [...body.healthy_endpoints, ...body.unhealthy_endpoints]) expect(endpoint).not.toHaveProperty('api_key');
    // 3 HTTP deployments probed (the wildcard is not), with a one-token request.
    const probes = e2e.openai[0]!.requests.slice(before);
    expect(probes).toHaveLength(3);
    expect(probes[0]?.json).toMatchObject({ model: 'gpt-4o-mini', max_completion_tokens: 1 });
  });

  it('?model= probes one model group', async () => {
    const { body } = await health(e2e.url, '?model=mixed');
    expect(body).toMatchObject({ healthy_count: 1, unhealthy_count: 1 });
  });
});

describe('background health checks', () => {
  let e2e: RouterE2E;
  beforeAll(async () => {
    e2e = await startRouterE2E({ anthropic: 0, openai: 1 }, (f) => `${models(f)}
router_settings: { cooldown_time: 30 }`, 'background_health_checks: true, health_check_interval: 0.1');
  });
  afterAll(() => e2e.close());

  it('GET /health returns the last background report, refreshed every interval', async () => {
    await eventually(() => e2e.openai[0]!.requests.length >= 6);
    const { body } = await health(e2e.url);
    expect(body).toMatchObject({ healthy_count: 3, unhealthy_count: 1 });
  });

  it('a failed probe cools the deployment down: requests go straight to the healthy one', async () => {
    const { response } = await openaiClient(e2e.url).chat.completions.create({ model: 'mixed', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(routing(response.headers)).toMatchObject({ modelId: 'mixed-good', retries: '0' });
    expect(await e2e.gw.gateway.metrics.render()).toMatch(/litellm_deployment_cooled_down_total\{[^}]*model_id="mixed-bad"[^}]*exception_status="401"/);
  });
});
