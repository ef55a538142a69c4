/** Azure OpenAI against the fake Azure: deployment URL, api-version, api-key / Entra ID, passthrough tap, errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { collectStream } from '../../src/core/collect.js';
import type { Deployment } from '../../src/core/deployment.js';
import { GatewayError } from '../../src/core/errors.js';
import type { JsonObject } from '../../src/core/json.js';
import type { CanonicalRequest } from '../../src/core/request.js';
import type { CanonicalResponse } from '../../src/core/response.js';
import { usageCounts } from '../../src/core/usage.js';
import { AZURE_DEFAULT_API_VERSION, AzureTapInspector } from '../../src/providers/azure/adapter.js';
import { azureSelector } from '../../src/providers/azure/index.js';
import type { ProviderAdapter, UpstreamCall } from '../../src/providers/types.js';
import { AZURE_AD_TOKEN, AZURE_FAKE_KEY, azureError, startFakeAzure, type AzureFake } from '../fakes/azure-upstream.js';
import { countWords, fixtureReplayOpenAI, OPENAI_REPLY_TEXT } from '../fakes/index.js';
import { drain, FIXTURES, sseJson } from '../unit/fixtures.js';

const QUESTION = 'Which city is the capital of Denmark?';
let fake: AzureFake;
let adapter: ProviderAdapter;

function deployment(partial: Partial<Deployment> = {}): Deployment {
  return {
    id: 'azure-test', modelGroup: 'gpt-4o', provider: 'azure', model: 'gpt-4o-prod', apiBase: fake.url, apiKey: AZURE_FAKE_KEY,
    timeoutMs: 10_000, streamTimeoutMs: 10_000, params: {}, ...partial,
  };
}

function call(d: Deployment = deployment()): UpstreamCall {
  return { deployment: d, upstreamModel: d.model, signal: new AbortController().signal, clientHeaders: {} };
}

function request(partial: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { model: 'gpt-4o', system: [], messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }], stream: false, extra: {}, ...partial };
}

const chatBody = (extra: JsonObject = {}): JsonObject => ({ model: 'gpt-4o', messages: [{ role: 'user', content: QUESTION }], ...extra });

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

function comparable(res: CanonicalResponse): unknown {
  return { id: res.id !== '', model: res.model, content: res.content, stopReason: res.stopReason, usage: usageCounts(res.usage) };
}

beforeAll(async () => {
  fake = await startFakeAzure();
  adapter = azureSelector!(deployment());
});
afterAll(() => fake.close());
afterEach(() => {
  vi.unstubAllEnvs();
  fake.requests.length = 0;
});

describe('Azure OpenAI', () => {
  it('POSTs to the deployment path with api-version and api-key; the OpenAI answer comes back', async () => {
    expect(adapter.dialects).toEqual(['openai-chat', 'openai-responses', 'openai-responses-compact', 'openai-embeddings', 'openai-images', 'openai-audio-transcriptions', 'openai-audio-speech']);
    const res = await adapter.complete(request(), call());
    const [recorded] = fake.requests;
    expect(recorded!.path).toBe(`/openai/deployments/gpt-4o-prod/chat/completions?api-version=${AZURE_DEFAULT_API_VERSION}`);
    expect(recorded!.headers['api-key']).toBe(AZURE_FAKE_KEY);
    expect(recorded!.headers.authorization).toBeUndefined();
    expect(res).toMatchObject({ model: 'gpt-4o-2024-08-06', content: [{ type: 'text', text: OPENAI_REPLY_TEXT }], stopReason: 'end_turn' });
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: countWords(QUESTION), cacheRead: 0, output: countWords(OPENAI_REPLY_TEXT) });
  });

  it('api_version from the deployment, else AZURE_API_VERSION; an api_base ending in /openai is tolerated', async () => {
    await adapter.complete(request(), call(deployment({ apiVersion: '2024-10-21', apiBase: `${fake.url}/openai/` })));
    vi.stubEnv('AZURE_API_VERSION', '2025-01-01-preview');
    await adapter.complete(request(), call());
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21',
      '/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-01-01-preview',
    ]);
  });

  it('Responses API: one path per resource with the deployment in the body; v1 without api-version; stored responses below it', async () => {
    const body = { model: 'gpt-4o', input: QUESTION };
    await rejection(adapter.passthrough!(body, call(), { dialect: 'openai-responses', stream: false, rawBody: Buffer.from(JSON.stringify(body)) }));
    await rejection(adapter.passthrough!(body, call(deployment({ apiVersion: 'v1', apiBase: `${fake.url}/openai/v1` })), { dialect: 'openai-responses', stream: false }));
    await rejection(adapter.storedResponse!(call(), { method: 'GET', responseId: 'resp_1', part: '/input_items', query: 'limit=2' }));
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /openai/responses?api-version=${AZURE_DEFAULT_API_VERSION}`,
      'POST /openai/v1/responses',
      `GET /openai/responses/resp_1/input_items?api-version=${AZURE_DEFAULT_API_VERSION}&limit=2`,
    ]);
    expect(fake.requests.map((r) => (r.json as JsonObject | undefined)?.model)).toEqual(['gpt-4o-prod', 'gpt-4o-prod', undefined]);
  });

  it('an Entra ID token (azure_ad_token) is sent as a bearer', async () => {
    await adapter.complete(request(), call(deployment({ apiKey: undefined, params: { azure_ad_token: AZURE_AD_TOKEN } })));
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${AZURE_AD_TOKEN}`);
    expect(fake.requests[0]!.headers['api-key']).toBeUndefined();
  });

  it('canonical stream: the prompt_filter_results chunk is skipped, usage requested; fold = complete', async () => {
    const whole = await adapter.complete(request(), call());
    const folded = await collectStream(await adapter.stream({ ...request(), stream: true }, call()));
    expect(fake.requests[1]!.json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(comparable(folded)).toEqual(comparable(whole));
  });

  it('passthrough JSON: the upstream bytes, usage parsed, Azure headers forwarded', async () => {
    const result = await adapter.passthrough!(chatBody(), call(), { stream: false });
    if (result.kind !== 'json') throw new Error('expected JSON');
    expect(JSON.parse(result.body.toString('utf8'))).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-2024-08-06' });
    expect(fake.requests[0]!.json).toMatchObject({ model: 'gpt-4o-prod' });
    expect(usageCounts(result.usage)).toMatchObject({ inputUncached: countWords(QUESTION), output: countWords(OPENAI_REPLY_TEXT) });
    expect(result.headers['llm_provider-x-request-id']).toBeDefined();
  });

  it('passthrough stream without include_usage: added upstream for metering, its chunk hidden from the client', async () => {
    const result = await adapter.passthrough!(chatBody({ stream: true }), call(), { stream: true });
    if (result.kind !== 'stream') throw new Error('expected a stream');
    const chunks = sseJson((await drain(result.chunks)).toString('utf8'));
    expect(fake.requests[0]!.json).toMatchObject({ stream_options: { include_usage: true } });
    // The opening prompt_filter_results chunk has no choices: LiteLLM never sends such a chunk (a
    // client reading data.get("choices", [{}])[0] would crash on it), so it is not forwarded.
    expect(fake.requests.length).toBe(1);
    expect(chunks.every((c) => Array.isArray(c.choices) && c.choices.length > 0)).toBe(true);
    expect(chunks[0]).toMatchObject({ choices: [{ index: 0, delta: { role: 'assistant' } }] });
    expect(chunks.some((c) => c.usage !== undefined && c.usage !== null)).toBe(false);
    expect(result.tap.completed).toBe(true);
    expect(usageCounts(result.tap.usage)).toMatchObject({ inputUncached: countWords(QUESTION), output: countWords(OPENAI_REPLY_TEXT) });
  });

  it('passthrough stream with include_usage: the usage chunk reaches the client, annotated', async () => {
    const result = await adapter.passthrough!(chatBody({ stream: true, stream_options: { include_usage: true } }), call(), { stream: true, annotateFinalUsage: () => ({ cost: 0.5 }) });
    if (result.kind !== 'stream') throw new Error('expected a stream');
    const usage = sseJson((await drain(result.chunks)).toString('utf8')).find((c) => c.usage !== undefined && c.usage !== null)?.usage;
    expect(usage).toMatchObject({ prompt_tokens: countWords(QUESTION), cost: 0.5 });
  });

  it('the prompt_filter_results chunk is preamble, not the answer; an error after it is tapped', async () => {
    const [first, second] = readFileSync(join(FIXTURES, 'openai', 'azure-model-router.1.chunks.txt'), 'utf8').split('\n');
    const inspector = new AzureTapInspector(true);
    expect(inspector.isPreamble(`data: ${first}\n\n`)).toBe(true);
    expect(inspector.isPreamble(`data: ${second}\n\n`)).toBe(false);
    fake.script([{ kind: 'overloaded-in-stream' }]);
    const result = await adapter.passthrough!(chatBody({ stream: true }), call(), { stream: true });
    if (result.kind !== 'stream') throw new Error('expected a stream');
    await drain(result.chunks);
    expect(result.tap.error).toMatchObject({ retryable: true, message: 'The server is overloaded, please try again later.' });
    expect(result.tap.completed).toBe(false);
  });

  it('prompt caching is reported as cache reads (cached_tokens) on the second call', async () => {
    fake.resetCache();
    const system = Array.from({ length: 1100 }, (_, i) => `clause${i}`).join(' ');
    const req = request({ system: [{ type: 'text', text: system }] });
    const first = await adapter.complete(req, call());
    const second = await adapter.complete(req, call());
    expect(usageCounts(first.usage)).toMatchObject({ inputUncached: 1100 + countWords(QUESTION), cacheRead: 0 });
    expect(usageCounts(second.usage)).toMatchObject({ inputUncached: countWords(QUESTION), cacheRead: 1100 });
  });

  it('replays the captured Azure model-router stream (reasoning 64 of 78 completion tokens)', async () => {
    const replay = await startFakeAzure({ openai: fixtureReplayOpenAI('azure-model-router.1.chunks.txt') });
    try {
      const res = await collectStream(await adapter.stream({ ...request(), stream: true }, call(deployment({ apiBase: replay.url }))));
      expect(res).toMatchObject({ id: 'chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt', model: 'gpt-5-nano-2025-08-07', content: [{ type: 'text', text: 'Capital of Denmark.' }] });
      expect(usageCounts(res.usage)).toEqual({ inputUncached: 15, cacheRead: 0, cacheWriteUnknownTtl: 0, output: 78, reasoning: 64 });
    } finally {
      await replay.close();
    }
  });
});

describe('Azure errors', () => {
  it('a wrong key → authentication 401 with Azure’s message', async () => {
    expect(await rejection(adapter.complete(request(), call(deployment({ apiKey: 'wrong' }))))).toMatchObject({ code: 'authentication', status: 401, message: expect.stringContaining('Access denied') as unknown });
  });

  it('an unknown deployment → not_found', async () => {
    expect(await rejection(adapter.complete(request(), call(deployment({ model: 'nope' }))))).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('429 with retry-after → rate_limit, retryable', async () => {
    fake.script([{ status: 429, retryAfter: 2 }]);
    expect(await rejection(adapter.complete(request(), call()))).toMatchObject({ code: 'rate_limit', retryable: true, retryAfterSeconds: 2 });
  });

  it('a prompt stopped by the content filter → content_policy', async () => {
    fake.script([{ status: 400, body: azureError('content_filter', "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", { param: 'prompt', status: 400 }) }]);
    expect(await rejection(adapter.complete(request(), call()))).toMatchObject({ code: 'content_policy', status: 400, param: 'prompt' });
  });

  it('missing api_base or credentials is a configuration error naming the setting', async () => {
    vi.stubEnv('AZURE_API_BASE', '');
    vi.stubEnv('AZURE_API_KEY', '');
    vi.stubEnv('AZURE_AD_TOKEN', '');
    expect(await rejection(adapter.complete(request(), call(deployment({ apiBase: undefined }))))).toMatchObject({ status: 500, message: expect.stringContaining('api_base') as unknown });
    expect(await rejection(adapter.complete(request(), call(deployment({ apiKey: undefined }))))).toMatchObject({ status: 500, message: expect.stringContaining('AZURE_API_KEY') as unknown });
  });
});
