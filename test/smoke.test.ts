import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, waitForCalls, type TestGateway } from './helpers/gateway.js';

describe('smoke: mock model through the real server', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(`
model_list:
  - model_name: "*"
    litellm_params: { model: mock/*, mock_response: "pong" }
`);
  });
  afterAll(() => gw.close());

  it('answers a chat completion and records one call', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'anything', messages: [{ role: 'user', content: 'ping' }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe('pong');
    await waitForCalls(gw.gateway, 1);
    expect(gw.gateway.calls.records()[0]?.requestId).toBe(res.headers.get('x-litellm-call-id'));
  });
});
