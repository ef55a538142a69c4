/**
 * End to end through the real server with the official SDKs: Claude on Vertex (the seed scenario:
 * an 1800-word cached system prompt, write then read, on both surfaces, streaming and not, and the
 * call records), Gemini and Azure OpenAI chat from both surfaces.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { anthropicClient, MASTER_KEY, newCallId, openaiClient, recordFor, words } from '../e2e/harness.js';
import { AZURE_FAKE_KEY, startFakeAzure, type AzureFake } from '../fakes/azure-upstream.js';
import { GEMINI_FAKE_KEY, GEMINI_REPLY_TEXT, startFakeGemini } from '../fakes/gemini-upstream.js';
import { ANTHROPIC_REPLY_TEXT, countWords, OPENAI_REPLY_TEXT, type FakeUpstream } from '../fakes/index.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const PREFIX_WORDS = 1800;
const QUESTION = 'Summarize the rules above in one short sentence please.';
const UNCACHED = countWords(QUESTION);
const CLAUDE_OUTPUT = countWords(ANTHROPIC_REPLY_TEXT);

let vertex: VertexFake;
let gemini: FakeUpstream;
let gemini3: FakeUpstream;
let azure: AzureFake;
let gw: TestGateway;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  [vertex, gemini, gemini3, azure] = await Promise.all([
    startFakeVertex(), startFakeGemini(), startFakeGemini({ signatures: true, requireSignatures: true }), startFakeAzure(),
  ]);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-e2e-')), 'vertex-sa.json');
  writeFileSync(keyFile, JSON.stringify(vertex.credentials));
  gw = await startGateway(`
model_list:
  - model_name: claude-vertex
    litellm_params:
      model: vertex_ai/claude-sonnet-4-5@20250929
      api_base: "${vertex.url}"
      vertex_project: ${VERTEX_PROJECT}
      vertex_location: us-east5
      vertex_credentials: "${keyFile}"
  - model_name: gemini-flash
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${gemini.url}", api_key: ${GEMINI_FAKE_KEY} }
  - model_name: gemini-3
    litellm_params: { model: gemini/gemini-3-pro-preview, api_base: "${gemini3.url}", api_key: ${GEMINI_FAKE_KEY} }
  - model_name: azure-gpt
    litellm_params: { model: azure/gpt-4o-prod, api_base: "${azure.url}", api_key: ${AZURE_FAKE_KEY}, api_version: "2024-10-21" }
general_settings: { master_key: ${MASTER_KEY} }
`);
  anthropic = anthropicClient(gw.url);
  openai = openaiClient(gw.url);
});
afterAll(async () => {
  await gw.close();
  await Promise.all([vertex.close(), gemini.close(), gemini3.close(), azure.close()]);
});

interface Expected { read: number; write: number }
const WRITE: Expected = { read: 0, write: PREFIX_WORDS };
const READ: Expected = { read: PREFIX_WORDS, write: 0 };

function expectRecord(record: CallRecord, e: Expected, provider = 'vertex_ai'): void {
  expect(record.outcome).toBe('success');
  expect(record.deployment?.provider).toBe(provider);
  expect(record.usage.inputUncached).toBe(UNCACHED);
  expect(record.usage.cacheRead).toBe(e.read);
  expect(record.usage.cacheWrite5m ?? 0).toBe(e.write);
  expect(record.usage.output).toBe(CLAUDE_OUTPUT);
}

describe('vertex_ai/claude-sonnet-4-5@20250929: cache write then read on /v1/messages (passthrough)', () => {
  const params = (seed: string): Anthropic.MessageCreateParamsNonStreaming => ({
    model: 'claude-vertex',
    max_tokens: 64,
    system: [{ type: 'text', text: words(PREFIX_WORDS, seed), cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: QUESTION }],
  });

  it('non-streaming (rawPredict): the second call reads what the first wrote', async () => {
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const message = await anthropic.messages.create(params('vx-json'), { headers: { 'x-litellm-call-id': callId } });
      expect(message.content).toEqual([{ type: 'text', text: ANTHROPIC_REPLY_TEXT }]);
      expect(message.usage).toMatchObject({ input_tokens: UNCACHED, cache_creation_input_tokens: expected.write, cache_read_input_tokens: expected.read, output_tokens: CLAUDE_OUTPUT });
      expectRecord(await recordFor(gw.gateway, callId), expected);
    }
    const sent = vertex.requests.filter((r) => r.path.endsWith(':rawPredict')).at(-1)!;
    expect(sent.path).toBe(`/v1/projects/${VERTEX_PROJECT}/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict`);
    expect(sent.json).toMatchObject({ anthropic_version: 'vertex-2023-10-16' });
    expect(sent.json).not.toHaveProperty('model');
  });

  it('streaming (streamRawPredict): message_start and finalMessage carry the same numbers', async () => {
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const stream = anthropic.messages.stream(params('vx-sse'), { headers: { 'x-litellm-call-id': callId } });
      let start: Anthropic.Usage | undefined;
      stream.on('streamEvent', (event) => {
        if (event.type === 'message_start') start = event.message.usage;
      });
      const message = await stream.finalMessage();
      expect(start).toMatchObject({ cache_creation_input_tokens: expected.write, cache_read_input_tokens: expected.read });
      expect(message.usage).toMatchObject({ input_tokens: UNCACHED, cache_creation_input_tokens: expected.write, cache_read_input_tokens: expected.read, output_tokens: CLAUDE_OUTPUT });
      expectRecord(await recordFor(gw.gateway, callId), expected);
    }
  });
});

describe('vertex_ai/claude-sonnet-4-5@20250929 from /v1/chat/completions (translated)', () => {
  const params = (seed: string): OpenAI.ChatCompletionCreateParamsNonStreaming => ({
    model: 'claude-vertex',
    messages: [
      { role: 'system', content: [{ type: 'text', text: words(PREFIX_WORDS, seed), cache_control: { type: 'ephemeral' } } as OpenAI.ChatCompletionContentPartText] },
      { role: 'user', content: QUESTION },
    ],
  });

  it('non-streaming: prompt_tokens counts everything, cached_tokens 0 then 1800', async () => {
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const completion = await openai.chat.completions.create(params('vx-chat'), { headers: { 'x-litellm-call-id': callId } });
      expect(completion.choices[0]?.message.content).toBe(ANTHROPIC_REPLY_TEXT);
      expect(completion.usage).toMatchObject({ prompt_tokens: UNCACHED + PREFIX_WORDS, completion_tokens: CLAUDE_OUTPUT, prompt_tokens_details: { cached_tokens: expected.read } });
      expectRecord(await recordFor(gw.gateway, callId), expected);
    }
  });

  it('streaming with include_usage: the usage chunk has the same numbers', async () => {
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const stream = await openai.chat.completions.create({ ...params('vx-chat-sse'), stream: true, stream_options: { include_usage: true } }, { headers: { 'x-litellm-call-id': callId } });
      const usages: OpenAI.CompletionUsage[] = [];
      for await (const chunk of stream) if (chunk.usage) usages.push(chunk.usage);
      expect(usages).toHaveLength(1);
      expect(usages[0]).toMatchObject({ prompt_tokens: UNCACHED + PREFIX_WORDS, prompt_tokens_details: { cached_tokens: expected.read } });
      expectRecord(await recordFor(gw.gateway, callId), expected);
    }
  });
});

describe('gemini/gemini-2.5-flash', () => {
  it('OpenAI surface, streamed and not', async () => {
    const completion = await openai.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: QUESTION }] });
    expect(completion.choices[0]?.message.content).toBe(GEMINI_REPLY_TEXT);
    expect(completion.usage).toMatchObject({ prompt_tokens: UNCACHED, completion_tokens: countWords(GEMINI_REPLY_TEXT) });
    const stream = await openai.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: QUESTION }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(GEMINI_REPLY_TEXT);
    expect(usage).toMatchObject({ prompt_tokens: UNCACHED, completion_tokens: countWords(GEMINI_REPLY_TEXT) });
  });

  it('Anthropic surface: implicit cache reads appear as cache_read_input_tokens', async () => {
    const body: Anthropic.MessageCreateParamsNonStreaming = { model: 'gemini-flash', max_tokens: 64, system: words(PREFIX_WORDS, 'gm'), messages: [{ role: 'user', content: QUESTION }] };
    const first = await anthropic.messages.create(body);
    expect(first.usage).toMatchObject({ input_tokens: PREFIX_WORDS + UNCACHED, cache_read_input_tokens: 0 });
    const callId = newCallId();
    const second = await anthropic.messages.create(body, { headers: { 'x-litellm-call-id': callId } });
    expect(second.content).toEqual([{ type: 'text', text: GEMINI_REPLY_TEXT }]);
    expect(second.usage).toMatchObject({ input_tokens: UNCACHED, cache_read_input_tokens: PREFIX_WORDS, output_tokens: countWords(GEMINI_REPLY_TEXT) });
    expect((await recordFor(gw.gateway, callId)).usage).toMatchObject({ inputUncached: UNCACHED, cacheRead: PREFIX_WORDS });
  });
});

describe('gemini/gemini-3-pro-preview: thought signatures survive an OpenAI-surface tool loop', () => {
  it('the signature rides in the tool-call id the client sends back; the fake rejects a turn without it', async () => {
    gemini3.script([{ kind: 'tool', name: 'lookup', input: { city: 'Paris' } }]);
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { city: { type: 'string' } }, additionalProperties: false } } }];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: QUESTION }];
    const first = await openai.chat.completions.create({ model: 'gemini-3', messages, tools });
    const toolCall = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(toolCall?.id).toMatch(/__thought__/);
    const second = await openai.chat.completions.create({
      model: 'gemini-3',
      tools,
      messages: [...messages, first.choices[0]!.message, { role: 'tool', tool_call_id: toolCall!.id, content: 'sunny' }],
    });
    expect(second.choices[0]?.message.content).toBe(GEMINI_REPLY_TEXT);
  });
});

describe('azure/gpt-4o-prod', () => {
  it('OpenAI surface (passthrough), streamed and not', async () => {
    const completion = await openai.chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content: QUESTION }] });
    expect(completion).toMatchObject({ model: 'gpt-4o-2024-08-06', choices: [{ message: { content: OPENAI_REPLY_TEXT } }] });
    expect(azure.requests.at(-1)!.path).toBe('/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21');
    const callId = newCallId();
    const stream = await openai.chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content: QUESTION }], stream: true }, { headers: { 'x-litellm-call-id': callId } });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(OPENAI_REPLY_TEXT);
    expect((await recordFor(gw.gateway, callId)).usage).toMatchObject({ inputUncached: UNCACHED, output: countWords(OPENAI_REPLY_TEXT) });
  });

  it('Anthropic surface (translated)', async () => {
    const message = await anthropic.messages.create({ model: 'azure-gpt', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] });
    expect(message.content).toEqual([{ type: 'text', text: OPENAI_REPLY_TEXT }]);
    expect(message.usage).toMatchObject({ input_tokens: UNCACHED, output_tokens: countWords(OPENAI_REPLY_TEXT) });
  });
});
