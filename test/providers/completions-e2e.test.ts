/**
 * Legacy `/v1/completions` end to end through the real server with the official openai SDK:
 * a `text-completion-openai/…` deployment (bytes passed through to the fake's `/v1/completions`,
 * usage tapped and metered), a chat deployment (prompt translated to a user message, the answer
 * rendered as `text_completion`), the engine-style route, bad prompts, and the Anthropic surface
 * to a text-completion deployment. Expected tokens are counted here (the fakes count one per word);
 * costs come from per-token prices set in the config.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { anthropicClient, MASTER_KEY, newCallId, openaiClient, postJson, recordFor, sseJson } from '../e2e/harness.js';
import { countWords, OPENAI_FAKE_KEY, OPENAI_REPLY_TEXT, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { COMPLETIONS_REPLY_TEXT, startFakeOpenAICompletions } from '../fakes/openai-completions-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const PRICE_IN = 0.000002;
const PRICE_OUT = 0.000004;
const PROMPT = 'Say this is a test, please';
const IN = countWords(PROMPT); // 6
const OUT = countWords(COMPLETIONS_REPLY_TEXT); // 4
const CHAT_OUT = countWords(OPENAI_REPLY_TEXT); // 4
const nano = (input: number, output: number): number => Math.round((input * PRICE_IN + output * PRICE_OUT) * 1e9);

let instruct: FakeUpstream;
let chat: FakeUpstream;
let gw: TestGateway;
let openai: OpenAI;

beforeAll(async () => {
  instruct = await startFakeOpenAICompletions();
  chat = await startFakeOpenAI();
  const prices = `input_cost_per_token: ${PRICE_IN}\n      output_cost_per_token: ${PRICE_OUT}`;
  gw = await startGateway(`
model_list:
  - model_name: gpt-instruct
    litellm_params:
      model: text-completion-openai/gpt-3.5-turbo-instruct
      api_base: "${instruct.url}/v1"
      api_key: ${OPENAI_FAKE_KEY}
      ${prices}
  - model_name: chat-model
    litellm_params:
      model: openai/gpt-4.1-mini
      api_base: "${chat.url}/v1"
      api_key: ${OPENAI_FAKE_KEY}
      ${prices}
general_settings: { master_key: ${MASTER_KEY} }
`);
  openai = openaiClient(gw.url);
});
afterAll(async () => {
  await gw.close();
  await instruct.close();
  await chat.close();
});

function expectRecord(record: CallRecord, input: number, output: number, passthrough: boolean): void {
  expect(record.outcome).toBe('success');
  expect(record.surface).toBe('openai-completions');
  expect(record.passthrough).toBe(passthrough);
  expect(record.usage.inputUncached).toBe(input);
  expect(record.usage.output).toBe(output);
  expect(record.costNanoUsd).toBe(nano(input, output));
}

describe('text-completion-openai/… deployment: passthrough to /v1/completions', () => {
  it('non-streaming: the upstream body comes back, usage and cost are metered', async () => {
    const callId = newCallId();
    const { data, response } = await openai.completions.create({ model: 'gpt-instruct', prompt: PROMPT, max_tokens: 7, temperature: 0 }, { headers: { 'x-litellm-call-id': callId } }).withResponse();
    expect(data.object).toBe('text_completion');
    expect(data.choices[0]?.text).toBe(COMPLETIONS_REPLY_TEXT);
    expect(data.usage).toEqual({ prompt_tokens: IN, completion_tokens: OUT, total_tokens: IN + OUT });
    expect(Number(response.headers.get('x-litellm-response-cost'))).toBeCloseTo(nano(IN, OUT) / 1e9, 12);
    expectRecord(await recordFor(gw.gateway, callId), IN, OUT, true);
    const sent = instruct.requests.at(-1)!;
    expect(sent.path).toBe('/v1/completions');
    expect(sent.json).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: PROMPT, max_tokens: 7, temperature: 0 });
  });

  it('streaming with include_usage: the client gets the usage chunk with the cost added', async () => {
    const callId = newCallId();
    const stream = await openai.completions.create(
      { model: 'gpt-instruct', prompt: PROMPT, stream: true, stream_options: { include_usage: true }, max_tokens: 4 },
      { headers: { 'x-litellm-call-id': callId } },
    );
    let text = '';
    let last: OpenAI.Completion | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      last = chunk;
    }
    expect(text).toBe(COMPLETIONS_REPLY_TEXT);
    expect(last?.usage).toMatchObject({ prompt_tokens: IN, completion_tokens: OUT });
    expect((last?.usage as unknown as { cost: number }).cost).toBeCloseTo(nano(IN, OUT) / 1e9, 12);
    expectRecord(await recordFor(gw.gateway, callId), IN, OUT, true);
  });

  it('streaming with include_usage, raw: LiteLLM chunk shape (no nulls, usage chunk keeps choices[0])', async () => {
    const res = await postJson(gw.url, '/v1/completions', { model: 'gpt-instruct', prompt: PROMPT, stream: true, stream_options: { include_usage: true } });
    const body = await res.text();
    expect(body).not.toContain(':null');
    const chunks = sseJson(body);
    for (const c of chunks) expect((c.choices as unknown[])[0]).toBeDefined();
    expect(chunks.at(-1)).toMatchObject({ choices: [{ text: '', index: 0 }], usage: { prompt_tokens: IN, completion_tokens: OUT, cost: nano(IN, OUT) / 1e9 } });
    expect(chunks.slice(0, -1).every((c) => !('usage' in c))).toBe(true);
  });

  it('streaming without include_usage: metered anyway, and the client sees no usage chunk', async () => {
    const callId = newCallId();
    const res = await postJson(gw.url, '/v1/completions', { model: 'gpt-instruct', prompt: PROMPT, stream: true }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    const body = await res.text();
    // LiteLLM's shape on passthrough too: the fake's "usage":null and "logprobs":null are edited out.
    expect(body).not.toContain(':null');
    const chunks = sseJson(body);
    expect(chunks.every((c) => Array.isArray(c.choices) && c.choices.length > 0)).toBe(true);
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(instruct.requests.at(-1)?.json).toMatchObject({ stream_options: { include_usage: true } });
    expectRecord(await recordFor(gw.gateway, callId), IN, OUT, true);
  });

  it('token-id prompts pass through untouched', async () => {
    const callId = newCallId();
    const res = await postJson(gw.url, '/completions', { model: 'gpt-instruct', prompt: [15496, 11, 995] }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    expectRecord(await recordFor(gw.gateway, callId), 3, OUT, true);
  });

  it('the Anthropic surface is translated: the conversation becomes one prompt', async () => {
    const anthropic = anthropicClient(gw.url);
    const message = await anthropic.messages.create({ model: 'gpt-instruct', max_tokens: 10, system: 'Be brief.', messages: [{ role: 'user', content: PROMPT }] });
    expect(message.content).toEqual([{ type: 'text', text: COMPLETIONS_REPLY_TEXT }]);
    expect(message.usage).toMatchObject({ input_tokens: IN + 2, output_tokens: OUT });
    expect(instruct.requests.at(-1)?.json).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: `Be brief.\n\n${PROMPT}`, max_tokens: 10 });
  });
});

describe('a chat deployment behind /v1/completions: translated as LiteLLM does', () => {
  it('non-streaming: one user message upstream, a text_completion back', async () => {
    const callId = newCallId();
    const data = await openai.completions.create({ model: 'chat-model', prompt: PROMPT, max_tokens: 7 }, { headers: { 'x-litellm-call-id': callId } });
    expect(data).toMatchObject({ object: 'text_completion', model: 'gpt-4.1-mini', choices: [{ text: OPENAI_REPLY_TEXT, index: 0, finish_reason: 'stop' }] });
    expect(data.usage).toMatchObject({ prompt_tokens: IN, completion_tokens: CHAT_OUT, total_tokens: IN + CHAT_OUT });
    expectRecord(await recordFor(gw.gateway, callId), IN, CHAT_OUT, false);
    const sent = chat.requests.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.json).toMatchObject({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: PROMPT }], max_completion_tokens: 7 });
  });

  it('a list of prompts is one user message each', async () => {
    await openai.completions.create({ model: 'chat-model', prompt: ['first one', 'second one'] });
    expect(chat.requests.at(-1)?.json).toMatchObject({ messages: [{ role: 'user', content: 'first one' }, { role: 'user', content: 'second one' }] });
  });

  it('streaming with include_usage: text chunks, usage on the last chunk, never "usage": null', async () => {
    const callId = newCallId();
    const res = await postJson(gw.url, '/v1/completions', { model: 'chat-model', prompt: PROMPT, stream: true, stream_options: { include_usage: true } }, { 'x-litellm-call-id': callId });
    const body = await res.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(body).not.toContain('"usage":null');
    const chunks = sseJson(body);
    for (const c of chunks) {
      expect(c.object).toBe('text_completion');
      // Clients read choices[0] of every chunk.
      expect((c.choices as unknown[])[0]).toBeDefined();
    }
    expect(chunks.map((c) => (c.choices as { text: string }[])[0]?.text).join('')).toBe(OPENAI_REPLY_TEXT);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([{ text: '', index: 0, finish_reason: 'stop' }]);
    expect(body).not.toContain(':null');
    expect(last.usage).toMatchObject({ prompt_tokens: IN, completion_tokens: CHAT_OUT, cost: nano(IN, CHAT_OUT) / 1e9 });
    expect(chunks.slice(0, -1).every((c) => !('usage' in c))).toBe(true);
    expectRecord(await recordFor(gw.gateway, callId), IN, CHAT_OUT, false);
  });

  it('the SDK reads the translated stream', async () => {
    const stream = await openai.completions.create({ model: 'chat-model', prompt: 'hey', stream: true, stream_options: { include_usage: true }, max_tokens: 4 });
    let last: OpenAI.Completion | undefined;
    for await (const chunk of stream) last = chunk;
    expect(last?.usage?.prompt_tokens).toBe(1);
  });

  it('/engines/{model}/completions takes the model from the path', async () => {
    const res = await postJson(gw.url, '/engines/chat-model/completions', { model: 'ignored', prompt: PROMPT });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('text_completion');
  });

  it('a missing or malformed prompt is a 400 naming the field', async () => {
    const missing = await postJson(gw.url, '/v1/completions', { model: 'chat-model' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { param: string } }).error.param).toBe('prompt');
    const tokens = await postJson(gw.url, '/v1/completions', { model: 'chat-model', prompt: [1, 2, 3] });
    expect(tokens.status).toBe(400);
    expect(((await tokens.json()) as { error: { message: string } }).error.message).toMatch(/^prompt: token-id prompts/);
    const mixed = await postJson(gw.url, '/v1/completions', { model: 'chat-model', prompt: ['ok', 3] });
    expect(((await mixed.json()) as { error: { param: string } }).error.param).toBe('prompt[1]');
  });
});
