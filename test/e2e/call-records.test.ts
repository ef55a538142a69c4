/**
 * One call record per request, whatever happens: success, upstream errors, "200 then overloaded",
 * a stream cut mid-way, a reset, a stalled upstream, and a client that hangs up. Records are matched
 * by the `x-litellm-call-id` the gateway returns.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { anthropicClient, eventually, newCallId, openaiClient, parseSse, postJson, recordFor, sseJson, startE2E, type E2E } from './harness.js';

let e2e: E2E;
let slowAnthropic: FakeUpstream;
let slowOpenAI: FakeUpstream;
const SLOW_REPLY = 'one two three four five six seven eight nine ten eleven twelve';

beforeAll(async () => {
  slowAnthropic = await startFakeAnthropic({ eventDelayMs: 150, replyText: SLOW_REPLY });
  slowOpenAI = await startFakeOpenAI({ eventDelayMs: 150, replyText: SLOW_REPLY });
  e2e = await startE2E({
    extraModels: (f) => `
  - model_name: claude-slow
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${slowAnthropic.url}", api_key: sk-ant-fake }
  - model_name: gpt-slow
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${slowOpenAI.url}/v1", api_key: sk-openai-fake }
  - model_name: mock-slow
    litellm_params: { model: mock/mock-slow, mock_tokens_per_second: 8 }
  - model_name: claude-timeout
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.anthropic}", api_key: sk-ant-fake, timeout: 0.2, stream_timeout: 0.2 }`,
  });
});
afterAll(async () => {
  await e2e.close();
  await Promise.all([slowAnthropic.close(), slowOpenAI.close()]);
});

type SurfaceName = 'anthropic' | 'openai';
const PATH: Record<SurfaceName, string> = { anthropic: '/v1/messages', openai: '/v1/chat/completions' };

function body(surface: SurfaceName, model: string, stream: boolean): Record<string, unknown> {
  const messages = [{ role: 'user', content: 'Tell me something.' }];
  return surface === 'anthropic' ? { model, max_tokens: 64, messages, stream } : { model, messages, stream };
}

function upstreamFor(model: string): FakeUpstream {
  return model.startsWith('claude') ? e2e.anthropic : e2e.openai;
}

/** Checks the error envelope of the surface and returns the error message. */
function expectEnvelope(surface: SurfaceName, json: unknown): string {
  const obj = json as Record<string, unknown>;
  if (surface === 'anthropic') {
    expect(obj).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
  } else {
    expect(obj).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } });
    expect(obj).not.toHaveProperty('type');
  }
  return (obj.error as { message: string }).message;
}

const combos: { surface: SurfaceName; model: string }[] = [
  { surface: 'anthropic', model: 'claude-test' },
  { surface: 'anthropic', model: 'gpt-test' },
  { surface: 'openai', model: 'gpt-test' },
  { surface: 'openai', model: 'claude-test' },
];
const streamModes = [false, true];

describe.each(combos)('$surface surface → $model', ({ surface, model }) => {
  it.each(streamModes)('success (stream=%s): one record, status 200, deployment set, id from the header', async (stream) => {
    const res = await postJson(e2e.url, PATH[surface], body(surface, model, stream));
    expect(res.status).toBe(200);
    await res.text();
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, stream, clientDisconnected: false, requestedModel: model, modelGroup: model });
    expect(record.deployment).toMatchObject({ provider: model.startsWith('claude') ? 'anthropic' : 'openai', model: model.startsWith('claude') ? 'claude-sonnet-4-5' : 'gpt-4o-mini' });
    expect(record.attempts).toHaveLength(1);
    expect(record.error).toBeUndefined();
    expect(record.usage.output).toBeGreaterThan(0);
    expect(record.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
  });

  it.each(streamModes)('upstream 429 with retry-after (stream=%s): client gets 429 + retry-after, record is a failure', async (stream) => {
    upstreamFor(model).script([{ status: 429, retryAfter: 3 }]);
    const res = await postJson(e2e.url, PATH[surface], body(surface, model, stream));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('content-type')).toContain('application/json');
    const message = expectEnvelope(surface, await res.json());
    expect(message).toMatch(/rate limit/i);
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 429, error: { code: 'rate_limit' } });
    expect(record.deployment?.modelGroup).toBe(model);
    expect(record.attempts).toEqual([expect.objectContaining({ outcome: 'failure', status: 429 })]);
  });

  it('upstream "200 then overloaded" in the first stream event: an error status, not a 200 stream', async () => {
    upstreamFor(model).script([{ kind: 'overloaded-in-stream' }]);
    const res = await postJson(e2e.url, PATH[surface], body(surface, model, true));
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(expectEnvelope(surface, await res.json())).toMatch(/overloaded/i);
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: res.status, stream: true });
    // The attempt failed (so it could have been retried or fallen back), it did not succeed.
    expect(record.attempts).toEqual([expect.objectContaining({ outcome: 'failure' })]);
  });

  it('mid-stream cut after 3 events: the client gets an error event in its protocol, the record is a failure', async () => {
    upstreamFor(model).script([{ kind: 'cut-after', events: 3 }]);
    const res = await postJson(e2e.url, PATH[surface], body(surface, model, true));
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    const last = events.at(-1);
    if (surface === 'anthropic') {
      expect(last?.event).toBe('error');
      expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
      expect(events.some((e) => e.event === 'message_stop')).toBe(false);
    } else {
      expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ error: { message: expect.any(String) } });
      expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    }
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record.outcome).toBe('failure');
    expect(record.httpStatus).toBeGreaterThanOrEqual(500);
    expect(record.clientDisconnected).toBe(false);
  });

  it.each(streamModes)('connection reset before the answer (stream=%s): 5xx envelope, failure record', async (stream) => {
    upstreamFor(model).script([{ kind: 'reset' }]);
    const res = await postJson(e2e.url, PATH[surface], body(surface, model, stream));
    expect(res.status).toBeGreaterThanOrEqual(500);
    expectEnvelope(surface, await res.json());
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: res.status });
  });
});

describe('Anthropic-specific failures', () => {
  it.each(['anthropic', 'openai'] as const)('529 overloaded through the %s surface: status 529, failure record', async (surface) => {
    e2e.anthropic.script([{ status: 529 }]);
    const res = await postJson(e2e.url, PATH[surface], body(surface, 'claude-test', false));
    expect(res.status).toBe(529);
    const json = await res.json();
    expectEnvelope(surface, json);
    if (surface === 'anthropic') expect(json).toMatchObject({ error: { type: 'overloaded_error' } });
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 529, error: { code: 'overloaded' } });
  });

  it('the SDKs surface 529 and 429 as their own error classes', async () => {
    e2e.anthropic.script([{ status: 529 }]);
    const a: unknown = await anthropicClient(e2e.url).messages.create({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(a).toBeInstanceOf(Anthropic.APIError);
    expect((a as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    e2e.openai.script([{ status: 429, retryAfter: 3 }]);
    const o: unknown = await openaiClient(e2e.url).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(o).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('the SDK stream iterators throw on a mid-stream error event', async () => {
    e2e.anthropic.script([{ kind: 'cut-after', events: 3 }]);
    const stream = await anthropicClient(e2e.url).messages.create({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], stream: true });
    await expect((async () => {
      for await (const _event of stream) { /* drain */ }
    })()).rejects.toBeInstanceOf(Anthropic.APIError);
    e2e.anthropic.script([{ kind: 'cut-after', events: 3 }]);
    const chunks = await openaiClient(e2e.url).chat.completions.create({ model: 'claude-test', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await expect((async () => {
      for await (const _chunk of chunks) { /* drain */ }
    })()).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it.each([
    ['anthropic', false],
    ['anthropic', true],
    ['openai', true],
  ] as const)('a stalled upstream times out (%s surface, stream=%s): 408 envelope, failure record', async (surface, stream) => {
    e2e.anthropic.script([{ kind: 'stall' }]);
    const res = await postJson(e2e.url, PATH[surface], body(surface, 'claude-timeout', stream));
    expect(res.status).toBe(408);
    expectEnvelope(surface, await res.json());
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 408, error: { code: 'timeout' } });
  });
});

describe('client disconnect during a slow stream', () => {
  const cases: { surface: SurfaceName; model: string; fake: () => FakeUpstream | undefined }[] = [
    { surface: 'anthropic', model: 'claude-slow', fake: () => slowAnthropic },
    { surface: 'openai', model: 'gpt-slow', fake: () => slowOpenAI },
    { surface: 'openai', model: 'claude-slow', fake: () => slowAnthropic },
    { surface: 'anthropic', model: 'gpt-slow', fake: () => slowOpenAI },
    { surface: 'openai', model: 'mock-slow', fake: () => undefined },
  ];

  it.each(cases)('$surface surface → $model: record clientDisconnected, upstream request aborted', async ({ surface, model, fake }) => {
    const before = fake()?.requests.length ?? 0;
    const callId = newCallId();
    const abort = new AbortController();
    const res = await postJson(e2e.url, PATH[surface], body(surface, model, true), { 'x-litellm-call-id': callId }, abort.signal);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    abort.abort();
    await reader.cancel().catch(() => undefined);

    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ clientDisconnected: true, outcome: 'failure', stream: true });
    expect(record.endedAt - record.startedAt).toBeLessThan(1500);
    const upstream = fake();
    if (upstream !== undefined) {
      expect(upstream.requests.length).toBe(before + 1);
      const sent = upstream.requests[before]!;
      await eventually(() => sent.aborted);
      expect(sent.aborted).toBe(true);
    }
  });
});

describe('client disconnect before the first byte', () => {
  it.each([
    ['anthropic', 'claude-test', false],
    ['anthropic', 'claude-test', true],
    ['openai', 'gpt-test', false],
    ['openai', 'claude-test', true],
  ] as const)('%s surface → %s (stream=%s) while the upstream is still thinking', async (surface, model, stream) => {
    const fake = upstreamFor(model);
    fake.script([{ kind: 'delay', ms: 3000 }]);
    const before = fake.requests.length;
    const callId = newCallId();
    const abort = new AbortController();
    const pending = postJson(e2e.url, PATH[surface], body(surface, model, stream), { 'x-litellm-call-id': callId }, abort.signal).catch((e: unknown) => e);
    await eventually(() => fake.requests.length > before);
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ clientDisconnected: true, outcome: 'failure', stream });
    expect(record.durationMs).toBeLessThan(2000);
    const sent = fake.requests[before]!;
    await eventually(() => sent.aborted);
  });
});

describe('concurrency', () => {
  it('24 concurrent mixed requests produce 24 distinct records, one each', async () => {
    const requests = Array.from({ length: 24 }, (_, i) => {
      const { surface, model } = combos[i % combos.length]!;
      const callId = newCallId();
      return postJson(e2e.url, PATH[surface], body(surface, i % 3 === 0 ? 'mock-test' : model, i % 2 === 0), { 'x-litellm-call-id': callId })
        .then(async (res) => ({ callId, status: res.status, text: await res.text() }));
    });
    const results = await Promise.all(requests);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    const records = await Promise.all(results.map((r) => recordFor(e2e.gw.gateway, r.callId)));
    expect(records.map((r) => r.outcome)).toEqual(records.map(() => 'success'));
  });
});

describe('records for requests that fail before the upstream', () => {
  it('an unknown model is one failure record with status 404', async () => {
    const callId = newCallId();
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'hi' }] }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(404);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 404, requestedModel: 'nope', error: { code: 'not_found' } });
    expect(record.deployment).toBeUndefined();
  });

  it('an unsupported parameter for the upstream is one failure record with status 400', async () => {
    const callId = newCallId();
    const before = e2e.anthropic.requests.length;
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'claude-test', n: 2, messages: [{ role: 'user', content: 'hi' }] }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(400);
    expect(e2e.anthropic.requests.length).toBe(before);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 400, error: { code: 'unsupported_parameter' } });
  });

  it('streamed events carry usage in the final event and the record matches it', async () => {
    const res = await postJson(e2e.url, '/v1/messages', body('anthropic', 'gpt-test', true));
    const events = sseJson(await res.text());
    const delta = events.find((e) => e.type === 'message_delta') as { usage: { output_tokens: number; input_tokens: number } } | undefined;
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(delta?.usage.output_tokens).toBe(record.usage.output);
    expect(delta?.usage.input_tokens).toBe(record.usage.inputUncached);
  });
});
