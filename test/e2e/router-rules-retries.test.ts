/**
 * Retry and fallback rules through the real server with the OpenAI SDK: `retry_policy` per failure
 * class (a 429 not retried, a 500 retried twice), the `retry_after` minimum between tries of the
 * same deployment, `content_policy_fallbacks`, `default_fallbacks`, `max_fallbacks`, and a 429
 * before the first byte of a stream retried on the other deployment without the client noticing.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCallId, openaiClient, recordFor } from './harness.js';
import { openaiError } from '../fakes/openai-upstream.js';
import { generations, routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

const messages = [{ role: 'user' as const, content: 'Say hello.' }];
const REPLY = 'Hello from fake openai.';

function apiError(err: unknown): InstanceType<typeof OpenAI.APIError> {
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as InstanceType<typeof OpenAI.APIError>;
}

describe('retry_policy and retry_after', () => {
  let e2e: RouterE2E;
  let openai: OpenAI;

  beforeAll(async () => {
    e2e = await startRouterE2E({ anthropic: 0, openai: 1 }, (f) => `
model_list:
  - model_name: solo
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake }
    model_info: { id: solo-1 }
router_settings:
  num_retries: 5
  retry_after: 0.2
  retry_policy: { RateLimitErrorRetries: 0, InternalServerErrorRetries: 2 }
`);
    openai = openaiClient(e2e.url);
  });
  afterAll(() => e2e.close());

  it('RateLimitErrorRetries: 0 — a 429 of the only deployment is not retried (num_retries: 5 notwithstanding)', async () => {
    const fake = e2e.openai[0]!;
    fake.script([{ status: 429, retryAfter: 0 }]);
    const before = generations(fake);
    const callId = newCallId();
    const err: unknown = await openai.chat.completions.create({ model: 'solo', messages }, { headers: { 'x-litellm-call-id': callId } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(generations(fake)).toBe(before + 1);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 429, retries: 0, fallbacks: 0 });
    expect(record.attempts.map((a) => [a.deploymentId, a.status])).toEqual([['solo-1', 429]]);
  });

  it('InternalServerErrorRetries: 2 — two 500s are retried on the same deployment, each after at least retry_after', async () => {
    const fake = e2e.openai[0]!;
    // The upstream asks for 10 ms; retry_after (200 ms) is the minimum.
    fake.script([{ status: 500, retryAfter: 0.01 }, { status: 500, retryAfter: 0.01 }]);
    const before = generations(fake);
    const started = Date.now();
    const { data, response } = await openai.chat.completions.create({ model: 'solo', messages }).withResponse();
    const elapsed = Date.now() - started;
    expect(data.choices[0]?.message.content).toBe(REPLY);
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(generations(fake)).toBe(before + 3);
    expect(routing(response.headers)).toMatchObject({ modelId: 'solo-1', group: 'solo', retries: '2', fallbacks: '0' });
    const record = await recordFor(e2e.gw.gateway, response.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', retries: 2 });
    const attempts = record.attempts;
    expect(attempts.map((a) => [a.outcome, a.status])).toEqual([['failure', 500], ['failure', 500], ['success', undefined]]);
    // Each retry started at least retry_after after the previous attempt ended.
    for (let i = 1; i < attempts.length; i++) {
      const prev = attempts[i - 1]!;
      expect(attempts[i]!.startedAt - (prev.startedAt + prev.durationMs)).toBeGreaterThanOrEqual(190);
    }
  });

  it('a third 500 exhausts InternalServerErrorRetries: the client sees the error after 3 attempts', async () => {
    const fake = e2e.openai[0]!;
    fake.script([{ status: 500, retryAfter: 0.01 }, { status: 500, retryAfter: 0.01 }, { status: 500, retryAfter: 0.01 }]);
    const before = generations(fake);
    const err = apiError(await openai.chat.completions.create({ model: 'solo', messages }).catch((e: unknown) => e));
    expect(err.status).toBeGreaterThanOrEqual(500);
    expect(generations(fake)).toBe(before + 3);
    const record = await recordFor(e2e.gw.gateway, err.headers?.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', retries: 2 });
    expect(record.attempts).toHaveLength(3);
  });
});

describe('content_policy_fallbacks, default_fallbacks, max_fallbacks, streams', () => {
  let e2e: RouterE2E;
  let openai: OpenAI;

  beforeAll(async () => {
    e2e = await startRouterE2E({ anthropic: 0, openai: 3 }, (f) => `
model_list:
  - model_name: primary
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake }
    model_info: { id: primary-1 }
  - model_name: general
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake }
    model_info: { id: general-1 }
  - model_name: safe
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[2]}", api_key: sk-openai-fake }
    model_info: { id: safe-1 }
  - model_name: orphan
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake }
    model_info: { id: orphan-1 }
  - model_name: default-target
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[2]}", api_key: sk-openai-fake }
    model_info: { id: default-1 }
  - model_name: chain
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake }
    model_info: { id: chain-1 }
  - model_name: fb-a
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake }
    model_info: { id: fb-a-1 }
  - model_name: fb-b
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[2]}", api_key: sk-openai-fake }
    model_info: { id: fb-b-1 }
  - model_name: streamy
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 1 }
    model_info: { id: streamy-a }
  - model_name: streamy
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: streamy-b }
router_settings:
  fallbacks: [{ primary: [general] }, { chain: [fb-a, fb-b] }]
  content_policy_fallbacks: [{ primary: [safe] }]
  default_fallbacks: [default-target]
  max_fallbacks: 1
`);
    openai = openaiClient(e2e.url);
  });
  afterAll(() => e2e.close());

  it('an upstream 400 content-policy refusal goes straight to the content-policy fallback group', async () => {
    const [o0, o1, o2] = [e2e.openai[0]!, e2e.openai[1]!, e2e.openai[2]!];
    o0.script([{
      status: 400,
      body: openaiError("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", 'invalid_request_error', 'content_filter', 'prompt'),
    }]);
    const [b0, b1, b2] = [generations(o0), generations(o1), generations(o2)];
    const { data, response } = await openai.chat.completions.create({ model: 'primary', messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe(REPLY);
    expect(routing(response.headers)).toMatchObject({ modelId: 'safe-1', group: 'safe', retries: '0', fallbacks: '1' });
    // primary once, never `general` (the ordinary fallback), safe once.
    expect([generations(o0) - b0, generations(o1) - b1, generations(o2) - b2]).toEqual([1, 0, 1]);
    const record = await recordFor(e2e.gw.gateway, response.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', retries: 0, fallbacks: 1, modelGroup: 'safe', deployment: { id: 'safe-1' } });
    expect(record.attempts.map((a) => [a.deploymentId, a.outcome, a.status])).toEqual([['primary-1', 'failure', 400], ['safe-1', 'success', undefined]]);
  });

  it('a 500 on primary uses its ordinary fallbacks, not the content-policy list', async () => {
    e2e.openai[0]!.script([{ status: 500 }]);
    const { response } = await openai.chat.completions.create({ model: 'primary', messages }).withResponse();
    expect(routing(response.headers)).toMatchObject({ modelId: 'general-1', group: 'general', fallbacks: '1' });
    await recordFor(e2e.gw.gateway, response.headers.get('x-litellm-call-id'));
  });

  it('default_fallbacks: a group without fallbacks of its own falls back to the default group', async () => {
    e2e.openai[0]!.script([{ status: 500 }]);
    const { data, response } = await openai.chat.completions.create({ model: 'orphan', messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe(REPLY);
    expect(routing(response.headers)).toMatchObject({ modelId: 'default-1', group: 'default-target', retries: '0', fallbacks: '1' });
    const record = await recordFor(e2e.gw.gateway, response.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', fallbacks: 1, modelGroup: 'default-target' });
    expect(record.attempts.map((a) => [a.deploymentId, a.status])).toEqual([['orphan-1', 500], ['default-1', undefined]]);
  });

  it('max_fallbacks: 1 — after the first fallback group fails, the second is not tried', async () => {
    const [o0, o1, o2] = [e2e.openai[0]!, e2e.openai[1]!, e2e.openai[2]!];
    o0.script([{ status: 500 }]);
    o1.script([{ status: 503 }]);
    const b2 = generations(o2);
    const callId = newCallId();
    const err = apiError(await openai.chat.completions.create({ model: 'chain', messages }, { headers: { 'x-litellm-call-id': callId } }).catch((e: unknown) => e));
    expect(err.status).toBeGreaterThanOrEqual(500);
    expect(generations(o2)).toBe(b2);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', fallbacks: 1 });
    expect(record.attempts.map((a) => [a.deploymentId, a.status])).toEqual([['chain-1', 500], ['fb-a-1', 503]]);
  });

  it('stream: a 429 before the first byte is retried on the other deployment; the client sees a clean stream', async () => {
    const [o0, o1] = [e2e.openai[0]!, e2e.openai[1]!];
    o0.script([{ status: 429, retryAfter: 5 }]);
    const [b0, b1] = [generations(o0), generations(o1)];
    const callId = newCallId();
    const { data, response } = await openai.chat.completions
      .create({ model: 'streamy', messages, stream: true }, { headers: { 'x-litellm-call-id': callId } })
      .withResponse();
    expect(response.status).toBe(200);
    let text = '';
    let chunks = 0;
    for await (const chunk of data) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(chunks).toBeGreaterThan(1);
    expect(text).toBe(REPLY);
    expect(routing(response.headers)).toMatchObject({ modelId: 'streamy-b', group: 'streamy', retries: '1', fallbacks: '0' });
    expect([generations(o0) - b0, generations(o1) - b1]).toEqual([1, 1]);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, retries: 1, fallbacks: 0, deployment: { id: 'streamy-b' } });
    expect(record.attempts.map((a) => [a.deploymentId, a.outcome, a.status])).toEqual([['streamy-a', 'failure', 429], ['streamy-b', 'success', undefined]]);
  });
});
