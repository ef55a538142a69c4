/**
 * Streams and timeouts through the real server. An attempt commits only at the first event of the
 * answer, so "200 then overloaded" (Anthropic, with or without message_start first), an OpenAI
 * in-stream error, Bedrock's in-stream throttlingException and an upstream silent for longer than
 * stream_timeout are all retried on another deployment — the client sees one clean stream. A
 * non-streamed call over `timeout` is retried too. Once the first byte reached the client, a failure
 * ends the stream with the protocol's error event and a failed record, with no retry.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEDROCK_FAKE_CREDENTIALS, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { anthropicClient, eventually, newCallId, openaiClient, recordFor } from './harness.js';
import { generations, routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

let e2e: RouterE2E;
let dir: string;
let overloadedAfterStart: FakeUpstream;
/** Fakes that pause between SSE events: longer than stream_timeout. */
let slowAnthropic: FakeUpstream;
let slowOpenAI: FakeUpstream;
let bedrock: BedrockFakeUpstream;
let openai: OpenAI;
let anthropic: Anthropic;
const messages = [{ role: 'user' as const, content: 'Say hello.' }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-router-'));
  const chunks = join(dir, 'overloaded-after-start.chunks.txt');
  const usage = { input_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
  const lines = [
    { type: 'message_start', message: { id: 'msg_01Replay', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage } },
    { type: 'ping' },
    { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
  ];
  await writeFile(chunks, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  overloadedAfterStart = await startFakeAnthropic({ replay: { chunks } });
  bedrock = await startFakeBedrock();
  slowAnthropic = await startFakeAnthropic({ eventDelayMs: 1000 });
  slowOpenAI = await startFakeOpenAI({ eventDelayMs: 1000 });
  const aws = `aws_bedrock_runtime_endpoint: "${bedrock.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
  e2e = await startRouterE2E({ anthropic: 2, openai: 2 }, (f) => `
model_list:
  - model_name: claude-pool
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.a[0]}", api_key: sk-ant-fake, order: 1, timeout: 0.6, stream_timeout: 0.5 }
    model_info: { id: claude-primary }
  - model_name: claude-pool
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.a[1]}", api_key: sk-ant-fake, order: 2 }
    model_info: { id: claude-secondary }
  - model_name: peek
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${overloadedAfterStart.url}", api_key: sk-ant-fake, order: 1 }
    model_info: { id: peek-overloaded }
  - model_name: peek
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.a[1]}", api_key: sk-ant-fake, order: 2 }
    model_info: { id: peek-good }
  - model_name: gpt-pool
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 1, stream_timeout: 0.5 }
    model_info: { id: gpt-primary }
  - model_name: gpt-pool
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: gpt-secondary }
  - model_name: claude-bedrock
    litellm_params: { model: bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0, ${aws}, order: 1 }
    model_info: { id: bedrock-primary }
  - model_name: claude-bedrock
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.a[1]}", api_key: sk-ant-fake, order: 2 }
    model_info: { id: bedrock-secondary }
  - model_name: slow-start
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${slowAnthropic.url}", api_key: sk-ant-fake, order: 1, stream_timeout: 0.4 }
    model_info: { id: slow-start-primary }
  - model_name: slow-start
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.a[1]}", api_key: sk-ant-fake, order: 2 }
    model_info: { id: slow-start-secondary }
  - model_name: idle
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${slowOpenAI.url}/v1", api_key: sk-openai-fake, order: 1, stream_timeout: 0.4 }
    model_info: { id: idle-primary }
  - model_name: idle
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: idle-secondary }
router_settings:
  # Cooldowns are covered elsewhere; here every request must reach the primary it scripts.
  disable_cooldowns: true
`);
  openai = openaiClient(e2e.url);
  anthropic = anthropicClient(e2e.url);
});
afterAll(async () => {
  await e2e.close();
  await Promise.all([overloadedAfterStart.close(), bedrock.close(), slowAnthropic.close(), slowOpenAI.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Drains an Anthropic SDK stream: the text, and how many message_start events arrived. */
async function drainAnthropic(stream: AsyncIterable<Anthropic.RawMessageStreamEvent>): Promise<{ text: string; starts: number; stop: boolean }> {
  let text = '';
  let starts = 0;
  let stop = false;
  for await (const event of stream) {
    if (event.type === 'message_start') starts++;
    if (event.type === 'message_stop') stop = true;
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  return { text, starts, stop };
}

async function drainOpenAI(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

async function streamClaude(model: string, callId = newCallId()) {
  const { data, response } = await anthropic.messages
    .create({ model, max_tokens: 16, messages, stream: true }, { headers: { 'x-litellm-call-id': callId } })
    .withResponse();
  return { ...(await drainAnthropic(data)), headers: routing(response.headers), record: await recordFor(e2e.gw.gateway, callId) };
}

describe('failures before the first event are retried transparently', () => {
  it('Anthropic "200 then overloaded_error" (no event before the error)', async () => {
    e2e.anthropic[0]!.script([{ kind: 'overloaded-in-stream' }]);
    const r = await streamClaude('claude-pool');
    expect(r).toMatchObject({ text: 'Hello from fake anthropic.', starts: 1, stop: true });
    expect(r.headers).toMatchObject({ modelId: 'claude-secondary', retries: '1', fallbacks: '0' });
    expect(r.record.attempts.map((a) => [a.deploymentId, a.outcome, a.errorCode])).toEqual([['claude-primary', 'failure', 'overloaded'], ['claude-secondary', 'success', undefined]]);
  });

  it('Anthropic message_start and ping, then overloaded_error: the client still sees exactly one message_start', async () => {
    const r = await streamClaude('peek');
    expect(r).toMatchObject({ text: 'Hello from fake anthropic.', starts: 1, stop: true });
    expect(r.headers).toMatchObject({ modelId: 'peek-good', retries: '1' });
    expect(r.record).toMatchObject({ outcome: 'success', retries: 1 });
    expect(r.record.attempts[0]).toMatchObject({ deploymentId: 'peek-overloaded', outcome: 'failure', status: 529 });
  });

  it('OpenAI SDK on the same scenario (translated): a clean stream', async () => {
    const callId = newCallId();
    const stream = await openai.chat.completions.create({ model: 'peek', messages, stream: true }, { headers: { 'x-litellm-call-id': callId } });
    expect(await drainOpenAI(stream)).toBe('Hello from fake anthropic.');
    expect((await recordFor(e2e.gw.gateway, callId)).attempts.map((a) => a.outcome)).toEqual(['failure', 'success']);
  });

  it('OpenAI in-stream error frame after a 200', async () => {
    e2e.openai[0]!.script([{ kind: 'overloaded-in-stream' }]);
    const callId = newCallId();
    const { data, response } = await openai.chat.completions.create({ model: 'gpt-pool', messages, stream: true }, { headers: { 'x-litellm-call-id': callId } }).withResponse();
    expect(await drainOpenAI(data)).toBe('Hello from fake openai.');
    expect(routing(response.headers)).toMatchObject({ modelId: 'gpt-secondary', retries: '1' });
    expect((await recordFor(e2e.gw.gateway, callId)).attempts.map((a) => a.deploymentId)).toEqual(['gpt-primary', 'gpt-secondary']);
  });

  it("Bedrock's in-stream throttlingException", async () => {
    bedrock.script([{ kind: 'exception-in-stream', exceptionType: 'throttlingException', afterEvents: 0 }]);
    const r = await streamClaude('claude-bedrock');
    expect(r).toMatchObject({ text: 'Hello from fake anthropic.', starts: 1, stop: true });
    expect(r.headers).toMatchObject({ modelId: 'bedrock-secondary', retries: '1' });
    expect(r.record.attempts[0]).toMatchObject({ deploymentId: 'bedrock-primary', outcome: 'failure', errorCode: 'rate_limit' });
  });

  it.each(['anthropic', 'openai'] as const)('an upstream silent past stream_timeout (%s SDK): 408 attempt, the secondary answers, the stalled call is aborted', async (sdk) => {
    const fake = sdk === 'anthropic' ? e2e.anthropic[0]! : e2e.openai[0]!;
    fake.script([{ kind: 'stall' }]);
    const stalled = fake.requests.length;
    const callId = newCallId();
    const started = Date.now();
    let text: string;
    if (sdk === 'anthropic') text = (await streamClaude('claude-pool', callId)).text;
    else text = await drainOpenAI(await openai.chat.completions.create({ model: 'gpt-pool', messages, stream: true }, { headers: { 'x-litellm-call-id': callId } }));
    expect(text).toMatch(/^Hello from fake/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record.attempts[0]).toMatchObject({ outcome: 'failure', status: 408, errorCode: 'timeout' });
    expect(record.attempts[1]).toMatchObject({ outcome: 'success' });
    await eventually(() => fake.requests[stalled]?.aborted === true);
  });

  it('message_start, then silence past stream_timeout before the answer: retried, one message_start reaches the client', async () => {
    const r = await streamClaude('slow-start');
    expect(r).toMatchObject({ text: 'Hello from fake anthropic.', starts: 1, stop: true });
    expect(r.headers).toMatchObject({ modelId: 'slow-start-secondary', retries: '1' });
    expect(r.record.attempts[0]).toMatchObject({ deploymentId: 'slow-start-primary', status: 408 });
  });

  it('a non-streamed answer slower than timeout: 408 attempt, the secondary answers', async () => {
    e2e.anthropic[0]!.script([{ kind: 'delay', ms: 2000 }]);
    const callId = newCallId();
    const { data, response } = await openai.chat.completions.create({ model: 'claude-pool', messages }, { headers: { 'x-litellm-call-id': callId } }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from fake anthropic.');
    expect(routing(response.headers)).toMatchObject({ modelId: 'claude-secondary', retries: '1' });
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record.attempts[0]).toMatchObject({ deploymentId: 'claude-primary', status: 408, errorCode: 'timeout', errorMessage: expect.stringMatching(/^Timed out waiting for anthropic/) });
  });
});

describe('failures after the first byte reached the client', () => {
  it('a stream cut mid-answer ends with the error event, a failed record, and no retry', async () => {
    e2e.anthropic[0]!.script([{ kind: 'cut-after', events: 5 }]);
    const secondaryBefore = generations(e2e.anthropic[1]!);
    const callId = newCallId();
    const stream = await anthropic.messages.create({ model: 'claude-pool', max_tokens: 16, messages, stream: true }, { headers: { 'x-litellm-call-id': callId } });
    await expect(drainAnthropic(stream)).rejects.toBeInstanceOf(Anthropic.APIError);
    expect(generations(e2e.anthropic[1]!)).toBe(secondaryBefore);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', retries: 0, deployment: { id: 'claude-primary' } });
    expect(record.httpStatus).toBeGreaterThanOrEqual(500);
    expect(record.attempts).toEqual([expect.objectContaining({ deploymentId: 'claude-primary', outcome: 'success' })]);
  });

  it('a gap between chunks longer than stream_timeout: the error event in the stream, a failed 408 record, no retry', async () => {
    const secondaryBefore = generations(e2e.openai[1]!);
    const callId = newCallId();
    const stream = await openai.chat.completions.create({ model: 'idle', messages, stream: true }, { headers: { 'x-litellm-call-id': callId } });
    let text = '';
    const drained = (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })();
    await expect(drained).rejects.toThrow(/sent nothing for 0.4s in the middle of the answer/);
    expect(text).toBe('');
    expect(generations(e2e.openai[1]!)).toBe(secondaryBefore);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 408, error: { code: 'timeout' }, deployment: { id: 'idle-primary' } });
    expect(record.attempts).toEqual([expect.objectContaining({ deploymentId: 'idle-primary', outcome: 'success' })]);
  });
});
