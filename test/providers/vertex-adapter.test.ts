/**
 * Vertex AI adapters against the fake Vertex (bearer from its token endpoint, URL layout, both
 * publishers): Gemini through generateContent, Claude through rawPredict / streamRawPredict with
 * passthrough from the Anthropic surface, count-tokens, errors and token recovery.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectStream } from '../../src/core/collect.js';
import type { Deployment } from '../../src/core/deployment.js';
import { GatewayError } from '../../src/core/errors.js';
import type { JsonObject } from '../../src/core/json.js';
import type { CanonicalRequest } from '../../src/core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../src/core/response.js';
import { usageCounts } from '../../src/core/usage.js';
import type { PassthroughResponse, ProviderAdapter, UpstreamCall } from '../../src/providers/types.js';
import { vertexSelector } from '../../src/providers/vertex/index.js';
import { ANTHROPIC_REPLY_TEXT, countWords } from '../fakes/index.js';
import { GEMINI_REPLY_TEXT, googleError } from '../fakes/gemini-upstream.js';
import { startFakeVertex, VERTEX_ANTHROPIC_VERSION, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import { drain } from '../unit/fixtures.js';

const CLAUDE = 'claude-sonnet-4-5@20250929';
const QUESTION = 'Name the capital of France please.';
let fake: VertexFake;

function deployment(model: string, params: Record<string, unknown> = {}): Deployment {
  return {
    id: `vertex-${model}`, modelGroup: model, provider: 'vertex_ai', model, apiBase: fake.url, timeoutMs: 10_000, streamTimeoutMs: 10_000,
    params: { vertex_project: VERTEX_PROJECT, vertex_location: 'us-east5', vertex_credentials: fake.credentials, ...params },
  };
}

function call(d: Deployment, clientHeaders: UpstreamCall['clientHeaders'] = {}): UpstreamCall {
  return { deployment: d, upstreamModel: d.model, signal: new AbortController().signal, clientHeaders };
}

function adapterFor(d: Deployment): ProviderAdapter {
  return vertexSelector!(d);
}

function request(partial: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { model: 'alias', system: [], messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }], stream: false, extra: {}, maxTokens: 64, ...partial };
}

async function streamed(adapter: ProviderAdapter, req: CanonicalRequest, c: UpstreamCall): Promise<CanonicalResponse> {
  return collectStream(await adapter.stream({ ...req, stream: true }, c));
}

function comparable(res: CanonicalResponse): unknown {
  return { model: res.model, content: res.content, stopReason: res.stopReason, usage: usageCounts(res.usage) };
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

const vertexRequests = (): typeof fake.requests => fake.requests.filter((r) => r.path.startsWith('/v1/'));

beforeAll(async () => {
  fake = await startFakeVertex();
});
afterAll(() => fake.close());
afterEach(() => {
  fake.requests.length = 0;
});

describe('Gemini on Vertex', () => {
  const d = (): Deployment => deployment('gemini-2.5-flash');

  it('selects the Gemini adapter (no passthrough dialect)', () => {
    const adapter = adapterFor(d());
    expect(adapter.dialects).toBeUndefined();
    expect('passthrough' in adapter).toBe(false);
  });

  it('generateContent at the project/location/publisher path with the bearer from the token endpoint', async () => {
    const res = await adapterFor(d()).complete(request(), call(d()));
    const [recorded] = vertexRequests();
    expect(recorded!.path).toBe(`/v1/projects/${VERTEX_PROJECT}/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent`);
    expect(fake.issued).toContain(recorded!.headers.authorization?.replace('Bearer ', ''));
    expect(res.content).toEqual([{ type: 'text', text: GEMINI_REPLY_TEXT }]);
    expect(usageCounts(res.usage)).toEqual({ inputUncached: countWords(QUESTION), cacheRead: 0, output: countWords(GEMINI_REPLY_TEXT), reasoning: 0 });
  });

  it('streamGenerateContent?alt=sse folds to the same answer; one token serves every call', async () => {
    const issued = fake.issued.length;
    const whole = await adapterFor(d()).complete(request(), call(d()));
    const folded = await streamed(adapterFor(d()), request(), call(d()));
    expect(vertexRequests()[1]!.path).toBe(`/v1/projects/${VERTEX_PROJECT}/locations/us-east5/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse`);
    expect(comparable(folded)).toEqual(comparable(whole));
    expect(fake.issued.length).toBe(issued);
  });

  it('location `global` goes into the path', async () => {
    const global = deployment('gemini-2.5-pro', { vertex_location: 'global' });
    await adapterFor(global).complete(request(), call(global));
    expect(vertexRequests()[0]!.path).toBe(`/v1/projects/${VERTEX_PROJECT}/locations/global/publishers/google/models/gemini-2.5-pro:generateContent`);
  });

  it('countTokens takes the request fields at the top level', async () => {
    const tokens = await adapterFor(d()).countTokens!(request(), call(d()));
    expect(tokens).toBe(countWords(QUESTION));
    expect(vertexRequests()[0]!.path).toMatch(/models\/gemini-2\.5-flash:countTokens$/);
    expect(vertexRequests()[0]!.json).toEqual({ contents: [{ role: 'user', parts: [{ text: QUESTION }] }] });
  });

  it('429 RESOURCE_EXHAUSTED → rate_limit; a wrong project → permission_denied', async () => {
    fake.script([{ status: 429 }]);
    expect(await rejection(adapterFor(d()).complete(request(), call(d())))).toMatchObject({ code: 'rate_limit', retryable: true });
    const other = deployment('gemini-2.5-flash', { vertex_project: 'someone-else' });
    expect(await rejection(adapterFor(other).complete(request(), call(other)))).toMatchObject({ code: 'permission_denied', status: 403, message: 'Permission denied on resource project someone-else.' });
  });
});

describe('Claude on Vertex', () => {
  const d = (): Deployment => deployment(CLAUDE);
  const systemText = Array.from({ length: 300 }, (_, i) => `policy${i}`).join(' ');
  const body = (extra: JsonObject = {}): JsonObject => ({
    model: 'claude-alias',
    max_tokens: 64,
    system: [{ type: 'text', text: systemText, cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: QUESTION }],
    ...extra,
  });

  it('selects the Anthropic-dialect adapter with passthrough', () => {
    const adapter = adapterFor(d());
    expect(adapter.dialects).toEqual(['anthropic-messages']);
    expect('passthrough' in adapter).toBe(true);
  });

  it('passthrough rawPredict: no model, anthropic_version vertex-2023-10-16, body bytes back, cache write then read', async () => {
    fake.resetCache();
    const adapter = adapterFor(d());
    const first = await adapter.passthrough!(body(), call(d(), { 'anthropic-beta': 'context-1m-2025-08-07' }), { stream: false });
    const second = await adapter.passthrough!(body(), call(d()), { stream: false });
    const [recorded] = vertexRequests();
    expect(recorded!.path).toBe(`/v1/projects/${VERTEX_PROJECT}/locations/us-east5/publishers/anthropic/models/${CLAUDE}:rawPredict`);
    expect(recorded!.json).toMatchObject({ anthropic_version: VERTEX_ANTHROPIC_VERSION, max_tokens: 64 });
    expect(recorded!.json).not.toHaveProperty('model');
    expect(recorded!.headers['anthropic-beta']).toBe('context-1m-2025-08-07');
    if (first.kind !== 'json' || second.kind !== 'json') throw new Error('expected JSON answers');
    expect(JSON.parse(first.body.toString('utf8'))).toMatchObject({ type: 'message', model: CLAUDE, content: [{ type: 'text', text: ANTHROPIC_REPLY_TEXT }] });
    const prefix = countWords(systemText);
    expect(usageCounts(first.usage)).toMatchObject({ inputUncached: countWords(QUESTION), cacheRead: 0, cacheWrite5m: prefix, output: countWords(ANTHROPIC_REPLY_TEXT) });
    expect(usageCounts(second.usage)).toMatchObject({ inputUncached: countWords(QUESTION), cacheRead: prefix, cacheWrite5m: 0 });
  });

  it('passthrough streamRawPredict: Anthropic SSE forwarded and tapped; final usage annotated', async () => {
    fake.resetCache();
    const adapter = adapterFor(d());
    const result: PassthroughResponse = await adapter.passthrough!(body({ stream: true }), call(d()), { stream: true, annotateFinalUsage: () => ({ cost_usd: 0.25 }) });
    if (result.kind !== 'stream') throw new Error('expected a stream');
    const text = (await drain(result.chunks)).toString('utf8');
    expect(vertexRequests()[0]!.path).toMatch(/:streamRawPredict$/);
    expect(text).toContain('event: message_start');
    expect(text).toMatch(/event: message_delta\ndata: .*"cost_usd":0\.25/);
    expect(result.tap.completed).toBe(true);
    expect(usageCounts(result.tap.usage)).toMatchObject({ inputUncached: countWords(QUESTION), cacheWrite5m: countWords(systemText), output: countWords(ANTHROPIC_REPLY_TEXT) });
  });

  it('canonical (OpenAI-surface) calls go through the Anthropic converters; fold(stream) = complete', async () => {
    const adapter = adapterFor(d());
    const whole = await adapter.complete(request(), call(d()));
    const folded = await streamed(adapter, request(), call(d()));
    expect(whole.content).toEqual([{ type: 'text', text: ANTHROPIC_REPLY_TEXT }]);
    expect(vertexRequests()[0]!.json).toMatchObject({ anthropic_version: VERTEX_ANTHROPIC_VERSION, messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }] });
    expect(comparable(folded)).toEqual(comparable(whole));
  });

  it('count-tokens:rawPredict with the model in the body', async () => {
    const adapter = adapterFor(d());
    expect(await adapter.passthroughCountTokens!({ model: 'claude-alias', messages: [{ role: 'user', content: QUESTION }] }, call(d()))).toBe(countWords(QUESTION));
    expect(vertexRequests()[0]!.path).toBe(`/v1/projects/${VERTEX_PROJECT}/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict`);
    expect(vertexRequests()[0]!.json).toMatchObject({ model: CLAUDE, anthropic_version: VERTEX_ANTHROPIC_VERSION });
    expect(await adapter.countTokens!(request(), call(d()))).toBe(countWords(QUESTION));
  });

  it('errors: Anthropic overloaded keeps its type; Google quota 429 is a rate limit', async () => {
    const adapter = adapterFor(d());
    fake.script([{ status: 529 }]);
    expect(await rejection(adapter.complete(request(), call(d())))).toMatchObject({ code: 'overloaded', status: 529, retryable: true });
    fake.script([{ status: 429, body: googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model') }]);
    expect(await rejection(adapter.passthrough!(body(), call(d()), { stream: false }))).toMatchObject({
      code: 'rate_limit', status: 429, message: 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model',
    });
  });

  it('an error event in the first stream event surfaces to the caller', async () => {
    fake.script([{ kind: 'overloaded-in-stream' }]);
    const events: StreamEvent[] = [];
    for await (const event of await adapterFor(d()).stream(request({ stream: true }), call(d()))) events.push(event);
    expect(events.find((e) => e.type === 'error')).toMatchObject({ error: { code: 'overloaded' } });
  });

  it('a token Vertex refuses (401) is dropped; the next call fetches a fresh one', async () => {
    const adapter = adapterFor(d());
    await adapter.complete(request(), call(d()));
    fake.revokeTokens();
    expect(await rejection(adapter.complete(request(), call(d())))).toMatchObject({ code: 'authentication', status: 401 });
    const issued = fake.issued.length;
    await expect(adapter.complete(request(), call(d()))).resolves.toMatchObject({ stopReason: 'end_turn' });
    expect(fake.issued.length).toBe(issued + 1);
  });
});
