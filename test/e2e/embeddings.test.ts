/**
 * `POST /v1/embeddings` end to end through the real server with the official openai SDK: the
 * built-in mock model (translated: the canonical request, OpenAI's answer rendered, base64 as the
 * SDK asks for by default), admission and metering like every call, and bad input named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import { MOCK_EMBEDDING_DIMENSIONS } from '../../src/providers/mock/embeddings.js';
import { estimateTokens, tokenizerReady } from '../../src/providers/shared/token-estimate.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY, newCallId, openaiClient, postJson, recordFor } from './harness.js';

const PRICE_IN = 0.00000002;
let gw: TestGateway;

beforeAll(async () => {
  await tokenizerReady();
  gw = await startGateway(`
model_list:
  - model_name: embed-mock
    litellm_params: { model: mock/text-embedding-mock, input_cost_per_token: ${PRICE_IN}, output_cost_per_token: 0 }
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(() => gw.close());

describe('embeddings on a translated provider (mock)', () => {
  it('the SDK (base64 by default) gets one unit vector per input, in order; usage and cost metered', async () => {
    const client = openaiClient(gw.url);
    const texts = ['the quick brown fox', 'jumps over the lazy dog'];
    const callId = newCallId();
    const { data: answer, response } = await client.embeddings.create({ model: 'embed-mock', input: texts }, { headers: { 'x-litellm-call-id': callId } }).withResponse();
    expect(answer.data.map((d) => d.index)).toEqual([0, 1]);
    for (const d of answer.data) {
      expect(d.embedding).toHaveLength(MOCK_EMBEDDING_DIMENSIONS);
      expect(Math.hypot(...d.embedding)).toBeCloseTo(1, 5);
    }
    const tokens = texts.reduce((sum, t) => sum + estimateTokens(t), 0);
    expect(answer.usage).toMatchObject({ prompt_tokens: tokens, total_tokens: tokens });
    const cost = Math.round(tokens * PRICE_IN * 1e9);
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeCloseTo(cost / 1e9, 15);
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-embeddings', outcome: 'success', passthrough: false, costNanoUsd: cost });
    expect(record.usage).toMatchObject({ inputUncached: tokens, output: 0 });
    // Same text, same vector: float and base64 encodings agree.
    const floats = (await (await postJson(gw.url, '/v1/embeddings', { model: 'embed-mock', input: texts[0], encoding_format: 'float', dimensions: 16 })).json()) as { data: { embedding: number[] }[] };
    const again = await client.embeddings.create({ model: 'embed-mock', input: texts[0]!, dimensions: 16 });
    expect(floats.data[0]!.embedding).toHaveLength(16);
    again.data[0]!.embedding.forEach((v, i) => expect(v).toBeCloseTo(floats.data[0]!.embedding[i]!, 6));
  });

  it('the Azure-style route takes the model from the path', async () => {
    const res = await postJson(gw.url, '/openai/deployments/embed-mock/embeddings', { input: 'hello' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as JsonObject).object).toBe('list');
  });

  it('bad input is a 400 in the OpenAI envelope naming the field; a bad key is a 401', async () => {
    const cases: [unknown, string][] = [
      [{ model: 'embed-mock', input: '' }, 'input'],
      [{ model: 'embed-mock', input: [] }, 'input'],
      [{ model: 'embed-mock', input: ['a', ''] }, 'input[1]'],
      [{ model: 'embed-mock', input: [{ text: 'a' }] }, 'input'],
      [{ model: 'embed-mock' }, 'input'],
      [{ input: 'a' }, 'model'],
      [{ model: 'embed-mock', input: 'a', encoding_format: 'int8' }, 'encoding_format'],
      [{ model: 'embed-mock', input: 'a', dimensions: 0 }, 'dimensions'],
    ];
    for (const [body, param] of cases) {
      const res = await postJson(gw.url, '/v1/embeddings', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: JsonObject }).error).toMatchObject({ param, code: '400' });
    }
    const anon = await fetch(`${gw.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-wrong' }, body: '{"model":"embed-mock","input":"a"}' });
    expect(anon.status).toBe(401);
  });
});
