/**
 * The native Bedrock route enforces what every other route does: a virtual key without access to
 * the model is refused (403, naming the models it may use) in Bedrock's error shape, before
 * anything reaches the upstream; a key with access is served and its spend settles from the record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY } from '../e2e/harness.js';
import { BEDROCK_FAKE_CREDENTIALS, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import type { TestGateway } from '../helpers/gateway.js';
import { bedrockModeHeaders, startNativeGateway } from './helpers.js';

const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

let fake: BedrockFakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startFakeBedrock();
  gw = await startNativeGateway(`
model_list:
  - model_name: claude-bedrock
    litellm_params: { model: bedrock/${PROFILE}, aws_bedrock_runtime_endpoint: "${fake.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}" }
  - model_name: mock-only
    litellm_params: { model: mock/mock-only }
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});

async function keyFor(models: string[]): Promise<string> {
  const res = await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ models }) });
  return ((await res.json()) as { key: string }).key;
}

const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });

describe('admission on /bedrock/model/{id}/invoke', () => {
  it('refuses a key without access to the model, in Bedrock error shape, without calling Bedrock', async () => {
    const key = await keyFor(['mock-only']);
    const before = fake.requests.length;
    const res = await fetch(`${gw.url}/bedrock/model/${encodeURIComponent(PROFILE)}/invoke`, { method: 'POST', headers: bedrockModeHeaders('c-403', key), body });
    expect(res.status).toBe(403);
    const error = (await res.json()) as { message: string };
    expect(error.message).toContain('mock-only');
    expect(fake.requests.length).toBe(before);
  });

  it('serves a key that may use it, and settles its spend', async () => {
    const key = await keyFor(['claude-bedrock']);
    const res = await fetch(`${gw.url}/bedrock/model/${encodeURIComponent(PROFILE)}/invoke`, { method: 'POST', headers: bedrockModeHeaders('c-ok', key), body });
    expect(res.status).toBe(200);
    const record = gw.gateway.calls.records().at(-1)!;
    expect(record.costNanoUsd).toBeGreaterThan(0);
    // Spend after this call: it was the key's first.
    expect(Number(res.headers.get('x-litellm-key-spend'))).toBeCloseTo(record.costNanoUsd! / 1e9, 12);
    await new Promise((r) => setTimeout(r, 50));
    const info = (await (await fetch(`${gw.url}/key/info?key=${key}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as { info: { spend: number } };
    expect(info.info.spend).toBeCloseTo(record.costNanoUsd! / 1e9, 12);
  });
});

describe('admission on /v1/messages/count_tokens', () => {
  it('refuses a key without access to the model (403) before anything reaches the upstream', async () => {
    const key = await keyFor(['mock-only']);
    const before = fake.requests.length;
    const res = await fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect(fake.requests.length).toBe(before);
    const allowed = await fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'mock-only', messages: [{ role: 'user', content: 'hi there' }] }),
    });
    expect(allowed.status).toBe(200);
    expect(((await allowed.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
  });
});
