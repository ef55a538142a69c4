/**
 * `POST /v1/responses` end to end through the real server, translated: to Claude on Anthropic, Bedrock
 * (InvokeModel) and Vertex (streamRawPredict), and on Anthropic in depth
 * (text, streaming, a function-tool round trip, thinking carried across turns in
 * `encrypted_content`) and to a chat-completions-only server (`hosted_vllm/`, with its prompt
 * cache). The official openai SDK is the client. Tokens are counted here by the fakes' one-token-
 * per-word rule; costs come from per-token prices in the config.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import {
  ANTHROPIC_FAKE_KEY, ANTHROPIC_REPLY_TEXT, BEDROCK_FAKE_CREDENTIALS, BEDROCK_REPLY_TEXT, countWords, startFakeBedrock, OPENAI_CACHE_MIN_WORDS, OPENAI_FAKE_KEY, OPENAI_REPLY_TEXT, startFakeAnthropic, startFakeOpenAI,
  type FakeUpstream,
} from '../fakes/index.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { cassette, completionCalls } from '../unit/fixtures.js';
import { MASTER_KEY, newCallId, openaiClient, postJson, recordFor, sseJson, words } from './harness.js';

const PRICE_IN = 0.000003;
const PRICE_OUT = 0.000015;
const PRICE_READ = 0.0000003;
const nano = (input: number, output: number, read = 0): number => Math.round((input * PRICE_IN + output * PRICE_OUT + read * PRICE_READ) * 1e9);
const prices = `input_cost_per_token: ${PRICE_IN}, output_cost_per_token: ${PRICE_OUT}, cache_read_input_token_cost: ${PRICE_READ}`;

const INSTRUCTIONS = 'Answer briefly';
const QUESTION = 'what is a gateway';
const IN = countWords(INSTRUCTIONS) + countWords(QUESTION);

let anthropic: FakeUpstream;
let bedrock: FakeUpstream;
let vertex: VertexFake;
let thinking: FakeUpstream;
let vllm: FakeUpstream;
let gw: TestGateway;
let client: OpenAI;

/** The thinking capture's first interaction: a raw Anthropic stream with a signed thinking block. */
const thinkingCall = completionCalls(cassette('anthropic', 'test_anthropic_model_thinking_part_stream.yaml'))[0]!;

beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  thinking = await startFakeAnthropic();
  vllm = await startFakeOpenAI();
  bedrock = await startFakeBedrock();
  vertex = await startFakeVertex();
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-responses-')), 'vertex-sa.json');
  writeFileSync(keyFile, JSON.stringify(vertex.credentials));
  const aws = `aws_bedrock_runtime_endpoint: "${bedrock.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
  gw = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: ${ANTHROPIC_FAKE_KEY}, ${prices} }
  - model_name: claude-thinking
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${thinking.url}", api_key: ${ANTHROPIC_FAKE_KEY}, ${prices} }
  - model_name: qwen
    litellm_params: { model: hosted_vllm/Qwen/Qwen3-8B, api_base: "${vllm.url}/v1", api_key: ${OPENAI_FAKE_KEY}, ${prices} }
  - model_name: claude-bedrock
    litellm_params: { model: bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0, ${aws}, ${prices} }
  - model_name: claude-vertex
    litellm_params: { model: vertex_ai/claude-sonnet-4-5@20250929, api_base: "${vertex.url}", vertex_project: ${VERTEX_PROJECT}, vertex_location: us-east5, vertex_credentials: "${keyFile}", ${prices} }
general_settings: { master_key: ${MASTER_KEY} }
`);
  client = openaiClient(gw.url);
});
afterAll(async () => {
  await gw.close();
  await Promise.all([anthropic.close(), thinking.close(), vllm.close(), bedrock.close(), vertex.close()]);
});

describe('to an Anthropic deployment', () => {
  it('non-streaming: a response object with the answer, usage and cost; the record is metered', async () => {
    const callId = newCallId();
    const { data, response } = await client.responses
      .create({ model: 'claude', instructions: INSTRUCTIONS, input: QUESTION, max_output_tokens: 100 }, { headers: { 'x-litellm-call-id': callId } })
      .withResponse();
    const out = countWords(ANTHROPIC_REPLY_TEXT);
    expect(data.object).toBe('response');
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe(ANTHROPIC_REPLY_TEXT);
    expect(data.usage).toMatchObject({ input_tokens: IN, input_tokens_details: { cached_tokens: 0 }, output_tokens: out, total_tokens: IN + out });
    expect((data.usage as unknown as { cost: number }).cost).toBeCloseTo(nano(IN, out) / 1e9, 12);
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeCloseTo(nano(IN, out) / 1e9, 12);
    const sent = anthropic.requests.at(-1)!.json as JsonObject;
    expect(sent).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }] });
    expect(JSON.stringify(sent.system)).toContain(INSTRUCTIONS);
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-responses', outcome: 'success', passthrough: false, costNanoUsd: nano(IN, out) });
    expect(record.usage).toMatchObject({ inputUncached: IN, output: out });
  });

  it('streaming: the full event sequence, the same text and usage as the non-stream answer', async () => {
    const callId = newCallId();
    const res = await postJson(gw.url, '/v1/responses', { model: 'claude', instructions: INSTRUCTIONS, input: QUESTION, stream: true }, { 'x-litellm-call-id': callId });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = sseJson(await res.text());
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    const text = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta as string).join('');
    expect(text).toBe(ANTHROPIC_REPLY_TEXT);
    const out = countWords(ANTHROPIC_REPLY_TEXT);
    const completed = events.at(-1)!.response as JsonObject;
    expect(completed.usage).toMatchObject({ input_tokens: IN, output_tokens: out, cost: nano(IN, out) / 1e9 });
    expect(await recordFor(gw.gateway, callId)).toMatchObject({ surface: 'openai-responses', outcome: 'success', costNanoUsd: nano(IN, out), stream: true });
  });

  it('a function-tool round trip: function_call out, function_call_output back as a tool_result', async () => {
    anthropic.script([{ kind: 'tool', name: 'exec_command', input: { cmd: 'echo hi' } }]);
    const tools = [{ type: 'function' as const, name: 'exec_command', description: 'Run a shell command', parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] }, strict: false }];
    const first = await client.responses.create({ model: 'claude', input: 'run it', tools: [...tools, { type: 'web_search' }] });
    const call = first.output.find((i) => i.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'exec_command', status: 'completed' });
    expect(JSON.parse(call?.type === 'function_call' ? call.arguments : '')).toEqual({ cmd: 'echo hi' });
    const sentTools = (anthropic.requests.at(-1)!.json as JsonObject).tools as JsonObject[];
    // The hosted web_search tool has no Anthropic form: left out, the function tool translated.
    expect(sentTools).toEqual([{ name: 'exec_command', description: 'Run a shell command', input_schema: tools[0]!.parameters }]);
    const callId = call?.type === 'function_call' ? call.call_id : '';
    const second = await client.responses.create({
      model: 'claude',
      input: [{ role: 'user', content: 'run it' }, ...first.output, { type: 'function_call_output', call_id: callId, output: 'hi' }],
      tools,
    });
    expect(second.output_text).toBe(ANTHROPIC_REPLY_TEXT);
    const messages = (anthropic.requests.at(-1)!.json as JsonObject).messages as JsonObject[];
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[1]!.content).toEqual([{ type: 'tool_use', id: callId, name: 'exec_command', input: { cmd: 'echo hi' } }]);
    expect(messages[2]!.content).toEqual([{ type: 'tool_result', tool_use_id: callId, content: 'hi' }]);
  });

  it('thinking goes out as a reasoning item and comes back as the same signed thinking block', async () => {
    thinking.script([{ status: 200, body: thinkingCall.sse, headers: { 'content-type': 'text/event-stream' } }]);
    const res = await postJson(gw.url, '/v1/responses', { model: 'claude-thinking', input: 'think', stream: true, reasoning: { effort: 'high', summary: 'auto' }, include: ['reasoning.encrypted_content'], store: false });
    const events = sseJson(await res.text());
    const completed = events.at(-1)!;
    expect(completed.type).toBe('response.completed');
    const output = (completed.response as JsonObject).output as JsonObject[];
    const reasoning = output.find((i) => i.type === 'reasoning')!;
    const signature = /"signature":"([^"]+)"/.exec(thinkingCall.sse ?? '')?.[1];
    expect(signature).toBeDefined();
    expect(reasoning.encrypted_content).toBe(`tollgate.thinking.v1:${signature}`);
    expect(events.some((e) => e.type === 'response.reasoning_summary_text.delta')).toBe(true);
    await client.responses.create({ model: 'claude-thinking', input: [{ role: 'user', content: 'think' }, ...(output as never[]), { role: 'user', content: 'and again' }] });
    const sent = (thinking.requests.at(-1)!.json as JsonObject).messages as JsonObject[];
    const block = (sent[1]!.content as JsonObject[])[0]!;
    expect(block).toMatchObject({ type: 'thinking', signature });
  });
});

describe('to Claude on Bedrock and on Vertex', () => {
  for (const [model, reply, path] of [
    ['claude-bedrock', BEDROCK_REPLY_TEXT, '/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream'],
    ['claude-vertex', ANTHROPIC_REPLY_TEXT, `/v1/projects/${VERTEX_PROJECT}/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict`],
  ] as const) {
    it(`${model}: a stream with the platform's answer and usage, metered`, async () => {
      const fake = model === 'claude-bedrock' ? bedrock : vertex;
      const callId = newCallId();
      const res = await postJson(gw.url, '/v1/responses', { model, instructions: INSTRUCTIONS, input: QUESTION, stream: true }, { 'x-litellm-call-id': callId });
      const events = sseJson(await res.text());
      expect(events.at(-1)!.type).toBe('response.completed');
      expect(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta as string).join('')).toBe(reply);
      expect(fake.requests.some((r) => r.path === path)).toBe(true);
      const out = countWords(reply);
      expect((events.at(-1)!.response as JsonObject).usage).toMatchObject({ input_tokens: IN, output_tokens: out });
      expect(await recordFor(gw.gateway, callId)).toMatchObject({ surface: 'openai-responses', outcome: 'success', costNanoUsd: nano(IN, out) });
    });
  }
});

describe('to a chat-completions-only server (hosted_vllm)', () => {
  it('non-streaming and streaming agree; the chat body carries the instructions as the system message', async () => {
    const whole = await client.responses.create({ model: 'qwen', instructions: INSTRUCTIONS, input: QUESTION });
    expect(whole.output_text).toBe(OPENAI_REPLY_TEXT);
    expect(vllm.requests.at(-1)!.path).toBe('/v1/chat/completions');
    expect((vllm.requests.at(-1)!.json as JsonObject).messages).toEqual([
      { role: 'system', content: INSTRUCTIONS },
      { role: 'user', content: QUESTION },
    ]);
    const res = await postJson(gw.url, '/v1/responses', { model: 'qwen', instructions: INSTRUCTIONS, input: QUESTION, stream: true });
    const events = sseJson(await res.text());
    const streamed = (events.at(-1)!.response as JsonObject).usage as JsonObject;
    const { cost: _a, ...a } = streamed;
    const { cost: _b, ...b } = whole.usage as unknown as JsonObject;
    expect(a).toEqual(b);
    expect(a).toMatchObject({ input_tokens: IN, output_tokens: countWords(OPENAI_REPLY_TEXT) });
  });

  it("the server's prompt cache shows as cached_tokens and is priced as cache reads", async () => {
    const prefix = words(OPENAI_CACHE_MIN_WORDS + 6, 'ctx');
    const input = [{ role: 'user' as const, content: prefix }, { role: 'assistant' as const, content: 'ok' }, { role: 'user' as const, content: QUESTION }];
    await client.responses.create({ model: 'qwen', input });
    const callId = newCallId();
    const again = await client.responses.create({ model: 'qwen', input }, { headers: { 'x-litellm-call-id': callId } });
    const prefixWords = countWords(prefix) + countWords('ok');
    const total = prefixWords + countWords(QUESTION);
    const out = countWords(OPENAI_REPLY_TEXT);
    expect(again.usage).toMatchObject({ input_tokens: total, input_tokens_details: { cached_tokens: prefixWords } });
    expect((await recordFor(gw.gateway, callId)).costNanoUsd).toBe(nano(total - prefixWords, out, prefixWords));
  });
});

describe('errors in the OpenAI envelope', () => {
  it('previous_response_id on a translated model is a 400 naming it; a bad input names input', async () => {
    const cont = await postJson(gw.url, '/v1/responses', { model: 'claude', input: 'x', previous_response_id: 'resp_abc' });
    expect(cont.status).toBe(400);
    expect(((await cont.json()) as { error: JsonObject }).error).toMatchObject({ param: 'previous_response_id', code: '400' });
    const bad = await postJson(gw.url, '/v1/responses', { model: 'claude', input: 42 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: JsonObject }).error).toMatchObject({ param: 'input', type: 'invalid_request_error' });
    const compact = await postJson(gw.url, '/v1/responses/compact', { model: 'claude', input: 'x' });
    expect(compact.status).toBe(400);
    expect(((await compact.json()) as { error: JsonObject }).error).toMatchObject({ param: 'model' });
    const unknown = await postJson(gw.url, '/v1/responses', { model: 'nope', input: 'x' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: JsonObject }).error.message).toContain('nope');
  });
});
