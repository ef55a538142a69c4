/**
 * The end-user budget-tier flow a service written for LiteLLM uses, through the real server:
 * `/budget/new` → `/customer/new {"user_id", "budget_id"}` → `/v1/chat/completions` with `user` set
 * until refused. The rpm refusal is LiteLLM's 429 with retry-after; the budget refusal is LiteLLM's
 * 400 `budget_exceeded` with its end-user wording (which the OpenAI SDK and Claude Code do not retry).
 * Costs are exact: the mock model priced at $1 per output token and nothing for input.
 */
import { countTokens } from 'gpt-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, waitForCalls, type TestGateway } from '../helpers/gateway.js';

const REPLY = 'four tokens of reply';
const PER_CALL = countTokens(REPLY); // USD per call: output tokens × $1
const YAML = `
model_list:
  - model_name: priced
    litellm_params: { model: mock/priced, mock_response: "${REPLY}", input_cost_per_token: 0, output_cost_per_token: 1 }
general_settings: { master_key: sk-1234 }
`;

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

describe('budget tiers for end users, through the server', () => {
  let gw: TestGateway;
  let key: string;
  const post = (path: string, body: unknown, k: string) =>
    fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const admin = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await post(path, body, 'sk-1234');
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const chat = (user: string, k = key) => post('/v1/chat/completions', { model: 'priced', max_tokens: PER_CALL, user, messages: [{ role: 'user', content: 'hi' }] }, k);
  /** Calls until one is refused; returns how many were served and the refusal. */
  const untilRefused = async (user: string, k = key): Promise<{ served: number; refused: Response }> => {
    let served = 0;
    for (let i = 0; i < 20; i++) {
      const before = gw.gateway.calls.records().length;
      const res = await chat(user, k);
      if (res.status !== 200) return { served, refused: res };
      await res.arrayBuffer();
      served += 1;
      // Settlement follows the call record; the next call must see this one's spend.
      await waitForCalls(gw.gateway, before + 1);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('never refused');
  };

  beforeAll(async () => {
    gw = await startGateway(YAML);
    key = (await admin('/key/generate', { key_alias: 'tier-service' })).key as string;
  });
  afterAll(() => gw.close());

  it('rpm 2: two calls served, the third is a 429 with retry-after and LiteLLM\'s rate-limit message', async () => {
    const tier = await admin('/budget/new', { budget_id: 'free-tier', rpm_limit: 2, max_budget: 1000 });
    expect(tier).toMatchObject({ budget_id: 'free-tier', rpm_limit: 2, max_budget: 1000 });
    const customer = await admin('/customer/new', { user_id: 'cust-rpm', budget_id: 'free-tier' });
    expect(customer).toMatchObject({ user_id: 'cust-rpm', budget_id: 'free-tier', litellm_budget_table: { rpm_limit: 2 } });

    const { served, refused } = await untilRefused('cust-rpm');
    // Both served calls must have landed in the same minute for the count to be exactly 2.
    expect(served).toBe(2);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).toBe('429');
    expect(body.error.message).toMatch(/^Rate limit exceeded for end_user: cust-rpm\. Limit type: requests\. Current limit: 2, Remaining: 0\. Limit resets at: \d{4}-\d\d-\d\d \d\d:\d\d:00 UTC$/);
    // The tier limits each end user on it separately; another end user is served.
    await admin('/customer/new', { user_id: 'cust-rpm-2', budget_id: 'free-tier' });
    const other = await chat('cust-rpm-2');
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  it('max_budget: calls until the tier budget is used, then LiteLLM\'s 400 budget_exceeded for the end user', async () => {
    const budget = 2.5 * PER_CALL;
    await admin('/budget/new', { budget_id: 'paid-tier', max_budget: budget, rpm_limit: 1000 });
    await admin('/customer/new', { user_id: 'cust-budget', budget_id: 'paid-tier' });

    const { served, refused } = await untilRefused('cust-budget');
    // 0, 1 and 2 calls' spend are below 2.5 calls' worth; after the third the budget is used.
    expect(served).toBe(3);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(await refused.json()).toEqual({
      error: { message: `ExceededBudget: End User=cust-budget over budget. Spend=${3 * PER_CALL}, Budget=${budget}`, type: 'budget_exceeded', param: null, code: '400' },
    });
    const info = (await (await fetch(`${gw.url}/customer/info?end_user_id=cust-budget`, { headers: { authorization: 'Bearer sk-1234' } })).json()) as { spend: number; litellm_budget_table: { max_budget: number } };
    expect(info.spend).toBe(3 * PER_CALL);
    expect(info.litellm_budget_table.max_budget).toBe(budget);

    // Raising the tier's budget lets the end user through again.
    await admin('/budget/update', { budget_id: 'paid-tier', max_budget: 10 * PER_CALL });
    const again = await chat('cust-budget');
    expect(again.status).toBe(200);
    await again.arrayBuffer();
  });

  it('a tpm tier applies to master-key traffic too (LiteLLM\'s test_enduser_tpm_limits_with_master_key)', async () => {
    await admin('/budget/new', { budget_id: 'tpm-tier', tpm_limit: 2 });
    await admin('/customer/new', { user_id: 'cust-tpm', budget_id: 'tpm-tier' });
    const { served, refused } = await untilRefused('cust-tpm', 'sk-1234');
    expect(served).toBe(1);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as ErrorBody).error.message).toMatch(/^Rate limit exceeded for end_user: cust-tpm\. Limit type: tokens\. Current limit: 2, /);
  });
});
