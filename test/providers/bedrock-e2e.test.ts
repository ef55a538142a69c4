/**
 * End to end through the real server: the official Anthropic and OpenAI SDKs against Bedrock
 * deployments served by the SigV4-checking fake. The seed scenario of our users: two identical
 * calls with an 1800-word system prompt marked `cache_control: ephemeral`; the second reports as
 * read what the first wrote, on `/v1/messages` and as `cached_tokens` on `/v1/chat/completions`,
 * streaming and not, and the call records carry the same numbers. Claude goes through InvokeModel
 * (passthrough from the Anthropic surface), Nova through Converse.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { anthropicClient, MASTER_KEY, newCallId, openaiClient, parseSse, postJson, recordFor, words } from '../e2e/harness.js';
import { BEDROCK_FAKE_CREDENTIALS, BEDROCK_REPLY_TEXT, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import { countWords } from '../fakes/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const PREFIX = 1800;
const QUESTION = 'Summarize the rules above in one short sentence please.';
const UNCACHED = countWords(QUESTION);
const OUTPUT = countWords(BEDROCK_REPLY_TEXT);
const CLAUDE_MODEL = 'bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0';

let fake: BedrockFakeUpstream;
let gw: TestGateway;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  fake = await startFakeBedrock();
  const aws = `aws_bedrock_runtime_endpoint: "${fake.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
  gw = await startGateway(`
model_list:
  - model_name: claude-bedrock
    litellm_params: { model: ${CLAUDE_MODEL}, ${aws} }
  - model_name: nova-bedrock
    litellm_params: { model: bedrock/converse/us.amazon.nova-micro-v1:0, ${aws} }
general_settings: { master_key: ${MASTER_KEY} }
`);
  anthropic = anthropicClient(gw.url);
  openai = openaiClient(gw.url);
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});

interface Expected { read: number; write: number }
const WRITE: Expected = { read: 0, write: PREFIX };
const READ: Expected = { read: PREFIX, write: 0 };

function system(seed: string): string {
  const text = words(PREFIX, seed);
  expect(countWords(text)).toBe(PREFIX);
  return text;
}

function expectRecord(record: CallRecord, e: Expected): void {
  expect(record.outcome).toBe('success');
  expect(record.usage).toMatchObject({ inputUncached: UNCACHED, cacheRead: e.read, cacheWrite5m: e.write, output: OUTPUT });
}

function expectAnthropicUsage(usage: Anthropic.Usage, e: Expected): void {
  expect(usage).toMatchObject({ input_tokens: UNCACHED, cache_read_input_tokens: e.read, cache_creation_input_tokens: e.write, output_tokens: OUTPUT });
  expect(usage.cache_creation?.ephemeral_5m_input_tokens).toBe(e.write);
}

function expectOpenAIUsage(usage: OpenAI.CompletionUsage | null | undefined, e: Expected): void {
  expect(usage?.prompt_tokens).toBe(UNCACHED + PREFIX);
  expect(usage?.prompt_tokens_details?.cached_tokens).toBe(e.read);
  expect(usage?.completion_tokens).toBe(OUTPUT);
  expect(usage?.total_tokens).toBe(UNCACHED + PREFIX + OUTPUT);
}

const anthropicParams = (model: string, seed: string): Anthropic.MessageCreateParamsNonStreaming => ({
  model, max_tokens: 64,
  system: [{ type: 'text', text: system(seed), cache_control: { type: 'ephemeral' } }],
  messages: [{ role: 'user', content: QUESTION }],
});
const openaiParams = (model: string, seed: string): OpenAI.ChatCompletionCreateParamsNonStreaming => ({
  model,
  messages: [
    { role: 'system', content: [{ type: 'text', text: system(seed), cache_control: { type: 'ephemeral' } } as OpenAI.ChatCompletionContentPartText] },
    { role: 'user', content: QUESTION },
  ],
});

for (const [alias, api] of [['claude-bedrock', 'InvokeModel'], ['nova-bedrock', 'Converse']] as const) {
  describe(`${alias} (${api})`, () => {
    it('Anthropic SDK, non-streaming: write 1800 then read 1800', async () => {
      const body = anthropicParams(alias, `${alias}-a-json`);
      for (const expected of [WRITE, READ]) {
        const callId = newCallId();
        const message = await anthropic.messages.create(body, { headers: { 'x-litellm-call-id': callId, 'anthropic-beta': 'context-1m-2025-08-07' } });
        expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: BEDROCK_REPLY_TEXT })]);
        expectAnthropicUsage(message.usage, expected);
        expectRecord(await recordFor(gw.gateway, callId), expected);
      }
      const sent = fake.requests.at(-1)!;
      if (api === 'InvokeModel') {
        expect(sent.path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke');
        expect(sent.json).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', anthropic_beta: ['context-1m-2025-08-07'] });
      } else {
        expect(sent.path).toBe('/model/us.amazon.nova-micro-v1%3A0/converse');
        expect((sent.json as { system: unknown[] }).system.at(-1)).toEqual({ cachePoint: { type: 'default' } });
      }
    });

    it('Anthropic SDK, streaming: message_start + message_delta carry the write-then-read numbers', async () => {
      const body = anthropicParams(alias, `${alias}-a-sse`);
      for (const expected of [WRITE, READ]) {
        const callId = newCallId();
        const stream = await anthropic.messages.create({ ...body, stream: true }, { headers: { 'x-litellm-call-id': callId } });
        let text = '';
        let usage: Record<string, unknown> = {};
        for await (const event of stream) {
          // InvokeModel reports the input side in message_start; Converse only at the end, in message_delta.
          if (event.type === 'message_start') usage = { ...event.message.usage };
          if (event.type === 'message_delta') usage = { ...usage, ...Object.fromEntries(Object.entries(event.usage).filter(([, v]) => v !== null)) };
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
        }
        expect(text).toBe(BEDROCK_REPLY_TEXT);
        expectAnthropicUsage(usage as unknown as Anthropic.Usage, expected);
        expectRecord(await recordFor(gw.gateway, callId), expected);
      }
      expect(fake.requests.at(-1)?.path).toMatch(api === 'InvokeModel' ? /\/invoke-with-response-stream$/ : /\/converse-stream$/);
    });

    it('Anthropic SDK stream helper: finalMessage() totals', async () => {
      const body = anthropicParams(alias, `${alias}-a-helper`);
      for (const expected of [WRITE, READ]) {
        const message = await anthropic.messages.stream(body).finalMessage();
        expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: BEDROCK_REPLY_TEXT })]);
        // The SDK folds message_delta's totals but not its cache_creation breakdown, so only the totals are compared.
        expect(message.usage).toMatchObject({ input_tokens: UNCACHED, cache_read_input_tokens: expected.read, cache_creation_input_tokens: expected.write, output_tokens: OUTPUT });
      }
    });

    it('OpenAI SDK, non-streaming: prompt_tokens counts everything, cached_tokens 0 then 1800', async () => {
      const body = openaiParams(alias, `${alias}-o-json`);
      for (const expected of [WRITE, READ]) {
        const callId = newCallId();
        const completion = await openai.chat.completions.create(body, { headers: { 'x-litellm-call-id': callId } });
        expect(completion.choices[0]?.message.content).toBe(BEDROCK_REPLY_TEXT);
        expectOpenAIUsage(completion.usage, expected);
        expectRecord(await recordFor(gw.gateway, callId), expected);
      }
    });

    it('OpenAI SDK, streaming with include_usage: one usage chunk with the same numbers', async () => {
      const body = openaiParams(alias, `${alias}-o-sse`);
      for (const expected of [WRITE, READ]) {
        const callId = newCallId();
        const stream = await openai.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, { headers: { 'x-litellm-call-id': callId } });
        let text = '';
        const usages: OpenAI.CompletionUsage[] = [];
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? '';
          if (chunk.usage) usages.push(chunk.usage);
        }
        expect(text).toBe(BEDROCK_REPLY_TEXT);
        expect(usages).toHaveLength(1);
        expectOpenAIUsage(usages[0], expected);
        expectRecord(await recordFor(gw.gateway, callId), expected);
      }
    });
  });
}

describe('errors through the server', () => {
  it('a Bedrock ValidationException reaches the Anthropic client as a 400 with the AWS message', async () => {
    fake.script([{ status: 400, body: { message: 'The provided model identifier is invalid.' } }]);
    const err = await anthropic.messages.create(anthropicParams('claude-bedrock', 'err')).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ status: 400 });
    expect(String((err as Error).message)).toContain('The provided model identifier is invalid.');
  });

  it('"200 then throttlingException" in the first frame: a 429 error response, not a 200 stream', async () => {
    fake.script([{ kind: 'exception-in-stream', exceptionType: 'throttlingException', message: 'Too many tokens, please wait' }]);
    const res = await postJson(gw.url, '/v1/messages', { ...anthropicParams('claude-bedrock', 'throttle-first'), stream: true });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ type: 'error', error: { message: 'Too many tokens, please wait' } });
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 429, error: { code: 'rate_limit' } });
  });

  it('a throttle after message_start but before any content is still a failed attempt (429), not a 200', async () => {
    fake.script([{ kind: 'exception-in-stream', exceptionType: 'throttlingException', message: 'slow down', afterEvents: 1, delayMs: 30 }]);
    const res = await postJson(gw.url, '/v1/messages', { ...anthropicParams('claude-bedrock', 'throttle-preamble'), stream: true });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ type: 'error', error: { message: 'slow down' } });
  });

  it('an exception mid-stream reaches the client as its protocol\'s error event; the record is a failure', async () => {
    fake.script([{ kind: 'exception-in-stream', exceptionType: 'modelStreamErrorException', message: 'model stream broke', afterEvents: 3, delayMs: 30 }]);
    const res = await postJson(gw.url, '/v1/messages', { ...anthropicParams('claude-bedrock', 'throttle-mid'), stream: true });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toEqual({ type: 'error', error: { type: 'api_error', message: 'model stream broke' } });
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 500 });
  });
});
