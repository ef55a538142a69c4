/**
 * The Bedrock adapters called directly against the fake Bedrock runtime (which checks every SigV4
 * signature): passthrough JSON and streams for Claude, canonical complete/stream over InvokeModel
 * and Converse, prompt-cache usage, HTTP errors and in-stream exceptions.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StreamFolder } from '../../src/core/collect.js';
import type { Deployment } from '../../src/core/deployment.js';
import { GatewayError } from '../../src/core/errors.js';
import type { CanonicalRequest } from '../../src/core/request.js';
import type { StreamEvent } from '../../src/core/response.js';
import { usageCounts } from '../../src/core/usage.js';
import { createBedrockAdapter } from '../../src/providers/bedrock/index.js';
import type { ProviderAdapter, UpstreamCall } from '../../src/providers/types.js';
import { BEDROCK_FAKE_CREDENTIALS, BEDROCK_REPLY_TEXT, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import { countWords } from '../fakes/index.js';

const CLAUDE = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const NOVA = 'us.amazon.nova-micro-v1:0';
const OUTPUT = countWords(BEDROCK_REPLY_TEXT);

let fake: BedrockFakeUpstream;
beforeAll(async () => {
  fake = await startFakeBedrock();
});
afterAll(() => fake.close());
beforeEach(() => fake.resetCache());

function deployment(model: string, params: Record<string, unknown> = {}): Deployment {
  return {
    id: `t-${model}`, modelGroup: 'g', provider: 'bedrock', model, timeoutMs: 10_000, streamTimeoutMs: 10_000,
    params: {
      aws_bedrock_runtime_endpoint: fake.url, aws_region_name: 'us-east-1',
      aws_access_key_id: BEDROCK_FAKE_CREDENTIALS.accessKeyId, aws_secret_access_key: BEDROCK_FAKE_CREDENTIALS.secretAccessKey, ...params,
    },
  };
}
const adapterFor = (model: string): { adapter: ProviderAdapter; call: (h?: IncomingHttpHeaders) => UpstreamCall } => {
  const d = deployment(model);
  return { adapter: createBedrockAdapter(d, {}), call: (clientHeaders = {}) => ({ deployment: d, upstreamModel: d.model, signal: new AbortController().signal, clientHeaders }) };
};
const words = (n: number, seed: string): string => Array.from({ length: n }, (_, i) => `${seed}${i.toString(36)}`).join(' ');
const lastRequest = (): { path: string; json: Record<string, unknown>; headers: IncomingHttpHeaders } => {
  const r = fake.requests.at(-1)!;
  return { path: r.path, json: r.json as Record<string, unknown>, headers: r.headers };
};

async function text(chunks: AsyncIterable<Buffer | string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += typeof c === 'string' ? c : c.toString('utf8');
  return out;
}
async function events(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}
function fold(list: StreamEvent[]): ReturnType<StreamFolder['result']> {
  const folder = new StreamFolder();
  for (const e of list) folder.add(e);
  return folder.result();
}
function sse(body: string): { event: string; data: Record<string, unknown> }[] {
  return body.split('\n\n').filter((f) => f !== '').map((f) => ({ event: /^event: (.*)$/m.exec(f)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(f)![1]!) as Record<string, unknown> }));
}
async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

const PREFIX = 40;
const QUESTION = 'What is in the rules above?';
const messagesBody = (seed: string): Record<string, unknown> => ({
  model: 'claude-sonnet-4-5', max_tokens: 64, metadata: { user_id: 'u-1' },
  system: [{ type: 'text', text: words(PREFIX, seed), cache_control: { type: 'ephemeral' } }],
  messages: [{ role: 'user', content: QUESTION }],
});
const WRITE = { inputUncached: countWords(QUESTION), cacheRead: 0, cacheWrite5m: PREFIX, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: OUTPUT };
const READ = { ...WRITE, cacheRead: PREFIX, cacheWrite5m: 0 };

describe('Claude via InvokeModel: passthrough', () => {
  it('JSON: the client body goes up minus model/stream, betas in the body, signed; bytes come back with usage', async () => {
    const { adapter, call } = adapterFor(CLAUDE);
    const body = messagesBody('json');
    const headers = { 'anthropic-beta': 'context-1m-2025-08-07,interleaved-thinking-2025-05-14', 'anthropic-version': '2023-06-01' };
    for (const expected of [WRITE, READ]) {
      const res = await adapter.passthrough!(body, call(headers), { stream: false });
      if (res.kind !== 'json') throw new Error('expected json');
      expect(usageCounts(res.usage)).toEqual(expected);
      const message = JSON.parse(res.body.toString('utf8')) as { usage: Record<string, number>; content: { text: string }[] };
      expect(message.content[0]?.text).toBe(BEDROCK_REPLY_TEXT);
      expect(message.usage.cache_read_input_tokens).toBe(expected.cacheRead);
      expect(res.model).toBe('claude-sonnet-4-5-20250929');
      expect(res.headers['llm_provider-x-amzn-requestid']).toMatch(/^fake-req-/);
    }
    const sent = lastRequest();
    expect(sent.path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke');
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAFAKEBEDROCK00001\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
    const { model: _m, ...rest } = body;
    expect(sent.json).toEqual({ anthropic_version: 'bedrock-2023-05-31', ...rest, anthropic_beta: ['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14'] });
  });

  it('stream: the AWS event stream becomes Anthropic SSE with the JSON bytes unchanged, tapped like Anthropic', async () => {
    const { adapter, call } = adapterFor(CLAUDE);
    for (const expected of [WRITE, READ]) {
      const res = await adapter.passthrough!({ ...messagesBody('sse'), stream: true }, call(), { stream: true, annotateFinalUsage: () => ({ cost: 0.5 }) });
      if (res.kind !== 'stream') throw new Error('expected stream');
      const frames = sse(await text(res.chunks));
      expect(frames.map((f) => f.event)).toEqual(['message_start', 'content_block_start', ...Array<string>(OUTPUT).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
      for (const f of frames) expect(f.data.type).toBe(f.event);
      expect(frames.at(-2)?.data.usage).toEqual({ output_tokens: OUTPUT, cost: 0.5 });
      expect(frames.at(-1)?.data['amazon-bedrock-invocationMetrics']).toBeDefined();
      expect(usageCounts(res.tap.usage)).toEqual(expected);
      expect(res.tap).toMatchObject({ completed: true, events: frames.length, model: 'claude-sonnet-4-5-20250929' });
      expect(res.tap.error).toBeUndefined();
      expect(res.tap.answerStarted).toBe(true);
    }
    expect(lastRequest().path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream');
    expect(lastRequest().json).not.toHaveProperty('stream');
  });

  it('an in-stream throttlingException ends the stream with an Anthropic error event and a typed 429', async () => {
    const { adapter, call } = adapterFor(CLAUDE);
    fake.script([{ kind: 'exception-in-stream', exceptionType: 'throttlingException', message: 'Too many tokens', afterEvents: 3 }]);
    const res = await adapter.passthrough!({ ...messagesBody('throttle'), stream: true }, call(), { stream: true });
    if (res.kind !== 'stream') throw new Error('expected stream');
    const frames = sse(await text(res.chunks));
    expect(frames.map((f) => f.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'error']);
    expect(frames.at(-1)?.data).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Too many tokens' } });
    expect(res.tap.error).toMatchObject({ code: 'rate_limit', status: 429, retryable: true, message: 'Too many tokens' });
    expect(res.tap.completed).toBe(false);
  });

  it('tool use streams through and folds', async () => {
    const { adapter, call } = adapterFor(CLAUDE);
    fake.script([{ kind: 'tool', name: 'get_weather', input: { city: 'Paris' } }]);
    const res = await adapter.passthrough!({ ...messagesBody('tool'), stream: true }, call(), { stream: true });
    if (res.kind !== 'stream') throw new Error('expected stream');
    const deltas = sse(await text(res.chunks)).filter((f) => f.event === 'content_block_delta');
    expect(deltas.map((f) => (f.data.delta as { partial_json: string }).partial_json).join('')).toBe('{"city":"Paris"}');
  });
});

describe('Claude via InvokeModel: canonical (other surfaces)', () => {
  const request = (stream: boolean): CanonicalRequest => ({
    model: 'm', stream, extra: {}, maxTokens: 50,
    system: [{ type: 'text', text: words(PREFIX, `canon-${stream}`), cacheControl: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }],
  });

  it('complete and stream agree on text and on write-then-read usage', async () => {
    const { adapter, call } = adapterFor(CLAUDE);
    for (const expected of [WRITE, READ]) {
      const whole = await adapter.complete(request(false), call());
      expect(whole.content).toEqual([{ type: 'text', text: BEDROCK_REPLY_TEXT }]);
      expect(usageCounts(whole.usage)).toEqual(expected);
    }
    expect(lastRequest().json).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50 });
    expect(lastRequest().json).not.toHaveProperty('model');
    for (const expected of [WRITE, READ]) {
      const folded = fold(await events(await adapter.stream(request(true), call())));
      expect(folded.content).toEqual([{ type: 'text', text: BEDROCK_REPLY_TEXT }]);
      expect(usageCounts(folded.usage)).toEqual(expected);
    }
  });

  it('countTokens uses Bedrock count-tokens on the foundation model', async () => {
    const { adapter, call } = adapterFor(`us.${CLAUDE}`);
    const tokens = await adapter.countTokens!(request(false), call());
    expect(tokens).toBe(PREFIX + countWords(QUESTION));
    expect(lastRequest().path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens');
    const passthrough = await adapter.passthroughCountTokens!(messagesBody('count'), call());
    expect(passthrough).toBe(PREFIX + countWords(QUESTION));
  });
});

describe('Converse (non-Claude models and bedrock/converse/…)', () => {
  const request = (stream: boolean, seed: string): CanonicalRequest => ({
    model: 'm', stream, extra: {}, maxTokens: 100, temperature: 0.2, stop: ['END'],
    system: [{ type: 'text', text: words(PREFIX, seed), cacheControl: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
      { role: 'assistant', content: [{ type: 'tool_call', id: 't1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', content: [{ type: 'tool_result', toolCallId: 't1', content: 'sunny' }] },
    ],
    tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
    toolChoice: { type: 'auto' },
  });
  const uncached = countWords('Weather?') + countWords(JSON.stringify({ toolUse: { toolUseId: 't1', name: 'get_weather', input: { city: 'Paris' } } })) + 1;
  const toolTokens = countWords(JSON.stringify({ toolSpec: { name: 'get_weather', description: 'Weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } }));

  it('complete: the Converse body is built and cachePoint usage comes back as 5m writes then reads', async () => {
    const { adapter, call } = adapterFor(NOVA);
    expect(adapter.dialects).toBeUndefined();
    const first = await adapter.complete(request(false, 'cv'), call());
    expect(first.content).toEqual([{ type: 'text', text: BEDROCK_REPLY_TEXT }]);
    expect(first.model).toBe(NOVA);
    expect(first.id).toMatch(/^fake-req-/);
    const prefix = toolTokens + PREFIX;
    expect(usageCounts(first.usage)).toEqual({ inputUncached: uncached, cacheRead: 0, cacheWrite5m: prefix, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: OUTPUT });
    const second = await adapter.complete(request(false, 'cv'), call());
    expect(usageCounts(second.usage)).toMatchObject({ cacheRead: prefix, cacheWrite5m: 0 });
    const sent = lastRequest();
    expect(sent.path).toBe('/model/us.amazon.nova-micro-v1%3A0/converse');
    expect(sent.json).toEqual({
      system: [{ text: words(PREFIX, 'cv') }, { cachePoint: { type: 'default' } }],
      messages: [
        { role: 'user', content: [{ text: 'Weather?' }] },
        { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'get_weather', input: { city: 'Paris' } } }] },
        { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } }] },
      ],
      inferenceConfig: { maxTokens: 100, temperature: 0.2, stopSequences: ['END'] },
      toolConfig: { tools: [{ toolSpec: { name: 'get_weather', description: 'Weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } }], toolChoice: { auto: {} } },
    });
  });

  it('stream: ConverseStream folds to the same answer and usage; bedrock/converse/ forces Converse for Claude', async () => {
    const { adapter, call } = adapterFor(`converse/${CLAUDE}`);
    expect(adapter.dialects).toBeUndefined();
    const whole = await adapter.complete(request(false, 'cs'), call());
    fake.resetCache();
    const folded = fold(await events(await adapter.stream(request(true, 'cs'), call())));
    expect(folded.content).toEqual(whole.content);
    expect(usageCounts(folded.usage)).toEqual(usageCounts(whole.usage));
    expect(lastRequest().path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream');
  });

  it('stream: a tool call arrives as contentBlockStart + toolUse input deltas', async () => {
    const { adapter, call } = adapterFor(NOVA);
    fake.script([{ kind: 'tool', name: 'get_weather', input: { city: 'Oslo' } }]);
    const folded = fold(await events(await adapter.stream(request(true, 'tool'), call())));
    expect(folded.stopReason).toBe('tool_use');
    expect(folded.content).toEqual([{ type: 'tool_call', id: expect.any(String) as string, name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
  });

  it.each([
    ['modelStreamErrorException', 'upstream_error', 500, true],
    ['internalServerException', 'upstream_error', 500, true],
    ['serviceUnavailableException', 'service_unavailable', 503, true],
    ['throttlingException', 'rate_limit', 429, true],
    ['validationException', 'invalid_request', 400, false],
  ] as const)('in-stream %s → %s %d (retryable %s)', async (exceptionType, code, status, retryable) => {
    const { adapter, call } = adapterFor(NOVA);
    fake.script([{ kind: 'exception-in-stream', exceptionType, message: `boom ${exceptionType}`, afterEvents: 2 }]);
    const list = await events(await adapter.stream(request(true, 'exc'), call()));
    const last = list.at(-1);
    expect(last?.type).toBe('error');
    if (last?.type !== 'error') return;
    expect(last.error).toMatchObject({ code, status, retryable, message: `boom ${exceptionType}` });
    expect(last.error.upstream?.type).toBe(exceptionType);
  });
});

describe('HTTP errors keep the AWS message and map by status', () => {
  it.each([
    [429, 'rate_limit', true, 'Too many requests, please wait before trying again.'],
    [503, 'service_unavailable', true, 'Bedrock is unable to process your request.'],
    [403, 'permission_denied', false, "You don't have access to the model with the specified model ID."],
    [400, 'invalid_request', false, 'Fake validation error'],
    [404, 'not_found', false, 'Model not found'],
  ] as const)('%d → %s', async (status, code, retryable, message) => {
    const { adapter, call } = adapterFor(CLAUDE);
    fake.script([{ status, retryAfter: status === 429 ? 3 : undefined }]);
    const err = await rejection(adapter.passthrough!(messagesBody('err'), call(), { stream: false }));
    expect(err).toMatchObject({ code, status, retryable, message });
    expect(err.upstream).toMatchObject({ status, provider: 'bedrock' });
    if (status === 429) expect(err.retryAfterSeconds).toBe(3);
  });

  it('ModelNotReadyException (HTTP 429) is retryable with its message kept', async () => {
    const { adapter, call } = adapterFor(CLAUDE);
    const headers = { 'x-amzn-errortype': 'ModelNotReadyException:http://internal.amazon.com/coral/com.amazon.bedrock/' };
    fake.script([{ status: 429, headers, body: { message: 'Model is not ready for inference. Wait and try your request again.' } }]);
    const err = await rejection(adapter.passthrough!(messagesBody('not-ready'), call(), { stream: false }));
    expect(err).toMatchObject({ retryable: true, message: 'Model is not ready for inference. Wait and try your request again.' });
    // 429 by status today; 503 service_unavailable once parseError receives the x-amzn-errortype header.
    expect([429, 503]).toContain(err.status);
  });

  it('a body Bedrock rejects comes back as a 400 with its message (the fake validates like Bedrock)', async () => {
    const { adapter, call } = adapterFor(NOVA);
    const bad: CanonicalRequest = { model: 'm', stream: false, extra: {}, system: [], messages: [{ role: 'user', content: [{ type: 'text', text: '   ' }] }] };
    const err = await rejection(adapter.complete(bad, call()));
    expect(err).toMatchObject({ code: 'invalid_request', status: 400 });
    expect(err.message).toMatch(/is blank/);
  });

  it('a request cut mid-stream is a typed error, not a silent end', async () => {
    const { adapter, call } = adapterFor(NOVA);
    fake.script([{ kind: 'cut-after', events: 2 }]);
    const stream = await adapter.stream({ model: 'm', stream: true, extra: {}, system: [], messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }, call());
    const err = await rejection(events(stream));
    expect(err.retryable).toBe(true);
  });
});
