/**
 * `POST /v1/embeddings` through the real server to each provider's fake, in its own wire: OpenAI
 * and Azure get the client's bytes (model rewritten) and answer as they do; Bedrock Titan (one
 * call per text) and Cohere Embed, Vertex `:predict` and the Gemini API `:batchEmbedContents` get
 * the canonical request in their API and their answers are rendered as OpenAI's. Vectors are
 * checked against the fake's own vector function, tokens against its one-token-per-word rule, the
 * cost by hand from the configured price.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import { AZURE_FAKE_KEY } from '../fakes/azure-upstream.js';
import {
  BEDROCK_FAKE_CREDENTIALS, countWords, EMBEDDING_DEFAULT_DIMS, EMBEDDINGS_FAKE_KEYS, fakeEmbedding, float32Base64, OPENAI_FAKE_KEY, startFakeEmbeddings,
  type EmbeddingsFake,
} from '../fakes/index.js';
import { VERTEX_PROJECT } from '../fakes/vertex-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY, newCallId, openaiClient, postJson, recordFor } from './harness.js';

const PRICE = 0.0000001;
const price = `input_cost_per_token: ${PRICE}, output_cost_per_token: 0`;
const TEXTS = ['the first text to embed', 'and a second one'];
const TOKENS = TEXTS.reduce((sum, t) => sum + countWords(t), 0);

let fake: EmbeddingsFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startFakeEmbeddings();
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-embed-')), 'vertex-sa.json');
  writeFileSync(keyFile, JSON.stringify(fake.vertex.credentials));
  const aws = `aws_bedrock_runtime_endpoint: "${fake.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
  gw = await startGateway(`
model_list:
  - model_name: openai-embed
    litellm_params: { model: openai/text-embedding-3-small, api_base: "${fake.url}/v1", api_key: ${OPENAI_FAKE_KEY}, ${price} }
  - model_name: azure-embed
    litellm_params: { model: azure/text-embedding-3-small, api_base: "${fake.url}", api_key: ${AZURE_FAKE_KEY}, api_version: "2024-10-21", ${price} }
  - model_name: titan
    litellm_params: { model: bedrock/amazon.titan-embed-text-v2:0, ${aws}, ${price} }
  - model_name: cohere-bedrock
    litellm_params: { model: bedrock/cohere.embed-english-v3, ${aws}, ${price} }
  - model_name: vertex-embed
    litellm_params: { model: vertex_ai/text-embedding-005, api_base: "${fake.url}", vertex_project: ${VERTEX_PROJECT}, vertex_location: us-central1, vertex_credentials: "${keyFile}", ${price} }
  - model_name: vertex-gemini-embed
    litellm_params: { model: vertex_ai/gemini-embedding-001, api_base: "${fake.url}", vertex_project: ${VERTEX_PROJECT}, vertex_location: us-central1, vertex_credentials: "${keyFile}", ${price} }
  - model_name: gemini-embed
    litellm_params: { model: gemini/gemini-embedding-001, api_base: "${fake.url}", api_key: ${EMBEDDINGS_FAKE_KEYS.gemini}, ${price} }
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});

async function embed(model: string, body: JsonObject = {}): Promise<{ answer: JsonObject; callId: string }> {
  const callId = newCallId();
  const res = await postJson(gw.url, '/v1/embeddings', { model, input: TEXTS, encoding_format: 'float', ...body }, { 'x-litellm-call-id': callId });
  expect(res.status, await res.clone().text()).toBe(200);
  return { answer: (await res.json()) as JsonObject, callId };
}

function vectors(answer: JsonObject): number[][] {
  return (answer.data as JsonObject[]).map((d) => d.embedding as number[]);
}

function closeTo(actual: number[][], expected: number[][]): void {
  expect(actual.map((v) => v.length)).toEqual(expected.map((v) => v.length));
  actual.forEach((v, i) => v.forEach((x, j) => expect(x).toBeCloseTo(expected[i]![j]!, 6)));
}

describe('OpenAI-shaped upstreams: bytes through', () => {
  it('openai: the client body upstream with the model rewritten, the fake\'s answer back, usage metered', async () => {
    const { answer, callId } = await embed('openai-embed');
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe('/v1/embeddings');
    expect(sent.json).toEqual({ model: 'text-embedding-3-small', input: TEXTS, encoding_format: 'float' });
    closeTo(vectors(answer), TEXTS.map((t) => fakeEmbedding(t)));
    expect(answer.usage).toEqual({ prompt_tokens: TOKENS, total_tokens: TOKENS });
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-embeddings', passthrough: true, costNanoUsd: Math.round(TOKENS * PRICE * 1e9) });
    expect(record.usage).toMatchObject({ inputUncached: TOKENS, output: 0 });
  });

  it('azure: the deployment path; the SDK\'s default base64 decodes to the same vectors', async () => {
    const client = openaiClient(gw.url);
    const answer = await client.embeddings.create({ model: 'azure-embed', input: TEXTS });
    expect(fake.requests.at(-1)!.path).toBe('/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21');
    closeTo(answer.data.map((d) => d.embedding), TEXTS.map((t) => fakeEmbedding(t)));
    const raw = (await (await postJson(gw.url, '/v1/embeddings', { model: 'azure-embed', input: TEXTS[0], encoding_format: 'base64' })).json()) as JsonObject;
    expect((raw.data as JsonObject[])[0]!.embedding).toBe(float32Base64(fakeEmbedding(TEXTS[0]!)));
  });
});

describe('translated providers: their own wire, OpenAI\'s answer', () => {
  it('bedrock titan: one InvokeModel per text with dimensions; token counts from each answer', async () => {
    const before = fake.requests.length;
    const { answer, callId } = await embed('titan', { dimensions: 16 });
    const calls = fake.requests.slice(before).filter((r) => r.path.includes('/invoke'));
    expect(calls.map((c) => c.path)).toEqual(TEXTS.map(() => `/model/${encodeURIComponent('amazon.titan-embed-text-v2:0')}/invoke`));
    expect(calls.map((c) => c.json)).toEqual(expect.arrayContaining(TEXTS.map((inputText) => ({ inputText, dimensions: 16 }))));
    closeTo(vectors(answer), TEXTS.map((t) => fakeEmbedding(t, 16)));
    expect(answer).toMatchObject({ object: 'list', model: 'amazon.titan-embed-text-v2:0', usage: { prompt_tokens: TOKENS, total_tokens: TOKENS } });
    expect((await recordFor(gw.gateway, callId)).costNanoUsd).toBe(Math.round(TOKENS * PRICE * 1e9));
  });

  it('bedrock cohere: one call with every text and input_type; tokens from Bedrock\'s header', async () => {
    const { answer } = await embed('cohere-bedrock', { input_type: 'search_query' });
    expect(fake.requests.at(-1)!.json).toEqual({ texts: TEXTS, input_type: 'search_query' });
    closeTo(vectors(answer), TEXTS.map((t) => fakeEmbedding(t)));
    expect(answer.usage).toMatchObject({ prompt_tokens: TOKENS });
  });

  it('vertex text-embedding: one :predict with every text; tokens from its statistics', async () => {
    const { answer } = await embed('vertex-embed', { dimensions: 12 });
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe(`/v1/projects/${VERTEX_PROJECT}/locations/us-central1/publishers/google/models/text-embedding-005:predict`);
    expect(sent.json).toEqual({ instances: TEXTS.map((content) => ({ content })), parameters: { outputDimensionality: 12 } });
    closeTo(vectors(answer), TEXTS.map((t) => fakeEmbedding(t, 12)));
    expect(answer.usage).toMatchObject({ prompt_tokens: TOKENS });
  });

  it('vertex gemini-embedding: one instance per :predict, as Vertex requires', async () => {
    const before = fake.requests.length;
    const { answer } = await embed('vertex-gemini-embed');
    const calls = fake.requests.slice(before).filter((r) => r.path.endsWith(':predict'));
    expect(calls).toHaveLength(TEXTS.length);
    closeTo(vectors(answer), TEXTS.map((t) => fakeEmbedding(t)));
    expect(answer.usage).toMatchObject({ prompt_tokens: TOKENS });
  });

  it('gemini API: :batchEmbedContents with one request per text', async () => {
    const { answer } = await embed('gemini-embed', { dimensions: 8 });
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(sent.json).toEqual({ requests: TEXTS.map((text) => ({ model: 'models/gemini-embedding-001', content: { parts: [{ text }] }, outputDimensionality: 8 })) });
    closeTo(vectors(answer), TEXTS.map((t) => fakeEmbedding(t, EMBEDDING_DEFAULT_DIMS)));
    // The Gemini API reports no usage: the tokenizer's count stands in, never zero for real text.
    expect((answer.usage as JsonObject).prompt_tokens).toBeGreaterThan(0);
  });

  it('token ids to a provider that embeds text only: a 400 naming input; an upstream error keeps its status', async () => {
    const res = await postJson(gw.url, '/v1/embeddings', { model: 'titan', input: [[1, 2, 3]] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: JsonObject }).error).toMatchObject({ param: 'input' });
    fake.script([{ status: 429 }]);
    const limited = await postJson(gw.url, '/v1/embeddings', { model: 'openai-embed', input: 'x', num_retries: 0 });
    expect(limited.status).toBe(429);
  });
});
