/**
 * End to end through the real server with the official SDKs: Gemini 2.5 Flash on Vertex AI
 * (`vertex_ai/gemini-2.5-flash`, service-account OAuth, Google publisher path) from both surfaces,
 * streamed and not, with implicit cache reads, one call record per request and a tool round trip.
 * Expected token numbers are computed here from the words sent (the fake counts one per word).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { anthropicClient, MASTER_KEY, newCallId, openaiClient, recordFor, words } from '../e2e/harness.js';
import type { RecordedRequest } from '../fakes/common.js';
import { GEMINI_CACHE_MIN_WORDS, GEMINI_REPLY_TEXT } from '../fakes/gemini-upstream.js';
import { countWords } from '../fakes/index.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const LOCATION = 'europe-west4';
const MODEL_PATH = `/v1/projects/${VERTEX_PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-2.5-flash`;
/** A system prompt long enough for the implicit cache (the prefix must be >= 1024 words). */
const PREFIX_WORDS = 1100;
const QUESTION = 'Which rule above matters most, in one short sentence?';
const UNCACHED = countWords(QUESTION); // 9
const OUTPUT = countWords(GEMINI_REPLY_TEXT); // "Hello from fake gemini." = 4
/** Published Gemini 2.5 Flash prices, USD per million tokens. */
const PRICE = { input: 0.3, cacheRead: 0.03, output: 2.5 };

let vertex: VertexFake;
let gw: TestGateway;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  vertex = await startFakeVertex();
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-vertex-gemini-')), 'vertex-sa.json');
  writeFileSync(keyFile, JSON.stringify(vertex.credentials));
  gw = await startGateway(`
model_list:
  - model_name: gemini-vertex
    litellm_params:
      model: vertex_ai/gemini-2.5-flash
      api_base: "${vertex.url}"
      vertex_project: ${VERTEX_PROJECT}
      vertex_location: ${LOCATION}
      vertex_credentials: "${keyFile}"
general_settings: { master_key: ${MASTER_KEY} }
`);
  anthropic = anthropicClient(gw.url);
  openai = openaiClient(gw.url);
});
afterAll(async () => {
  await gw.close();
  await vertex.close();
});

interface Expected { cached: number }
const FIRST: Expected = { cached: 0 };
const SECOND: Expected = { cached: PREFIX_WORDS };

function expectRecord(record: CallRecord, e: Expected, output = OUTPUT, prompt = PREFIX_WORDS + UNCACHED): void {
  expect(record.outcome).toBe('success');
  expect(record.deployment).toMatchObject({ provider: 'vertex_ai', model: 'gemini-2.5-flash', modelGroup: 'gemini-vertex' });
  expect(record.usage.inputUncached).toBe(prompt - e.cached);
  expect(record.usage.cacheRead ?? 0).toBe(e.cached);
  expect(record.usage.cacheWrite5m ?? 0).toBe(0);
  expect(record.usage.output).toBe(output);
  const usd = ((prompt - e.cached) * PRICE.input + e.cached * PRICE.cacheRead + output * PRICE.output) / 1e6;
  expect(record.costNanoUsd).toBe(Math.round(usd * 1e9));
}

/** The last generation request the Vertex fake saw, checked for its URL and a bearer it issued. */
function lastGeneration(stream: boolean): RecordedRequest {
  const sent = vertex.requests.filter((r) => r.path.startsWith(MODEL_PATH)).at(-1)!;
  expect(sent.path).toBe(stream ? `${MODEL_PATH}:streamGenerateContent?alt=sse` : `${MODEL_PATH}:generateContent`);
  const auth = sent.headers.authorization ?? '';
  expect(auth).toMatch(/^Bearer ya29\.fake-\d+$/);
  expect(vertex.issued).toContain(auth.slice('Bearer '.length));
  expect(sent.headers['x-goog-api-key']).toBeUndefined();
  return sent;
}

it('the prefix is long enough for the fake implicit cache', () => {
  expect(PREFIX_WORDS).toBeGreaterThanOrEqual(GEMINI_CACHE_MIN_WORDS);
});

describe('vertex_ai/gemini-2.5-flash from /v1/chat/completions (OpenAI SDK)', () => {
  const params = (seed: string): OpenAI.ChatCompletionCreateParamsNonStreaming => ({
    model: 'gemini-vertex',
    messages: [{ role: 'system', content: words(PREFIX_WORDS, seed) }, { role: 'user', content: QUESTION }],
  });

  it('non-streaming: prompt_tokens counts everything, cached_tokens 0 then the system prompt', async () => {
    for (const expected of [FIRST, SECOND]) {
      const callId = newCallId();
      const { data, response } = await openai.chat.completions.create(params('vgo'), { headers: { 'x-litellm-call-id': callId } }).withResponse();
      expect(response.headers.get('x-litellm-call-id')).toBe(callId);
      expect(data.choices[0]?.message.content).toBe(GEMINI_REPLY_TEXT);
      expect(data.choices[0]?.finish_reason).toBe('stop');
      expect(data.usage).toMatchObject({
        prompt_tokens: PREFIX_WORDS + UNCACHED,
        completion_tokens: OUTPUT,
        total_tokens: PREFIX_WORDS + UNCACHED + OUTPUT,
      });
      expect(data.usage?.prompt_tokens_details?.cached_tokens ?? 0).toBe(expected.cached);
      expectRecord(await recordFor(gw.gateway, callId), expected);
      const sent = lastGeneration(false);
      expect(sent.json).toMatchObject({ systemInstruction: { parts: [{ text: words(PREFIX_WORDS, 'vgo') }] }, contents: [{ role: 'user', parts: [{ text: QUESTION }] }] });
    }
  });

  it('streaming with include_usage: the text and exactly one usage chunk', async () => {
    for (const expected of [FIRST, SECOND]) {
      const callId = newCallId();
      const stream = await openai.chat.completions.create(
        { ...params('vgo-sse'), stream: true, stream_options: { include_usage: true } },
        { headers: { 'x-litellm-call-id': callId } },
      );
      let text = '';
      const usages: OpenAI.CompletionUsage[] = [];
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.usage) usages.push(chunk.usage);
      }
      expect(text).toBe(GEMINI_REPLY_TEXT);
      expect(usages).toHaveLength(1);
      expect(usages[0]).toMatchObject({ prompt_tokens: PREFIX_WORDS + UNCACHED, completion_tokens: OUTPUT });
      expect(usages[0]?.prompt_tokens_details?.cached_tokens ?? 0).toBe(expected.cached);
      expectRecord(await recordFor(gw.gateway, callId), expected);
      lastGeneration(true);
    }
  });

  it('a tool-call round trip', async () => {
    vertex.script([{ kind: 'tool', name: 'lookup', input: { city: 'Paris' } }]);
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: QUESTION }];
    const firstId = newCallId();
    const first = await openai.chat.completions.create({ model: 'gemini-vertex', messages, tools }, { headers: { 'x-litellm-call-id': firstId } });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const toolCall = choice.message.tool_calls?.[0];
    expect(toolCall).toMatchObject({ type: 'function', function: { name: 'lookup' } });
    expect(toolCall?.type === 'function' ? JSON.parse(toolCall.function.arguments) : undefined).toEqual({ city: 'Paris' });
    const toolOutput = countWords('lookup {"city":"Paris"}'); // the fake counts name + JSON args
    expect(first.usage).toMatchObject({ prompt_tokens: UNCACHED, completion_tokens: toolOutput });
    expectRecord(await recordFor(gw.gateway, firstId), FIRST, toolOutput, UNCACHED);
    const declared = lastGeneration(false).json;
    expect(declared).toMatchObject({ tools: [{ functionDeclarations: [{ name: 'lookup' }] }] });

    const secondId = newCallId();
    const second = await openai.chat.completions.create(
      { model: 'gemini-vertex', tools, messages: [...messages, choice.message, { role: 'tool', tool_call_id: toolCall!.id, content: 'sunny' }] },
      { headers: { 'x-litellm-call-id': secondId } },
    );
    expect(second.choices[0]?.message.content).toBe(GEMINI_REPLY_TEXT);
    expect((await recordFor(gw.gateway, secondId)).deployment?.provider).toBe('vertex_ai');
    const sent = lastGeneration(false).json;
    expect(sent).toMatchObject({
      contents: [
        { role: 'user', parts: [{ text: QUESTION }] },
        { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { city: 'Paris' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'lookup' } }] },
      ],
    });
  });
});

describe('vertex_ai/gemini-2.5-flash from /v1/messages (Anthropic SDK)', () => {
  const params = (seed: string): Anthropic.MessageCreateParamsNonStreaming => ({
    model: 'gemini-vertex',
    max_tokens: 64,
    system: words(PREFIX_WORDS, seed),
    messages: [{ role: 'user', content: QUESTION }],
  });

  it('non-streaming: input_tokens excludes the implicit cache read on the second call', async () => {
    for (const expected of [FIRST, SECOND]) {
      const callId = newCallId();
      const message = await anthropic.messages.create(params('vga'), { headers: { 'x-litellm-call-id': callId } });
      expect(message.content).toEqual([{ type: 'text', text: GEMINI_REPLY_TEXT }]);
      expect(message.stop_reason).toBe('end_turn');
      expect(message.usage).toMatchObject({
        input_tokens: PREFIX_WORDS + UNCACHED - expected.cached,
        cache_read_input_tokens: expected.cached,
        output_tokens: OUTPUT,
      });
      expect(message.usage.cache_creation_input_tokens ?? 0).toBe(0);
      expectRecord(await recordFor(gw.gateway, callId), expected);
      lastGeneration(false);
    }
  });

  it('streaming: text deltas and the final usage carry the same numbers', async () => {
    for (const expected of [FIRST, SECOND]) {
      const callId = newCallId();
      const stream = anthropic.messages.stream(params('vga-sse'), { headers: { 'x-litellm-call-id': callId } });
      let text = '';
      stream.on('text', (delta) => {
        text += delta;
      });
      const message = await stream.finalMessage();
      expect(text).toBe(GEMINI_REPLY_TEXT);
      expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: GEMINI_REPLY_TEXT })]);
      expect(message.usage).toMatchObject({
        input_tokens: PREFIX_WORDS + UNCACHED - expected.cached,
        cache_read_input_tokens: expected.cached,
        output_tokens: OUTPUT,
      });
      expectRecord(await recordFor(gw.gateway, callId), expected);
      lastGeneration(true);
    }
  });
});

it('every request above left exactly one call record, all on vertex_ai', () => {
  const records = gw.gateway.calls.records();
  // 2 + 2 (OpenAI) + 2 (tool round trip) + 2 + 2 (Anthropic)
  expect(records).toHaveLength(10);
  expect(new Set(records.map((r) => r.requestId)).size).toBe(10);
  expect(records.every((r) => r.deployment?.provider === 'vertex_ai' && r.outcome === 'success')).toBe(true);
  expect(records.filter((r) => r.stream)).toHaveLength(4);
});
