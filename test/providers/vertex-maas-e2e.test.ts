/**
 * Vertex AI partner and open models end to end through the real server, against the fake Vertex
 * (service-account OAuth, every route checks the bearer it issued): Model Garden MaaS models on
 * Vertex's OpenAI-compatible endpoint (passthrough from the OpenAI surface, translated from the
 * Anthropic one), Mistral on `publishers/mistralai` rawPredict, and a `vertex_ai/*` wildcard that
 * picks the adapter per model. Expected tokens are counted here from the words sent; costs come
 * from per-token prices in the config.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { anthropicClient, MASTER_KEY, newCallId, openaiClient, postJson, recordFor, sseJson } from '../e2e/harness.js';
import type { RecordedRequest } from '../fakes/common.js';
import { ANTHROPIC_REPLY_TEXT, countWords } from '../fakes/index.js';
import { GEMINI_REPLY_TEXT } from '../fakes/gemini-upstream.js';
import { MAAS_REPLY_TEXT } from '../fakes/vertex-maas.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const LOCATION = 'us-east5';
const BASE = `/v1/projects/${VERTEX_PROJECT}/locations/${LOCATION}`;
const OPENAPI = `${BASE}/endpoints/openapi/chat/completions`;
const LLAMA = 'meta/llama-3.3-70b-instruct-maas';
const PRICE_IN = 0.00000072;
const PRICE_OUT = 0.00000072;
const QUESTION = 'Name three rivers in Europe please';
const IN = countWords(QUESTION); // 6
const OUT = countWords(MAAS_REPLY_TEXT); // 5
const nano = (input: number, output: number): number => Math.round((input * PRICE_IN + output * PRICE_OUT) * 1e9);

let vertex: VertexFake;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  vertex = await startFakeVertex();
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-vertex-maas-')), 'vertex-sa.json');
  writeFileSync(keyFile, JSON.stringify(vertex.credentials));
  const common = `api_base: "${vertex.url}"
      vertex_project: ${VERTEX_PROJECT}
      vertex_location: ${LOCATION}
      vertex_credentials: "${keyFile}"
      input_cost_per_token: ${PRICE_IN}
      output_cost_per_token: ${PRICE_OUT}`;
  gw = await startGateway(`
model_list:
  - model_name: llama-maas
    litellm_params:
      model: vertex_ai/${LLAMA}
      ${common}
  - model_name: mistral-vertex
    litellm_params:
      model: vertex_ai/mistral-large-2411@001
      ${common}
  - model_name: vertex_ai/*
    litellm_params:
      model: vertex_ai/*
      ${common}
router_settings: { num_retries: 0 }
general_settings: { master_key: ${MASTER_KEY} }
`);
  openai = openaiClient(gw.url);
  anthropic = anthropicClient(gw.url);
});
afterAll(async () => {
  await gw.close();
  await vertex.close();
});

function expectRecord(record: CallRecord, model: string, input = IN, output = OUT): void {
  expect(record.outcome).toBe('success');
  expect(record.deployment).toMatchObject({ provider: 'vertex_ai' });
  expect(record.upstreamModel ?? record.deployment?.model).toBe(model);
  expect(record.usage.inputUncached).toBe(input);
  expect(record.usage.output).toBe(output);
  expect(record.costNanoUsd).toBe(nano(input, output));
}

/** The last request the fake Vertex saw on `path`, with a bearer the fake's token endpoint issued. */
function lastAt(path: string): RecordedRequest {
  const sent = vertex.requests.filter((r) => r.path === path).at(-1);
  expect(sent, `a request to ${path}`).toBeDefined();
  const auth = sent!.headers.authorization ?? '';
  expect(auth).toMatch(/^Bearer ya29\.fake-\d+$/);
  expect(vertex.issued).toContain(auth.slice('Bearer '.length));
  return sent!;
}

describe('MaaS on the OpenAI-compatible endpoint (vertex_ai/meta/llama-…-maas)', () => {
  it('openai SDK, non-streaming: the body passes through with the publisher model id', async () => {
    const callId = newCallId();
    const data = await openai.chat.completions.create({ model: 'llama-maas', messages: [{ role: 'user', content: QUESTION }], max_tokens: 20 }, { headers: { 'x-litellm-call-id': callId } });
    expect(data.choices[0]?.message.content).toBe(MAAS_REPLY_TEXT);
    expect(data.usage).toMatchObject({ prompt_tokens: IN, completion_tokens: OUT });
    const record = await recordFor(gw.gateway, callId);
    expectRecord(record, LLAMA);
    expect(record.passthrough).toBe(true);
    expect(lastAt(OPENAPI).json).toEqual({ model: LLAMA, messages: [{ role: 'user', content: QUESTION }], max_tokens: 20 });
  });

  it('openai SDK, streaming without include_usage: metered, no usage chunk for the client', async () => {
    const callId = newCallId();
    const res = await postJson(gw.url, '/v1/chat/completions', { model: 'llama-maas', stream: true, messages: [{ role: 'user', content: QUESTION }] }, { 'x-litellm-call-id': callId });
    const chunks = sseJson(await res.text());
    expect(chunks.map((c) => ((c.choices as { delta?: { content?: string } }[])[0]?.delta?.content ?? '')).join('')).toBe(MAAS_REPLY_TEXT);
    expect(chunks.some((c) => c.usage !== undefined && c.usage !== null)).toBe(false);
    expect(lastAt(OPENAPI).json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expectRecord(await recordFor(gw.gateway, callId), LLAMA);
  });

  it('Anthropic SDK: translated, streamed and not, the same usage', async () => {
    const params = { model: 'llama-maas', max_tokens: 32, messages: [{ role: 'user' as const, content: QUESTION }] };
    const callId = newCallId();
    const message = await anthropic.messages.create(params, { headers: { 'x-litellm-call-id': callId } });
    expect(message.content).toMatchObject([{ type: 'text', text: MAAS_REPLY_TEXT }]);
    expect(message.usage).toMatchObject({ input_tokens: IN, output_tokens: OUT });
    expectRecord(await recordFor(gw.gateway, callId), LLAMA);
    const streamId = newCallId();
    const final = await anthropic.messages.stream(params, { headers: { 'x-litellm-call-id': streamId } }).finalMessage();
    expect(final.content).toMatchObject([{ type: 'text', text: MAAS_REPLY_TEXT }]);
    expect(final.usage).toMatchObject({ input_tokens: IN, output_tokens: OUT });
    expectRecord(await recordFor(gw.gateway, streamId), LLAMA);
    expect(lastAt(OPENAPI).json).toMatchObject({ model: LLAMA, stream: true, max_completion_tokens: 32, messages: [{ role: 'user', content: QUESTION }] });
  });

  it("Vertex's Google-envelope errors keep their status and message", async () => {
    vertex.script([{ status: 429 }]);
    const res = await postJson(gw.url, '/v1/chat/completions', { model: 'llama-maas', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('Quota exceeded');
  });
});

describe('Mistral on Vertex (vertex_ai/mistral-large-2411@001, publishers/mistralai)', () => {
  const RAW = `${BASE}/publishers/mistralai/models/mistral-large-2411`;

  it('openai SDK, non-streaming: rawPredict with Mistral fields, @version dropped', async () => {
    const callId = newCallId();
    const data = await openai.chat.completions.create({ model: 'mistral-vertex', messages: [{ role: 'user', content: QUESTION }], max_completion_tokens: 40, user: 'u-1' }, { headers: { 'x-litellm-call-id': callId } });
    expect(data.choices[0]?.message.content).toBe(MAAS_REPLY_TEXT);
    expectRecord(await recordFor(gw.gateway, callId), 'mistral-large-2411@001');
    expect(lastAt(`${RAW}:rawPredict`).json).toEqual({ model: 'mistral-large-2411', messages: [{ role: 'user', content: QUESTION }], max_tokens: 40 });
  });

  it('streaming: streamRawPredict, usage from the finish chunk, for both SDKs', async () => {
    const callId = newCallId();
    const stream = await openai.chat.completions.create({ model: 'mistral-vertex', messages: [{ role: 'user', content: QUESTION }], stream: true, stream_options: { include_usage: true } }, { headers: { 'x-litellm-call-id': callId } });
    let text = '';
    const usages: OpenAI.CompletionUsage[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usages.push(chunk.usage);
    }
    expect(text).toBe(MAAS_REPLY_TEXT);
    expect(usages).toHaveLength(1);
    expect(usages[0]).toMatchObject({ prompt_tokens: IN, completion_tokens: OUT });
    expectRecord(await recordFor(gw.gateway, callId), 'mistral-large-2411@001');
    const sent = lastAt(`${RAW}:streamRawPredict`).json as Record<string, unknown>;
    expect(sent.stream).toBe(true);
    expect('stream_options' in sent).toBe(false);

    const streamId = newCallId();
    const final = await anthropic.messages.stream({ model: 'mistral-vertex', max_tokens: 16, messages: [{ role: 'user', content: QUESTION }] }, { headers: { 'x-litellm-call-id': streamId } }).finalMessage();
    expect(final.usage).toMatchObject({ input_tokens: IN, output_tokens: OUT });
    expectRecord(await recordFor(gw.gateway, streamId), 'mistral-large-2411@001');
  });

  it('tool_choice "required" is Mistral\'s "any"', async () => {
    vertex.script([{ kind: 'tool', name: 'lookup', input: { river: 'Rhine' } }]);
    const data = await openai.chat.completions.create({
      model: 'mistral-vertex',
      messages: [{ role: 'user', content: QUESTION }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    });
    const call = data.choices[0]?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: 'lookup', arguments: '{"river":"Rhine"}' });
    expect(lastAt(`${RAW}:rawPredict`).json).toMatchObject({ tool_choice: 'any' });
  });
});

describe('a vertex_ai/* wildcard picks the adapter per model', () => {
  it('qwen MaaS → the OpenAI-compatible endpoint, with the publisher model id', async () => {
    const model = 'qwen/qwen3-coder-480b-a35b-instruct-maas';
    const callId = newCallId();
    const data = await openai.chat.completions.create({ model: `vertex_ai/${model}`, messages: [{ role: 'user', content: QUESTION }] }, { headers: { 'x-litellm-call-id': callId } });
    expect(data.choices[0]?.message.content).toBe(MAAS_REPLY_TEXT);
    expect(lastAt(OPENAPI).json).toMatchObject({ model });
    expectRecord(await recordFor(gw.gateway, callId), model);
  });

  it('openai/gpt-oss and deepseek-ai → the OpenAI-compatible endpoint', async () => {
    for (const model of ['openai/gpt-oss-120b-maas', 'deepseek-ai/deepseek-r1-0528-maas']) {
      await openai.chat.completions.create({ model: `vertex_ai/${model}`, messages: [{ role: 'user', content: QUESTION }] });
      expect(lastAt(OPENAPI).json).toMatchObject({ model });
    }
  });

  it('mistral → publishers/mistralai', async () => {
    const data = await openai.chat.completions.create({ model: 'vertex_ai/mistral-small-2503@001', messages: [{ role: 'user', content: QUESTION }] });
    expect(data.choices[0]?.message.content).toBe(MAAS_REPLY_TEXT);
    lastAt(`${BASE}/publishers/mistralai/models/mistral-small-2503:rawPredict`);
  });

  it('gemini → publishers/google generateContent', async () => {
    const data = await openai.chat.completions.create({ model: 'vertex_ai/gemini-2.5-flash', messages: [{ role: 'user', content: QUESTION }] });
    expect(data.choices[0]?.message.content).toBe(GEMINI_REPLY_TEXT);
    lastAt(`${BASE}/publishers/google/models/gemini-2.5-flash:generateContent`);
  });

  it('claude → publishers/anthropic rawPredict, passed through from the Anthropic surface', async () => {
    const callId = newCallId();
    const message = await anthropic.messages.create({ model: 'vertex_ai/claude-sonnet-4-5@20250929', max_tokens: 16, messages: [{ role: 'user', content: QUESTION }] }, { headers: { 'x-litellm-call-id': callId } });
    expect(message.content).toMatchObject([{ type: 'text', text: ANTHROPIC_REPLY_TEXT }]);
    expect((await recordFor(gw.gateway, callId)).passthrough).toBe(true);
    expect(lastAt(`${BASE}/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict`).json).toMatchObject({ anthropic_version: 'vertex-2023-10-16' });
  });
});
