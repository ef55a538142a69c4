/**
 * Through the real server: `general_settings.litellm_key_header_name`, LiteLLM's
 * `x-litellm-api-key`, the 403 model-access envelope on the wire, `/v1/models?only_model_access_groups=True`,
 * `/routes`, `/health/readiness/details` and `/model/info` answering a non-admin key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const CONFIG = `
model_list:
  - model_name: open-model
    litellm_params: { model: mock/open-model }
  - model_name: grouped-model
    litellm_params: { model: mock/grouped-model }
    model_info: { access_groups: [beta-group], supports_vision: true }
general_settings:
  master_key: sk-1234
  litellm_key_header_name: X-Gateway-Key
`;

describe('key headers, model access on the wire, info routes', () => {
  let gw: TestGateway;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw.url}${path}`, { headers });
  const chat = (model: string, headers: Record<string, string>) =>
    fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  let limitedKey = '';

  beforeAll(async () => {
    gw = await startGateway(CONFIG);
    const res = await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: 'Bearer sk-1234', 'content-type': 'application/json' }, body: JSON.stringify({ models: ['beta-group'] }) });
    limitedKey = ((await res.json()) as { key: string }).key;
  });
  afterAll(async () => {
    await gw.close();
  });

  it('the custom key header (with or without Bearer) and x-litellm-api-key carry the key', async () => {
    expect((await get('/v1/models', { 'x-gateway-key': 'sk-1234' })).status).toBe(200);
    expect((await get('/v1/models', { 'X-Gateway-Key': 'Bearer sk-1234' })).status).toBe(200);
    expect((await get('/v1/models', { 'x-litellm-api-key': 'sk-1234' })).status).toBe(200);
    expect((await get('/v1/models', { 'x-gateway-key': 'sk-wrong' })).status).toBe(401);
  });

  it('a model outside the key is LiteLLM\'s 403 key_model_access_denied with param "model"', async () => {
    const denied = await chat('open-model', { authorization: `Bearer ${limitedKey}` });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({
      error: { type: 'key_model_access_denied', param: 'model', code: '403', message: "key not allowed to access model. This key can only access models=['beta-group']. Tried to access open-model" },
    });
    expect((await chat('grouped-model', { authorization: `Bearer ${limitedKey}` })).status).toBe(200);
  });

  it('/v1/models?only_model_access_groups=True lists access groups; /model/info answers the key with its models', async () => {
    const groups = (await (await get('/v1/models?only_model_access_groups=True', { authorization: 'Bearer sk-1234' })).json()) as { data: { id: string }[] };
    expect(groups.data.map((m) => m.id)).toEqual(['beta-group']);
    const info = (await (await get('/model/info', { authorization: `Bearer ${limitedKey}` })).json()) as { data: { model_name: string; model_info: Record<string, unknown> }[] };
    expect(info.data.map((m) => [m.model_name, m.model_info.supports_vision])).toEqual([['grouped-model', true]]);
  });

  it('/routes is public and lists the routes; /health/readiness/details needs a key', async () => {
    const routes = (await (await get('/routes')).json()) as { routes: { path: string; methods: string[] }[] };
    expect(routes.routes).toContainEqual(expect.objectContaining({ path: '/v1/chat/completions', methods: ['POST'] }));
    expect(routes.routes).toContainEqual(expect.objectContaining({ path: '/key/:key/regenerate', methods: ['POST'] }));
    expect((await get('/health/readiness/details')).status).toBe(401);
    const details = await get('/health/readiness/details', { authorization: 'Bearer sk-1234' });
    expect(details.status).toBe(200);
    expect(await details.json()).toMatchObject({ status: 'connected', litellm_version: expect.any(String) });
  });
});
