/**
 * `cohere/…` chat end to end through the real server: the openai SDK and the Anthropic SDK against
 * a fake Cohere v2 `/v2/chat`, streamed and not, a tool round trip, and the metering LiteLLM does:
 * usage from Cohere's `usage.tokens` (which include Cohere's own preamble), not `billed_units`.
 * Expected tokens are counted here from the words sent; costs from per-token prices in the config.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { anthropicClient, MASTER_KEY, newCallId, openaiClient, postJson, recordFor } from '../e2e/harness.js';
import { COHERE_FAKE_KEY, COHERE_PREAMBLE_TOKENS, COHERE_REPLY_TEXT, startFakeCohere } from '../fakes/cohere-upstream.js';
import { countWords, type FakeUpstream } from '../fakes/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const PRICE_IN = 0.00000015;
const PRICE_OUT = 0.0000006;
const SYSTEM = 'You answer in one line.';
const QUESTION = 'What is the capital of France?';
const BILLED_IN = countWords(`${SYSTEM}\n${QUESTION}`); // 11
const IN = BILLED_IN + COHERE_PREAMBLE_TOKENS;
const OUT = countWords(COHERE_REPLY_TEXT); // 4
const nano = (input: number, output: number): number => Math.round((input * PRICE_IN + output * PRICE_OUT) * 1e9);

let cohere: FakeUpstream;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  cohere = await startFakeCohere();
  gw = await startGateway(`
model_list:
  - model_name: command-r
    litellm_params:
      model: cohere/command-r-08-2024
      api_base: "${cohere.url}"
      api_key: os.environ/COHERE_API_KEY
      input_cost_per_token: ${PRICE_IN}
      output_cost_per_token: ${PRICE_OUT}
router_settings: { num_retries: 0 }
general_settings: { master_key: ${MASTER_KEY} }
`, { COHERE_API_KEY: COHERE_FAKE_KEY });
  openai = openaiClient(gw.url);
  anthropic = anthropicClient(gw.url);
});
afterAll(async () => {
  await gw.close();
  await cohere.close();
});

function expectRecord(record: CallRecord, input = IN, output = OUT): void {
  expect(record.outcome).toBe('success');
  expect(record.deployment).toMatchObject({ provider: 'cohere', model: 'command-r-08-2024' });
  expect(record.usage.inputUncached).toBe(input);
  expect(record.usage.output).toBe(output);
  expect(record.costNanoUsd).toBe(nano(input, output));
}

function lastSent(): Record<string, unknown> {
  const sent = cohere.requests.at(-1)!;
  expect(sent.path).toBe('/v2/chat');
  expect(sent.headers.authorization).toBe(`bearer ${COHERE_FAKE_KEY}`);
  return sent.json as Record<string, unknown>;
}

describe('cohere/command-r from /v1/chat/completions (openai SDK)', () => {
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'system', content: SYSTEM }, { role: 'user', content: QUESTION }];

  it('non-streaming: Cohere v2 body upstream, usage from usage.tokens', async () => {
    const callId = newCallId();
    const data = await openai.chat.completions.create({ model: 'command-r', messages, max_tokens: 50, top_p: 0.9, stop: ['END'] }, { headers: { 'x-litellm-call-id': callId } });
    expect(data.choices[0]?.message.content).toBe(COHERE_REPLY_TEXT);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({ prompt_tokens: IN, completion_tokens: OUT, total_tokens: IN + OUT });
    expectRecord(await recordFor(gw.gateway, callId));
    expect(lastSent()).toEqual({ model: 'command-r-08-2024', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: QUESTION }], max_tokens: 50, p: 0.9, stop_sequences: ['END'] });
  });

  it('streaming with include_usage: the text and one usage chunk', async () => {
    const callId = newCallId();
    const stream = await openai.chat.completions.create({ model: 'command-r', messages, stream: true, stream_options: { include_usage: true } }, { headers: { 'x-litellm-call-id': callId } });
    let text = '';
    const usages: OpenAI.CompletionUsage[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usages.push(chunk.usage);
    }
    expect(text).toBe(COHERE_REPLY_TEXT);
    expect(usages).toHaveLength(1);
    expect(usages[0]).toMatchObject({ prompt_tokens: IN, completion_tokens: OUT });
    expectRecord(await recordFor(gw.gateway, callId));
    expect(lastSent()).toMatchObject({ stream: true });
  });

  it('a tool round trip: tool_calls out, the tool result goes back as role "tool"', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    for (const stream of [false, true]) {
      cohere.script([{ kind: 'tool', name: 'lookup', input: { city: 'Paris' } }]);
      const callId = newCallId();
      let call: { id: string; name: string; args: string };
      let finish: string | null | undefined;
      if (stream) {
        const s = await openai.chat.completions.create({ model: 'command-r', messages, tools, tool_choice: 'required', stream: true }, { headers: { 'x-litellm-call-id': callId } });
        call = { id: '', name: '', args: '' };
        for await (const chunk of s) {
          const delta = chunk.choices[0]?.delta.tool_calls?.[0];
          if (delta?.id) call.id = delta.id;
          if (delta?.function?.name) call.name = delta.function.name;
          call.args += delta?.function?.arguments ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
      } else {
        const data = await openai.chat.completions.create({ model: 'command-r', messages, tools, tool_choice: 'required' }, { headers: { 'x-litellm-call-id': callId } });
        const tc = data.choices[0]?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
        call = { id: tc.id, name: tc.function.name, args: tc.function.arguments };
        finish = data.choices[0]?.finish_reason;
      }
      expect(call).toEqual({ id: 'lookup_fake0001', name: 'lookup', args: '{"city":"Paris"}' });
      expect(finish).toBe('tool_calls');
      expectRecord(await recordFor(gw.gateway, callId), IN, countWords('lookup {"city":"Paris"}'));
      expect(lastSent()).toMatchObject({ tool_choice: 'REQUIRED', tools: [{ type: 'function', function: { name: 'lookup' } }] });
    }
    await openai.chat.completions.create({
      model: 'command-r',
      messages: [
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: null, tool_calls: [{ id: 'lookup_fake0001', type: 'function', function: { name: 'lookup', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'lookup_fake0001', content: 'Paris' },
      ],
      tools,
    });
    expect(lastSent().messages).toEqual([
      { role: 'user', content: QUESTION },
      { role: 'assistant', tool_calls: [{ id: 'lookup_fake0001', type: 'function', function: { name: 'lookup', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'lookup_fake0001', content: 'Paris' },
    ]);
  });

  it('a Cohere error keeps its status and message', async () => {
    cohere.script([{ status: 429 }]);
    const res = await postJson(gw.url, '/v1/chat/completions', { model: 'command-r', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('Trial key');
  });

  it('a stream that Cohere ends with finish_reason ERROR is an error, not an answer', async () => {
    cohere.script([{ kind: 'overloaded-in-stream' }]);
    const res = await postJson(gw.url, '/v1/chat/completions', { model: 'command-r', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Cohere ended the answer with ERROR/);
  });
});

describe('cohere/command-r from /v1/messages (Anthropic SDK)', () => {
  it('non-streaming and streaming: the same answer and usage', async () => {
    const params = { model: 'command-r', max_tokens: 64, system: SYSTEM, messages: [{ role: 'user' as const, content: QUESTION }] };
    const callId = newCallId();
    const message = await anthropic.messages.create(params, { headers: { 'x-litellm-call-id': callId } });
    expect(message.content).toMatchObject([{ type: 'text', text: COHERE_REPLY_TEXT }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: IN, output_tokens: OUT });
    expectRecord(await recordFor(gw.gateway, callId));

    const streamId = newCallId();
    const stream = anthropic.messages.stream(params, { headers: { 'x-litellm-call-id': streamId } });
    const final = await stream.finalMessage();
    expect(final.content).toMatchObject([{ type: 'text', text: COHERE_REPLY_TEXT }]);
    expect(final.usage).toMatchObject({ input_tokens: IN, output_tokens: OUT });
    expectRecord(await recordFor(gw.gateway, streamId));
    expect(lastSent()).toMatchObject({ model: 'command-r-08-2024', stream: true, max_tokens: 64, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: QUESTION }] });
  });
});
