/**
 * litellm_params.max_tokens is the limit a deployment applies when the client sends none — on the
 * passthrough path too, where the client's bytes are otherwise forwarded as they are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY, postJson } from './harness.js';

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  [anthropic, openai] = await Promise.all([startFakeAnthropic(), startFakeOpenAI()]);
  gw = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: sk-ant-fake, max_tokens: 321 }
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${openai.url}/v1", api_key: sk-openai-fake, max_tokens: 123 }
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(async () => {
  await gw.close();
  await Promise.all([anthropic.close(), openai.close()]);
});

const headers = { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01' };

describe('litellm_params.max_tokens on the passthrough path', () => {
  it('Anthropic: added when the client sent none, the client’s own value kept otherwise', async () => {
    expect((await postJson(gw.url, '/v1/messages', { model: 'claude', messages: [{ role: 'user', content: 'hi' }] }, headers)).status).toBe(200);
    expect(anthropic.requests.at(-1)!.json).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 321 });
    expect((await postJson(gw.url, '/v1/messages', { model: 'claude', max_tokens: 7, messages: [{ role: 'user', content: 'hi' }] }, headers)).status).toBe(200);
    expect(anthropic.requests.at(-1)!.json).toMatchObject({ max_tokens: 7 });
  });

  it('OpenAI: added as max_tokens when the client set neither max_tokens nor max_completion_tokens', async () => {
    const auth = { authorization: `Bearer ${MASTER_KEY}` };
    expect((await postJson(gw.url, '/v1/chat/completions', { model: 'gpt', messages: [{ role: 'user', content: 'hi' }] }, auth)).status).toBe(200);
    expect(openai.requests.at(-1)!.json).toMatchObject({ model: 'gpt-4o-mini', max_tokens: 123 });
    expect((await postJson(gw.url, '/v1/chat/completions', { model: 'gpt', max_completion_tokens: 9, messages: [{ role: 'user', content: 'hi' }] }, auth)).status).toBe(200);
    const sent = openai.requests.at(-1)!.json as Record<string, unknown>;
    expect(sent.max_completion_tokens).toBe(9);
    expect(sent.max_tokens).toBeUndefined();
  });
});
