/**
 * Budgets enforced on real traffic: a user with a $10 budget and a key for it; real chat
 * completions through the proxy, each costing a known amount (the mock model with per-token prices
 * set in the config), until the gateway answers LiteLLM's 400 budget_exceeded — in the OpenAI envelope on
 * /v1/chat/completions and the Anthropic one on /v1/messages. Spend is settled from the call record,
 * so the key's spend is exactly the sum of the recorded costs.
 */
import { countTokens } from 'gpt-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, waitForCalls, type TestGateway } from '../helpers/gateway.js';

const REPLY = 'four tokens of reply';
// $1 per output token, nothing for input: a call costs exactly its output tokens in dollars.
const YAML = `
model_list:
  - model_name: priced
    litellm_params: { model: mock/priced, mock_response: "${REPLY}", input_cost_per_token: 0, output_cost_per_token: 1 }
general_settings: { master_key: sk-1234 }
`;

describe('a user budget enforced on proxied requests', () => {
  let gw: TestGateway;
  const post = (path: string, body: unknown, key: string) =>
    fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    gw = await startGateway(YAML);
  });
  afterAll(() => gw.close());

  it('spends until the budget is used, then refuses with 400 budget_exceeded in both envelopes', async () => {
    const user = (await (await post('/user/new', { user_email: 'bob@example.com', max_budget: 10, budget_duration: 'monthly' }, 'sk-1234')).json()) as { user_id: string };
    const key = ((await (await post('/key/generate', { user_id: user.user_id, key_alias: 'bob' }, 'sk-1234')).json()) as { key: string }).key;
    const perCall = countTokens(REPLY); // output tokens × $1

    let spent = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const res = await post('/v1/chat/completions', { model: 'priced', max_tokens: perCall, messages: [{ role: 'user', content: 'hi' }] }, key);
      if (res.status === 400) refused = res;
      else {
        expect(res.status).toBe(200);
        expect(Number(res.headers.get('x-litellm-response-cost'))).toBe(perCall);
        // The key's spend after this call (a complete answer's cost is known when its headers go out).
        spent += perCall;
        expect(Number(res.headers.get('x-litellm-key-spend'))).toBe(spent);
        await waitForCalls(gw.gateway, i + 1);
        await new Promise((r) => setImmediate(r));
      }
    }
    expect(refused).toBeDefined();
    // Refused before the budget could be overshot by more than one call's reservation.
    expect(spent).toBeGreaterThanOrEqual(10 - perCall);
    expect(spent).toBeLessThanOrEqual(10 + perCall);
    const openai = (await refused!.json()) as { error: { type: string; code: string; message: string } };
    expect(openai.error).toMatchObject({ type: 'budget_exceeded', code: '400' });
    expect(openai.error.message).toContain(user.user_id);

    const anthropic = await post('/v1/messages', { model: 'priced', max_tokens: perCall, messages: [{ role: 'user', content: 'hi' }] }, key);
    expect(anthropic.status).toBe(400);
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });

    const info = (await (await fetch(`${gw.url}/key/info?key=${key}`, { headers: { authorization: 'Bearer sk-1234' } })).json()) as { info: { spend: number } };
    expect(info.info.spend).toBe(spent);

    // LiteLLM's budget gauges, from the same settlements.
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const gauge = (name: string, label: string): number | undefined => {
      const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(gauge('litellm_remaining_user_budget_metric', `user="${user.user_id}"`)).toBeCloseTo(10 - spent, 9);
    expect(gauge('litellm_user_max_budget_metric', `user="${user.user_id}"`)).toBe(10);
  });

  it('a key with rpm/tpm limits: x-ratelimit-* headers and the remaining-for-model gauges agree', async () => {
    const key = ((await (await post('/key/generate', { key_alias: 'limited', rpm_limit: 5, tpm_limit: 100000 }, 'sk-1234')).json()) as { key: string }).key;
    const res = await post('/v1/chat/completions', { model: 'priced', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }, key);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('4');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('litellm_remaining_api_key_requests_for_model{') && l.includes('api_key_alias="limited"') && l.includes('model="priced"'));
    expect(line?.split(' ').at(-1)).toBe('4');
  });

  it("spend logs: an admin-viewer key reads everyone's, an ordinary key only its own (none yet)", async () => {
    const viewer = (await (await post('/user/new', { user_role: 'proxy_admin_viewer' }, 'sk-1234')).json()) as { user_id: string };
    const viewerKey = ((await (await post('/key/generate', { user_id: viewer.user_id }, 'sk-1234')).json()) as { key: string }).key;
    const plainKey = ((await (await post('/key/generate', {}, 'sk-1234')).json()) as { key: string }).key;
    const get = (key: string) => fetch(`${gw.url}/spend/logs`, { headers: { authorization: `Bearer ${key}` } });
    const all = await get(viewerKey);
    expect(all.status).toBe(200);
    expect(((await all.json()) as unknown[]).length).toBeGreaterThan(0);
    const own = await get(plainKey);
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual([]);
  });
});
