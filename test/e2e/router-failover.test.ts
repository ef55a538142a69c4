/**
 * Load balancing and retries through the real server with the official SDKs: a failed deployment
 * is replaced by another of its group at once, the only deployment is retried after the upstream's
 * retry-after, 429s cool deployments down (and the metric says so), a group with nothing left
 * answers 429 "No deployments available" with retry-after, and client-caused 400s are not retried.
 * Every request has exactly one call record listing its attempts.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicClient, newCallId, openaiClient, recordFor } from './harness.js';
import { generations, routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

let e2e: RouterE2E;
let openai: OpenAI;
let anthropic: Anthropic;
const messages = [{ role: 'user' as const, content: 'Say hello.' }];

beforeAll(async () => {
  e2e = await startRouterE2E({ anthropic: 1, openai: 2 }, (f) => `
model_list:
  # failover: primary (order 1) then secondary (order 2), each a different upstream server
  - model_name: pool
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 1 }
    model_info: { id: pool-primary }
  - model_name: pool
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: pool-secondary }
  # cooldown scenarios, on their own deployment ids
  - model_name: cool
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 1 }
    model_info: { id: cool-primary }
  - model_name: cool
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: cool-secondary }
  # one deployment with a bad key, one good
  - model_name: keys
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-wrong, order: 1 }
    model_info: { id: keys-bad }
  - model_name: keys
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: keys-good }
  # the only deployment of its group, retried with backoff
  - model_name: solo
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.a[0]}", api_key: sk-ant-fake, num_retries: 2 }
    model_info: { id: solo-1 }
router_settings:
  retry_after: 0
  cooldown_time: 30
`);
  openai = openaiClient(e2e.url);
  anthropic = anthropicClient(e2e.url);
});
afterAll(() => e2e.close());

const [first, second] = [0, 1];

/**
 * What a client parsing LiteLLM's headers reads on a complete (non-streamed) answer: the cost of
 * gpt-4o-mini at its published $0.15 / $0.60 per million tokens for the fake's 2 prompt words
 * ("Say hello.") and 4 reply words ("Hello from fake openai."), and a duration that covers the call.
 */
function expectCostAndDuration(headers: Headers, record: { durationMs: number; costNanoUsd: number | null }): void {
  const cost = (2 * 0.15 + 4 * 0.6) / 1e6;
  expect(Number(headers.get('x-litellm-response-cost'))).toBeCloseTo(cost, 12);
  expect(record.costNanoUsd).toBe(Math.round(cost * 1e9));
  const duration = Number(headers.get('x-litellm-response-duration-ms'));
  expect(duration).toBeGreaterThan(0);
  expect(duration).toBeLessThanOrEqual(record.durationMs);
}


describe('failover within a group', () => {
  it.each([false, true])('a 500 from the primary: the secondary answers at once (OpenAI SDK, stream=%s)', async (stream) => {
    e2e.openai[first]!.script([{ status: 500 }]);
    const before = generations(e2e.openai[second]!);
    const callId = newCallId();
    const { data, response } = await openai.chat.completions
      .create({ model: 'pool', messages, stream }, { headers: { 'x-litellm-call-id': callId } })
      .withResponse();
    let text = '';
    if (stream) for await (const chunk of data as AsyncIterable<OpenAI.ChatCompletionChunk>) text += chunk.choices[0]?.delta.content ?? '';
    else text = (data as OpenAI.ChatCompletion).choices[0]?.message.content ?? '';
    expect(text).toBe('Hello from fake openai.');
    expect(routing(response.headers)).toEqual({
      modelId: 'pool-secondary', apiBase: `${e2e.openai[second]!.url}/v1`, group: 'pool', retries: '1', fallbacks: '0', maxRetries: '1',
    });
    expect(generations(e2e.openai[second]!)).toBe(before + 1);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, retries: 1, fallbacks: 0, modelGroup: 'pool', deployment: { id: 'pool-secondary' } });
    expect(record.attempts.map((a) => [a.deploymentId, a.outcome, a.status])).toEqual([['pool-primary', 'failure', 500], ['pool-secondary', 'success', undefined]]);
    if (!stream) expectCostAndDuration(response.headers, record);
  });

  it('a connection reset is retried the same way', async () => {
    e2e.openai[first]!.script([{ kind: 'reset' }]);
    const { response } = await openai.chat.completions.create({ model: 'pool', messages }).withResponse();
    expect(routing(response.headers)).toMatchObject({ modelId: 'pool-secondary', retries: '1' });
    const record = await recordFor(e2e.gw.gateway, response.headers.get('x-litellm-call-id'));
    expect(record.attempts.map((a) => [a.deploymentId, a.errorCode])).toEqual([['pool-primary', 'upstream_connection'], ['pool-secondary', undefined]]);
  });

  it('a 400 the client caused is not retried elsewhere', async () => {
    e2e.openai[first]!.script([{ status: 400 }]);
    const before = generations(e2e.openai[second]!);
    const err: unknown = await openai.chat.completions.create({ model: 'pool', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(generations(e2e.openai[second]!)).toBe(before);
    const record = await recordFor(e2e.gw.gateway, (err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 400, retries: 0 });
    expect(record.attempts).toHaveLength(1);
  });

  it('a bad key on one deployment: the other answers, and the bad one is not retried', async () => {
    const { data, response } = await openai.chat.completions.create({ model: 'keys', messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from fake openai.');
    expect(routing(response.headers)).toMatchObject({ modelId: 'keys-good', retries: '1' });
    const record = await recordFor(e2e.gw.gateway, response.headers.get('x-litellm-call-id'));
    expect(record.attempts.map((a) => [a.deploymentId, a.status])).toEqual([['keys-bad', 401], ['keys-good', undefined]]);
  });
});

describe('retries of the only deployment', () => {
  it.each([false, true])("529 twice, then an answer: retried after the upstream's retry-after (Anthropic SDK, stream=%s)", async (stream) => {
    e2e.anthropic[0]!.script([{ status: 529, retryAfter: 0.02 }, { status: 529, retryAfter: 0.02 }]);
    const callId = newCallId();
    const started = Date.now();
    const { data, response } = await anthropic.messages
      .create({ model: 'solo', max_tokens: 16, messages, stream }, { headers: { 'x-litellm-call-id': callId } })
      .withResponse();
    let text = '';
    if (stream) {
      for await (const event of data as AsyncIterable<Anthropic.RawMessageStreamEvent>) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    } else text = (data as Anthropic.Message).content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(text).toBe('Hello from fake anthropic.');
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(routing(response.headers)).toMatchObject({ modelId: 'solo-1', retries: '2', fallbacks: '0', maxRetries: '2' });
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record.attempts.map((a) => [a.outcome, a.status])).toEqual([['failure', 529], ['failure', 529], ['success', undefined]]);
    expect(record).toMatchObject({ retries: 2, outcome: 'success' });
  });

  it('retries run out: the client sees the last error, never a cooldown of the only deployment', async () => {
    e2e.anthropic[0]!.script([{ status: 529, retryAfter: 0.01 }, { status: 529, retryAfter: 0.01 }, { status: 429, retryAfter: 0.01 }]);
    const err: unknown = await anthropic.messages.create({ model: 'solo', max_tokens: 16, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const record = await recordFor(e2e.gw.gateway, (err as InstanceType<typeof Anthropic.APIError>).headers?.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 429, retries: 2 });
    // The next request reaches the upstream again (a cooled-down only deployment would turn it into a 429).
    const ok = await anthropic.messages.create({ model: 'solo', max_tokens: 16, messages });
    expect(ok.content[0]).toMatchObject({ type: 'text' });
  });
});

describe('cooldowns and "No deployments available"', () => {
  it('a 429 cools the deployment down for its retry-after; later requests skip it', async () => {
    e2e.openai[first]!.script([{ status: 429, retryAfter: 30 }]);
    const one = await openai.chat.completions.create({ model: 'cool', messages }).withResponse();
    expect(routing(one.response.headers)).toMatchObject({ modelId: 'cool-secondary', retries: '1' });
    const primaryBefore = generations(e2e.openai[first]!);
    const two = await openai.chat.completions.create({ model: 'cool', messages }).withResponse();
    expect(routing(two.response.headers)).toMatchObject({ modelId: 'cool-secondary', retries: '0' });
    expect(generations(e2e.openai[first]!)).toBe(primaryBefore);
    const metrics = await e2e.gw.gateway.metrics.render();
    expect(metrics).toMatch(/litellm_deployment_cooled_down_total\{[^}]*model_id="cool-primary"[^}]*exception_status="429"[^}]*\} 1/);
  });

  it('both deployments cooling down: 429 "No deployments available for cool" with retry-after, one record, no attempt', async () => {
    e2e.openai[second]!.script([{ status: 429, retryAfter: 20 }]);
    const failed: unknown = await openai.chat.completions.create({ model: 'cool', messages }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.RateLimitError);
    const callId = newCallId();
    const err: unknown = await openai.chat.completions.create({ model: 'cool', messages }, { headers: { 'x-litellm-call-id': callId } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.message).toMatch(/No deployments available for cool \(2 cooling down\)/);
    expect(Number(apiError.headers?.get('retry-after'))).toBeGreaterThanOrEqual(19);
    expect(Number(apiError.headers?.get('retry-after'))).toBeLessThanOrEqual(20);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 429, modelGroup: 'cool', attempts: [], error: { code: 'rate_limit' } });
  });
});
