/**
 * The fake embedding endpoints: each provider's request/answer shape, base64 floats, token counts,
 * auth (Bedrock SigV4 and Vertex tokens as the inner fakes check them), validation errors and
 * scripted steps. Expected numbers are written out by hand or decoded independently of the fake.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVertexCredentials } from '../../src/providers/vertex/auth.js';
import {
  EMBEDDING_DEFAULT_DIMS, EMBEDDING_MAX_DIMS, EMBEDDINGS_FAKE_KEYS, fakeEmbedding, startFakeEmbeddings, type EmbeddingsFake,
} from './embeddings-upstream.js';
import { VERTEX_PROJECT } from './vertex-upstream.js';

const BEARER = 'ABSKembeddings-api-key';
let fake: EmbeddingsFake;
let token: string;
beforeAll(async () => {
  fake = await startFakeEmbeddings({ bedrock: { bearerToken: BEARER } });
  token = await (await loadVertexCredentials(fake.vertex.credentials)).tokens.get();
});
afterAll(() => fake.close());

/** Parsed JSON bodies stay loosely typed, as in test/admin/harness.ts. */
type Json = ReturnType<typeof JSON.parse>;
interface Res { status: number; headers: Headers; json: Json }
async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
}
const oa = (body: unknown, key: string = EMBEDDINGS_FAKE_KEYS.openai): Promise<Res> => post('/v1/embeddings', body, { authorization: `Bearer ${key}` });

/** Little-endian float32 decoding written here, not taken from the fake. */
function decodeFloat32(b64: string): number[] {
  const buf = Buffer.from(b64, 'base64');
  return Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4));
}

describe('fakeEmbedding', () => {
  it('is deterministic, text-specific, in [-1, 1] and exact in float32', () => {
    const v = fakeEmbedding('hello world');
    expect(v).toHaveLength(EMBEDDING_DEFAULT_DIMS);
    expect(EMBEDDING_DEFAULT_DIMS).toBe(8);
    expect(fakeEmbedding('hello world')).toEqual(v);
    expect(fakeEmbedding('hello world!')).not.toEqual(v);
    expect(fakeEmbedding('hello world', 16).slice(0, 8)).toEqual(v);
    for (const x of fakeEmbedding('range', 512)) {
      expect(x).toBeGreaterThanOrEqual(-1);
      expect(x).toBeLessThanOrEqual(1);
      expect(Math.fround(x)).toBe(x);
    }
    expect(new Set(v).size).toBeGreaterThan(4);
    expect(fakeEmbedding('x', 5000)).toHaveLength(EMBEDDING_MAX_DIMS);
  });
});

describe('OpenAI POST /v1/embeddings', () => {
  it('answers a string input with one embedding and word-count usage', async () => {
    const res = await oa({ model: 'text-embedding-3-small', input: 'the quick brown fox' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      object: 'list', model: 'text-embedding-3-small',
      data: [{ object: 'embedding', index: 0, embedding: fakeEmbedding('the quick brown fox') }],
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
    expect(res.headers.get('x-request-id')).toMatch(/^req_fake_emb/);
    expect(fake.requests.at(-1)?.json).toEqual({ model: 'text-embedding-3-small', input: 'the quick brown fox' });
  });

  it('keeps input order, honours dimensions and sums usage over inputs', async () => {
    const res = await oa({ model: 'text-embedding-3-large', input: ['a b c', 'd e'], dimensions: 16, user: 'u1' });
    expect([res.json.data[0].index, res.json.data[1].index]).toEqual([0, 1]);
    expect(res.json.data[0].embedding).toEqual(fakeEmbedding('a b c', 16));
    expect(res.json.data[1].embedding).toHaveLength(16);
    expect(res.json.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
  });

  it('counts token-id arrays by their length', async () => {
    const many = await oa({ model: 'text-embedding-3-small', input: [[1, 2, 3], [4]] });
    expect(many.json.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    expect(many.json.data[0].embedding).toEqual(fakeEmbedding('[1,2,3]'));
    const one = await oa({ model: 'text-embedding-3-small', input: [7, 8] });
    expect(one.json.data).toHaveLength(1);
    expect(one.json.usage.prompt_tokens).toBe(2);
  });

  it('encoding_format base64 decodes to the same floats', async () => {
    const input = ['alpha beta', 'gamma'];
    const floats = await oa({ model: 'text-embedding-3-small', input, dimensions: 12 });
    const b64 = await oa({ model: 'text-embedding-3-small', input, dimensions: 12, encoding_format: 'base64' });
    for (const i of [0, 1]) {
      const text: string = b64.json.data[i].embedding;
      expect(typeof text).toBe('string');
      expect(Buffer.from(text, 'base64')).toHaveLength(48);
      expect(decodeFloat32(text)).toEqual(floats.json.data[i].embedding);
    }
    expect(b64.json.usage.prompt_tokens).toBe(3);
  });

  it.each([
    ['empty string', { model: 'text-embedding-3-small', input: '' }, 'input'],
    ['empty list', { model: 'text-embedding-3-small', input: [] }, 'input'],
    ['empty string in a list', { model: 'text-embedding-3-small', input: ['a', ''] }, 'input'],
    ['missing model', { input: 'hi' }, 'model'],
    ['dimensions on ada-002', { model: 'text-embedding-ada-002', input: 'hi', dimensions: 8 }, 'dimensions'],
    ['unknown encoding_format', { model: 'text-embedding-3-small', input: 'hi', encoding_format: 'int8' }, 'encoding_format'],
  ])('400 in OpenAI\'s envelope for %s', async (_name, body, param) => {
    const res = await oa(body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(typeof res.json.error.message).toBe('string');
  });

  it('401 without a key and with a wrong one', async () => {
    const none = await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'hi' });
    expect(none.status).toBe(401);
    const wrong = await oa({ model: 'text-embedding-3-small', input: 'hi' }, 'sk-wrong');
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('invalid_api_key');
  });
});

describe('Azure POST /openai/deployments/{d}/embeddings', () => {
  const path = (d: string, q = '?api-version=2024-10-21'): string => `/openai/deployments/${d}/embeddings${q}`;
  it('answers with the deployment\'s model, by api-key or Entra ID token', async () => {
    const res = await post(path('embeddings-large'), { input: ['one two'] }, { 'api-key': EMBEDDINGS_FAKE_KEYS.azure });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ object: 'list', model: 'text-embedding-3-large', usage: { prompt_tokens: 2, total_tokens: 2 } });
    expect(res.json.data[0].embedding).toEqual(fakeEmbedding('one two'));
    const ad = await post(path('text-embedding-3-small'), { input: 'x', encoding_format: 'base64' }, { authorization: `Bearer ${EMBEDDINGS_FAKE_KEYS.azureAdToken}` });
    expect(decodeFloat32(ad.json.data[0].embedding)).toEqual(fakeEmbedding('x'));
  });
  it('401 bad key, 404 without api-version or for an unknown deployment', async () => {
    expect((await post(path('embeddings-large'), { input: 'x' }, { 'api-key': 'nope' })).status).toBe(401);
    expect((await post(path('embeddings-large', ''), { input: 'x' }, { 'api-key': EMBEDDINGS_FAKE_KEYS.azure })).status).toBe(404);
    const missing = await post(path('nope'), { input: 'x' }, { 'api-key': EMBEDDINGS_FAKE_KEYS.azure });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('DeploymentNotFound');
  });
});

describe('Bedrock POST /model/{id}/invoke', () => {
  const signer = new SignatureV4({ credentials: EMBEDDINGS_FAKE_KEYS.bedrock, region: 'us-east-1', service: 'bedrock', sha256: Hash.bind(null, 'sha256') });
  async function invoke(modelId: string, body: unknown, sendBody?: string): Promise<Res> {
    const url = new URL(`${fake.url}/model/${encodeURIComponent(modelId)}/invoke`);
    const text = JSON.stringify(body);
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, headers: { host: url.host, 'content-type': 'application/json' }, body: text });
    const { host: _host, ...headers } = signed.headers;
    const res = await fetch(url, { method: 'POST', headers, body: sendBody ?? text });
    return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
  }

  it('Titan v2: embedding, embeddingsByType and inputTextTokenCount', async () => {
    const res = await invoke('amazon.titan-embed-text-v2:0', { inputText: 'red green blue', dimensions: 16, normalize: true, embeddingTypes: ['float', 'binary'] });
    expect(res.status).toBe(200);
    const v = fakeEmbedding('red green blue', 16);
    expect(res.json).toEqual({ embedding: v, embeddingsByType: { float: v, binary: v.map((x) => (x > 0 ? 1 : 0)) }, inputTextTokenCount: 3 });
    expect(res.headers.get('x-amzn-bedrock-input-token-count')).toBe('3');
  });

  it('Titan v1: embedding and count only; it has no dimensions parameter', async () => {
    const res = await invoke('amazon.titan-embed-text-v1', { inputText: 'one two' });
    expect(res.json).toEqual({ embedding: fakeEmbedding('one two'), inputTextTokenCount: 2 });
    const extra = await invoke('amazon.titan-embed-text-v1', { inputText: 'one', dimensions: 256 });
    expect(extra.status).toBe(400);
    expect(extra.headers.get('x-amzn-errortype')).toMatch(/^ValidationException/);
    expect(extra.json.message).toContain('extraneous key [dimensions]');
  });

  it('Cohere v3: float embeddings, texts echoed, tokens in X-Amzn-Bedrock-Input-Token-Count', async () => {
    const texts = ['hello there', 'general kenobi you are'];
    const res = await invoke('cohere.embed-english-v3', { texts, input_type: 'search_document', truncate: 'END' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ embeddings: texts.map((t) => fakeEmbedding(t)), response_type: 'embeddings_floats', texts });
    expect(res.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-amzn-bedrock-input-token-count')).toBe('6');
  });

  it('Cohere v3 with embedding_types: int8 and ubinary by type', async () => {
    const res = await invoke('cohere.embed-multilingual-v3', { texts: ['q'], input_type: 'search_query', embedding_types: ['int8', 'ubinary'] });
    const v = fakeEmbedding('q');
    expect(res.json.response_type).toBe('embeddings_by_type');
    expect(res.json.embeddings.int8).toEqual([v.map((x) => Math.round(x * 127))]);
    const bits = v.map((x) => (x > 0 ? '1' : '0')).join('');
    expect(res.json.embeddings.ubinary).toEqual([[parseInt(bits, 2)]]);
  });

  it('validates Cohere bodies and model ids', async () => {
    expect((await invoke('cohere.embed-english-v3', { texts: ['a'] })).json.message).toContain('required key [input_type]');
    expect((await invoke('cohere.embed-english-v3', { texts: [], input_type: 'search_query' })).status).toBe(400);
    const unknown = await invoke('amazon.nope-v1', { inputText: 'a' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toBe('The provided model identifier is invalid.');
  });

  it('auth as the Bedrock fake checks it: bearer API key, missing and tampered signatures', async () => {
    const bearer = await post(`/model/amazon.titan-embed-text-v2:0/invoke`, { inputText: 'hi' }, { authorization: `Bearer ${BEARER}` });
    expect(bearer.status).toBe(200);
    const none = await post(`/model/amazon.titan-embed-text-v2:0/invoke`, { inputText: 'hi' });
    expect(none.status).toBe(403);
    expect(none.headers.get('x-amzn-errortype')).toMatch(/^MissingAuthenticationTokenException/);
    const tampered = await invoke('amazon.titan-embed-text-v2:0', { inputText: 'hi' }, JSON.stringify({ inputText: 'bye' }));
    expect(tampered.status).toBe(403);
    expect(tampered.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException/);
  });
});

describe('Vertex AI :predict', () => {
  const path = (model: string, project = VERTEX_PROJECT): string => `/v1/projects/${project}/locations/us-central1/publishers/google/models/${model}:predict`;
  it('predictions with values and statistics, billable characters without whitespace', async () => {
    const body = { instances: [{ content: 'hello world', task_type: 'RETRIEVAL_DOCUMENT', title: 'T' }, { content: 'a b' }], parameters: { outputDimensionality: 4, autoTruncate: true } };
    const res = await post(path('text-embedding-005'), body, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      predictions: [
        { embeddings: { values: fakeEmbedding('hello world', 4), statistics: { token_count: 2, truncated: false } } },
        { embeddings: { values: fakeEmbedding('a b', 4), statistics: { token_count: 2, truncated: false } } },
      ],
      metadata: { billableCharacterCount: 12 },
    });
  });
  it('400 for a task type outside Google\'s enum', async () => {
    const res = await post(path('text-embedding-005'), { instances: [{ content: 'a', task_type: 'SEARCH_QUERY' }] }, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain('SEARCH_QUERY');
  });
  it('gemini-embedding-001 takes one instance per request', async () => {
    const res = await post(path('gemini-embedding-001'), { instances: [{ content: 'a' }, { content: 'b' }] }, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(400);
    expect(res.json.error.status).toBe('INVALID_ARGUMENT');
  });
  it('401 without or with a forged token, 403 for another project', async () => {
    const body = { instances: [{ content: 'a' }] };
    expect((await post(path('text-embedding-005'), body)).status).toBe(401);
    expect((await post(path('text-embedding-005'), body, { authorization: 'Bearer ya29.forged' })).json.error.status).toBe('UNAUTHENTICATED');
    expect((await post(path('text-embedding-005', 'other-project'), body, { authorization: `Bearer ${token}` })).json.error.status).toBe('PERMISSION_DENIED');
  });
});

describe('Gemini API embeddings', () => {
  const key = { 'x-goog-api-key': EMBEDDINGS_FAKE_KEYS.gemini };
  it(':batchEmbedContents answers one embedding per request and no usage', async () => {
    const requests = [
      { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'first' }] }, taskType: 'RETRIEVAL_QUERY', outputDimensionality: 6 },
      { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'second' }, { text: 'part' }] } },
    ];
    const res = await post('/v1beta/models/gemini-embedding-001:batchEmbedContents', { requests }, key);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ embeddings: [{ values: fakeEmbedding('first', 6) }, { values: fakeEmbedding('second part') }] });
  });
  it(':embedContent answers a single embedding', async () => {
    const res = await post('/v1beta/models/gemini-embedding-001:embedContent', { content: { parts: [{ text: 'solo' }] } }, key);
    expect(res.json).toEqual({ embedding: { values: fakeEmbedding('solo') } });
  });
  it('400 for a request model that is not the batch model, 403/400 for missing/wrong keys', async () => {
    const bad = await post('/v1beta/models/gemini-embedding-001:batchEmbedContents', { requests: [{ model: 'gemini-embedding-001', content: { parts: [{ text: 'x' }] } }] }, key);
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('requests[0].model');
    const task = await post('/v1beta/models/gemini-embedding-001:embedContent', { content: { parts: [{ text: 'x' }] }, taskType: 'search_query' }, key);
    expect(task.status).toBe(400);
    const body = { content: { parts: [{ text: 'x' }] } };
    expect((await post('/v1beta/models/gemini-embedding-001:embedContent', body)).status).toBe(403);
    const wrong = await post('/v1beta/models/gemini-embedding-001:embedContent', body, { 'x-goog-api-key': 'AIza-wrong' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.details[0].reason).toBe('API_KEY_INVALID');
  });
});

describe('scripted steps', () => {
  it('a status step answers in the provider\'s envelope, then requests succeed again', async () => {
    fake.script([{ status: 429, retryAfter: 2 }]);
    const limited = await oa({ model: 'text-embedding-3-small', input: 'hi' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.json.error.code).toBe('rate_limit_exceeded');
    expect(fake.requests.at(-1)?.step).toEqual({ status: 429, retryAfter: 2 });
    expect((await oa({ model: 'text-embedding-3-small', input: 'hi' })).status).toBe(200);
  });
  it('Bedrock errors carry x-amzn-errortype; rejected requests do not consume steps', async () => {
    fake.script([{ status: 429 }]);
    expect((await post('/model/amazon.titan-embed-text-v1/invoke', { inputText: 'hi' })).status).toBe(403);
    const res = await post('/model/amazon.titan-embed-text-v1/invoke', { inputText: 'hi' }, { authorization: `Bearer ${BEARER}` });
    expect(res.status).toBe(429);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^ThrottlingException/);
  });
  it('reset drops the connection', async () => {
    fake.script([{ kind: 'reset' }]);
    await expect(post('/v1beta/models/m:embedContent', { content: { parts: [{ text: 'x' }] } }, { 'x-goog-api-key': EMBEDDINGS_FAKE_KEYS.gemini })).rejects.toThrow();
  });
  it('unknown routes are 404', async () => {
    expect((await post('/v1/chat/completions', {})).status).toBe(404);
  });
});
