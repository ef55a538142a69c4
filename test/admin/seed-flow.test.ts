/**
 * The seed's admin flow against the real server over HTTP, with curl-shaped requests: create a
 * user with a budget, generate a key for it, spend, and get LiteLLM's 400 budget_exceeded once over budget,
 * rendered in the OpenAI and the Anthropic envelope.
 *
 * The key is first used over HTTP for a real chat completion (a fraction of a cent). The "spend"
 * step then drives `gateway.policy.admit()` / `settle()` directly with $4 call records, exactly as
 * the proxy flow does, to hit round numbers; test/admin/budget-through-proxy.test.ts does the same
 * with real proxied requests only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { anthropicMessagesCodec, openAIChatCodec } from '../../src/http/surfaces.js';
import { VirtualKeyAuthenticator } from '../../src/policy/virtual-keys.js';
import { makeCall } from '../storage/calls.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const YAML = `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: { model: mock/gpt-4o-mini }
  - model_name: claude-sonnet-4-5
    litellm_params: { model: mock/claude-sonnet-4-5 }
general_settings:
  master_key: sk-1234
litellm_settings:
  timezone: UTC
`;

/** 2025-03-10 12:00 UTC */
let now = Date.UTC(2025, 2, 10, 12);
const USD = 1_000_000_000;

describe('seed admin flow (curl-shaped, real HTTP)', () => {
  let gw: TestGateway;
  const curl = async (method: string, path: string, body?: unknown, key = 'sk-1234') => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    gw = await startGateway(YAML, {}, () => now);
  });
  afterAll(async () => {
    await gw.close();
  });

  let userId = '';
  let key = '';

  it('POST /user/new with a monthly $10 budget', async () => {
    const res = await curl('POST', '/user/new', { user_email: 'alice@example.com', max_budget: 10, budget_duration: 'monthly' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ user_email: 'alice@example.com', max_budget: 10, budget_duration: 'monthly', budget_reset_at: '2025-04-01T00:00:00.000Z', spend: 0 });
    userId = res.body.user_id as string;
  });

  it('POST /key/generate for the user, then the key works on /v1/chat/completions', async () => {
    const res = await curl('POST', '/key/generate', { user_id: userId, key_alias: 'alice-laptop' });
    expect(res.status).toBe(200);
    key = res.body.key as string;
    expect(key).toMatch(/^sk-/);
    const chat = await curl('POST', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, key);
    expect(chat.status).toBe(200);
    expect((await curl('GET', '/v1/models', undefined, key)).status).toBe(200);
  });

  it('spends $4 a call until the user budget is used up, then 400 budget_exceeded in both envelopes', async () => {
    // The principal the HTTP surfaces get for this key, from an authenticator over the gateway's cache.
    const principal = new VirtualKeyAuthenticator('sk-1234', gw.gateway.tenancy).authenticate({ authorization: `Bearer ${key}` });
    expect(principal).toMatchObject({ keyAlias: 'alice-laptop', userId });
    const info0 = await curl('GET', `/key/info?key=${key}`);
    const base = (info0.body.info as { spend: number }).spend; // the real chat completion above
    expect(base).toBeGreaterThan(0);
    const admitOne = () => gw.gateway.policy.admit({ principal, requestedModel: 'gpt-4o-mini', estimatedInputTokens: 1000, maxOutputTokens: 1000, priceNano: () => 4 * USD });
    for (let i = 0; i < 3; i++) {
      const admission = await admitOne();
      expect(Number(admission.headers['x-litellm-key-spend'])).toBeCloseTo(base + 4 * i, 9);
      gw.gateway.policy.settle(admission, makeCall({ principal: admission.principal, costNanoUsd: 4 * USD }));
      await new Promise((r) => setImmediate(r));
    }
    let error: GatewayError | undefined;
    try {
      await admitOne();
    } catch (err) {
      error = err as GatewayError;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect([error!.status, error!.code]).toEqual([400, 'budget_exceeded']);
    expect(error!.message).toBe(`ExceededBudget: User=${userId} over budget. Spend=${12 + base}, Budget=10`);
    expect(openAIChatCodec.encodeError(error!, 'call-1')).toEqual({ error: { message: error!.message, type: 'budget_exceeded', param: null, code: '400' } });
    expect(anthropicMessagesCodec.encodeError(error!, 'call-1')).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: error!.message }, request_id: 'call-1' });

    const info = await curl('GET', `/key/info?key=${key}`);
    expect(info.body.info).toMatchObject({ key_alias: 'alice-laptop', spend: 12 + base, user_id: userId });
    const user = await curl('GET', `/user/info?user_id=${userId}`);
    expect(user.body.user_info).toMatchObject({ spend: 12 + base, max_budget: 10, budget_reset_at: '2025-04-01T00:00:00.000Z' });
  });

  it('the budget resets on the first of the month (injected clock)', async () => {
    now = Date.UTC(2025, 3, 1, 0, 0, 5);
    const user = await curl('GET', `/user/info?user_id=${userId}`);
    expect(user.body.user_info).toMatchObject({ spend: 0, budget_reset_at: '2025-05-01T00:00:00.000Z' });
  });

  it('a blocked key gets 401 on both surfaces, each in its own envelope', async () => {
    await curl('POST', '/key/block', { key });
    const openai = await curl('POST', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, key);
    expect(openai.status).toBe(401);
    expect(openai.body).toMatchObject({ error: { type: 'auth_error', code: '401' } });
    const anthropic = await curl('POST', '/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, key);
    expect(anthropic.status).toBe(401);
    expect(anthropic.body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });
});
