/** The Gemini API adapter against the fake Gemini server: URLs, key, streams, tools, cache usage, errors. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { collectStream } from '../../src/core/collect.js';
import type { Deployment } from '../../src/core/deployment.js';
import { GatewayError } from '../../src/core/errors.js';
import type { CanonicalRequest, Message } from '../../src/core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../src/core/response.js';
import { usageCounts } from '../../src/core/usage.js';
import { geminiSelector } from '../../src/providers/gemini/index.js';
import { decodeToolCallId } from '../../src/providers/gemini/tool-ids.js';
import type { ProviderAdapter, UpstreamCall } from '../../src/providers/types.js';
import { countWords, type FakeUpstream } from '../fakes/index.js';
import {
  fixtureReplayGemini, GEMINI_FAKE_KEY, GEMINI_REPLY_TEXT, GEMINI_SIGNATURE, GEMINI_THOUGHT_TEXT, startFakeGemini,
} from '../fakes/gemini-upstream.js';

const THOUGHTS = 7;
const QUESTION = 'What is the capital of France?';
let fake: FakeUpstream;
let adapter: ProviderAdapter;

function deployment(partial: Partial<Deployment> = {}): Deployment {
  return {
    id: 'gemini-test', modelGroup: 'gemini-test', provider: 'gemini', model: 'gemini-2.5-flash', apiBase: fake.url, apiKey: GEMINI_FAKE_KEY,
    timeoutMs: 10_000, streamTimeoutMs: 10_000, params: {}, ...partial,
  };
}

function call(d: Deployment = deployment()): UpstreamCall {
  return { deployment: d, upstreamModel: d.model, signal: new AbortController().signal, clientHeaders: {} };
}

function request(partial: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { model: 'gemini-test', system: [], messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }], stream: false, extra: {}, ...partial };
}

async function streamed(req: CanonicalRequest, c: UpstreamCall = call()): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of await adapter.stream({ ...req, stream: true }, c)) events.push(event);
  return events;
}

function comparable(res: CanonicalResponse): unknown {
  return { model: res.model, content: res.content, stopReason: res.stopReason, usage: usageCounts(res.usage) };
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  fake = await startFakeGemini({ thoughts: THOUGHTS });
  adapter = geminiSelector!(deployment());
});
afterAll(() => fake.close());
afterEach(() => {
  vi.unstubAllEnvs();
  fake.requests.length = 0;
});

describe('Gemini API adapter', () => {
  it('generateContent: URL, x-goog-api-key, answer and usage (thoughts counted as output)', async () => {
    const res = await adapter.complete(request({ reasoning: { effort: 'low' } }), call());
    const [recorded] = fake.requests;
    expect(recorded!.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(recorded!.headers['x-goog-api-key']).toBe(GEMINI_FAKE_KEY);
    expect(recorded!.json).toMatchObject({ contents: [{ role: 'user', parts: [{ text: QUESTION }] }], generationConfig: { thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } } });
    expect(res.model).toBe('gemini-2.5-flash');
    expect(res.content).toEqual([{ type: 'thinking', text: GEMINI_THOUGHT_TEXT }, { type: 'text', text: GEMINI_REPLY_TEXT }]);
    expect(res.stopReason).toBe('end_turn');
    expect(usageCounts(res.usage)).toEqual({ inputUncached: countWords(QUESTION), cacheRead: 0, output: countWords(GEMINI_REPLY_TEXT) + THOUGHTS, reasoning: THOUGHTS });
  });

  it('streamGenerateContent?alt=sse (CRLF frames, cumulative usage): fold(stream) equals the non-streamed answer', async () => {
    const req = request({ reasoning: { effort: 'low' } });
    const whole = await adapter.complete(req, call());
    const events = await streamed(req);
    expect(fake.requests[1]!.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(events.filter((e) => e.type === 'text').length).toBe(countWords(GEMINI_REPLY_TEXT));
    expect(comparable(await collectStream(toAsync(events)))).toEqual(comparable(whole));
  });

  it('implicit cache: the second identical long prefix is read from the cache, and promptTokenCount includes it', async () => {
    const system = Array.from({ length: 1100 }, (_, i) => `rule${i}`).join(' ');
    const req = request({ system: [{ type: 'text', text: system }] });
    const first = await adapter.complete(req, call());
    const second = await streamed(req);
    expect(usageCounts(first.usage)).toMatchObject({ inputUncached: 1100 + countWords(QUESTION), cacheRead: 0 });
    expect(usageCounts((await collectStream(toAsync(second))).usage)).toMatchObject({ inputUncached: countWords(QUESTION), cacheRead: 1100 });
  });

  it('tools: a function call becomes a tool_use answer, streamed or not; the schema passes Gemini’s validation', async () => {
    const tools = [{ name: 'weather', description: 'Weather by city', parameters: { type: 'object', additionalProperties: false, properties: { city: { type: 'string' } }, required: ['city'] } }];
    fake.script([{ kind: 'tool', name: 'weather', input: { city: 'Paris' } }, { kind: 'tool', name: 'weather', input: { city: 'Paris' } }]);
    const whole = await adapter.complete(request({ tools, toolChoice: { type: 'required' } }), call());
    expect(whole.stopReason).toBe('tool_use');
    expect(whole.content).toMatchObject([{ type: 'tool_call', name: 'weather', arguments: '{"city":"Paris"}' }]);
    const folded = await collectStream(toAsync(await streamed(request({ tools }))));
    expect(folded.stopReason).toBe('tool_use');
    expect(folded.content).toMatchObject([{ type: 'tool_call', name: 'weather', arguments: '{"city":"Paris"}' }]);
    expect(fake.requests[0]!.json).toMatchObject({ toolConfig: { functionCallingConfig: { mode: 'ANY' } }, tools: [{ functionDeclarations: [{ name: 'weather' }] }] });
  });

  it('Gemini 3 thought signatures on function calls come back on the next turn (the fake rejects a turn without)', async () => {
    const strict = await startFakeGemini({ signatures: true, requireSignatures: true });
    try {
      const d = deployment({ apiBase: strict.url, model: 'gemini-3-pro-preview' });
      strict.script([{ kind: 'tool', name: 'lookup', input: { q: 'x' } }]);
      const first = await adapter.complete(request(), call(d));
      const toolCall = first.content.find((p) => p.type === 'tool_call');
      if (toolCall?.type !== 'tool_call') throw new Error('expected a tool call');
      expect(decodeToolCallId(toolCall.id).signature).toBe(GEMINI_SIGNATURE);
      const history: Message[] = [
        ...request().messages,
        { role: 'assistant', content: first.content },
        { role: 'tool', content: [{ type: 'tool_result', toolCallId: toolCall.id, content: 'found it' }] },
      ];
      const second = await adapter.complete(request({ messages: history }), call(d));
      expect(second.stopReason).toBe('end_turn');
      expect((strict.requests[1]!.json as { contents: unknown[] }).contents[1]).toEqual({ role: 'model', parts: [{ functionCall: { name: 'lookup', args: { q: 'x' } }, thoughtSignature: GEMINI_SIGNATURE }] });
      expect((strict.requests[1]!.json as { contents: unknown[] }).contents[2]).toEqual({ role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { output: 'found it' } } }] });
    } finally {
      await strict.close();
    }
  });

  it('countTokens: the wrapped generateContentRequest form, totalTokens', async () => {
    const tokens = await adapter.countTokens!(request({ system: [{ type: 'text', text: 'Be brief.' }] }), call());
    expect(tokens).toBe(countWords(`Be brief. ${QUESTION}`));
    expect(fake.requests[0]!.path).toBe('/v1beta/models/gemini-2.5-flash:countTokens');
    expect(fake.requests[0]!.json).toMatchObject({ generateContentRequest: { model: 'models/gemini-2.5-flash', systemInstruction: { parts: [{ text: 'Be brief.' }] } } });
  });

  it('replays the captured google-text.chunks.txt through the adapter: usage 9 / 23 + 185', async () => {
    const replay = await startFakeGemini(fixtureReplayGemini('google-text.chunks.txt'));
    try {
      const res = await collectStream(toAsync(await streamed(request(), call(deployment({ apiBase: replay.url, model: 'gemini-3-pro-preview' })))));
      expect(usageCounts(res.usage)).toEqual({ inputUncached: 9, cacheRead: 0, output: 23 + 185, reasoning: 185 });
      expect(res.model).toBe('gemini-3-pro-preview');
    } finally {
      await replay.close();
    }
  });
});

describe('Gemini API errors', () => {
  it('429 RESOURCE_EXHAUSTED → rate_limit, retryable, retry delay from RetryInfo', async () => {
    fake.script([{ status: 429 }]);
    expect(await rejection(adapter.complete(request(), call()))).toMatchObject({ code: 'rate_limit', status: 429, retryable: true, retryAfterSeconds: 7, message: 'Resource has been exhausted (e.g. check quota).' });
  });

  it('503 UNAVAILABLE before a stream → service_unavailable, retryable', async () => {
    fake.script([{ status: 503 }]);
    expect(await rejection(streamed(request()))).toMatchObject({ code: 'service_unavailable', status: 503, retryable: true });
  });

  it('an error after a 200 inside the stream is an error event', async () => {
    fake.script([{ kind: 'overloaded-in-stream' }]);
    const events = await streamed(request());
    expect(events.find((e) => e.type === 'error')).toMatchObject({ error: { code: 'service_unavailable', message: 'The model is overloaded. Please try again later.' } });
  });

  it('a wrong API key → authentication (401), not a bad request', async () => {
    expect(await rejection(adapter.complete(request(), call(deployment({ apiKey: 'AIza-wrong' }))))).toMatchObject({ code: 'authentication', status: 401, message: 'API key not valid. Please pass a valid API key.' });
  });

  it('the key falls back to GEMINI_API_KEY; none at all is a configuration error', async () => {
    vi.stubEnv('GEMINI_API_KEY', GEMINI_FAKE_KEY);
    await expect(adapter.complete(request(), call(deployment({ apiKey: undefined })))).resolves.toMatchObject({ stopReason: 'end_turn' });
    vi.stubEnv('GEMINI_API_KEY', '');
    vi.stubEnv('GOOGLE_API_KEY', '');
    expect(await rejection(adapter.complete(request(), call(deployment({ apiKey: undefined }))))).toMatchObject({ status: 500, message: expect.stringContaining('GEMINI_API_KEY') as unknown });
  });

  it('a cut stream ends without a finish event (the fold reports it incomplete)', async () => {
    fake.script([{ kind: 'cut-after', events: 2 }]);
    const events: StreamEvent[] = [];
    const error = await rejection((async () => {
      for await (const event of await adapter.stream(request({ stream: true }), call())) events.push(event);
    })());
    expect(events.some((e) => e.type === 'finish')).toBe(false);
    expect(error.retryable).toBe(true);
  });
});

async function* toAsync(events: StreamEvent[]): AsyncGenerator<StreamEvent> {
  for (const event of events) {
    await Promise.resolve();
    yield event;
  }
}
