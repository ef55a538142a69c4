/**
 * Fallbacks through the real server: a failing group hands the request to its fallback groups (on
 * another provider and protocol too), context-window errors use their own list, a request can turn
 * fallbacks off or bring its own list, and the router options never reach the upstream. The call
 * record's model group is the group that answered.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicClient, newCallId, openaiClient, postJson, recordFor } from './harness.js';
import { generations, routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

let e2e: RouterE2E;
let openai: OpenAI;
let anthropic: Anthropic;
const messages = [{ role: 'user' as const, content: 'Say hello.' }];

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


beforeAll(async () => {
  e2e = await startRouterE2E({ anthropic: 2, openai: 1 }, (f) => `
model_list:
  - model_name: claude-main
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.a[0]}", api_key: sk-ant-fake }
    model_info: { id: claude-main-1 }
  - model_name: gpt-backup
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake }
    model_info: { id: gpt-backup-1 }
  - model_name: claude-big
    litellm_params: { model: anthropic/claude-opus-4-1, api_base: "${f.a[1]}", api_key: sk-ant-fake }
    model_info: { id: claude-big-1 }
  - model_name: lonely
    litellm_params: { model: anthropic/claude-haiku-4-5, api_base: "${f.a[0]}", api_key: sk-ant-fake }
    model_info: { id: lonely-1 }
router_settings:
  fallbacks: [{ claude-main: [gpt-backup] }]
  context_window_fallbacks: [{ claude-main: [claude-big] }]
  model_group_alias: { claude-alias: claude-main }
`);
  openai = openaiClient(e2e.url);
  anthropic = anthropicClient(e2e.url);
});
afterAll(() => e2e.close());

describe('fallbacks', () => {
  it.each([false, true])('529 on claude-main: gpt-backup answers the Anthropic SDK in its own protocol (stream=%s)', async (stream) => {
    e2e.anthropic[0]!.script([{ status: 529 }]);
    const callId = newCallId();
    const { data, response } = await anthropic.messages
      .create({ model: 'claude-main', max_tokens: 16, messages, stream }, { headers: { 'x-litellm-call-id': callId } })
      .withResponse();
    let text = '';
    if (stream) {
      for await (const event of data as AsyncIterable<Anthropic.RawMessageStreamEvent>) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    } else text = (data as Anthropic.Message).content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(text).toBe('Hello from fake openai.');
    expect(routing(response.headers)).toEqual({
      modelId: 'gpt-backup-1', apiBase: `${e2e.openai[0]!.url}/v1`, group: 'gpt-backup', retries: '0', fallbacks: '1', maxRetries: '0',
    });
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', requestedModel: 'claude-main', modelGroup: 'gpt-backup', fallbacks: 1, retries: 0, deployment: { id: 'gpt-backup-1' } });
    expect(record.attempts.map((a) => [a.deploymentId, a.status])).toEqual([['claude-main-1', 529], ['gpt-backup-1', undefined]]);
    if (!stream) expectCostAndDuration(response.headers, record);
    expect(record.usage.output).toBeGreaterThan(0);
  });

  it('OpenAI SDK through an alias: claude-alias → claude-main → falls back to gpt-backup', async () => {
    e2e.anthropic[0]!.script([{ status: 500 }]);
    const { data, response } = await openai.chat.completions.create({ model: 'claude-alias', messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from fake openai.');
    expect(routing(response.headers)).toMatchObject({ modelId: 'gpt-backup-1', group: 'gpt-backup', fallbacks: '1' });
  });

  it('a context-window error goes to context_window_fallbacks, not the generic list', async () => {
    e2e.anthropic[0]!.script([{ status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 250000 tokens > 200000 maximum' } } }]);
    const backupBefore = generations(e2e.openai[0]!);
    const { data, response } = await anthropic.messages.create({ model: 'claude-main', max_tokens: 16, messages }).withResponse();
    expect(data.model).toBe('claude-opus-4-1');
    expect(routing(response.headers)).toMatchObject({ modelId: 'claude-big-1', group: 'claude-big', fallbacks: '1', retries: '0' });
    expect(generations(e2e.openai[0]!)).toBe(backupBefore);
  });

  it('a plain 400 does not fall back', async () => {
    e2e.anthropic[0]!.script([{ status: 400 }]);
    const err: unknown = await anthropic.messages.create({ model: 'claude-main', max_tokens: 16, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const record = await recordFor(e2e.gw.gateway, (err as InstanceType<typeof Anthropic.APIError>).headers?.get('x-litellm-call-id'));
    expect(record).toMatchObject({ fallbacks: 0, httpStatus: 400, modelGroup: 'claude-main' });
  });

  it('disable_fallbacks in the body: the client gets the 529, and the upstream never sees the option', async () => {
    e2e.anthropic[0]!.script([{ status: 529 }]);
    const res = await postJson(e2e.url, '/v1/messages', { model: 'claude-main', max_tokens: 16, messages, disable_fallbacks: true });
    expect(res.status).toBe(529);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(res.headers.get('x-litellm-attempted-fallbacks')).toBe('0');
    const sent = e2e.anthropic[0]!.requests.at(-1)!;
    expect(sent.json).not.toHaveProperty('disable_fallbacks');
    expect(sent.json).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 16 });
  });

  it('a request may bring its own fallbacks (OpenAI SDK, extra body fields)', async () => {
    e2e.anthropic[0]!.script([{ status: 503 }]);
    const params = { model: 'lonely', messages, fallbacks: ['gpt-backup'], num_retries: 0 } as OpenAI.ChatCompletionCreateParamsNonStreaming;
    const { data, response } = await openai.chat.completions.create(params).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from fake openai.');
    expect(routing(response.headers)).toMatchObject({ group: 'gpt-backup', fallbacks: '1', maxRetries: '0' });
    const forwarded = e2e.openai[0]!.requests.at(-1)!.json as Record<string, unknown>;
    expect(forwarded).not.toHaveProperty('fallbacks');
    expect(forwarded).not.toHaveProperty('num_retries');
  });

  it('invalid router options are a 400 naming the field', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'lonely', messages, fallbacks: 'gpt-backup' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'fallbacks' } });
  });

  it('every group failing: the last error, after the original group and each fallback', async () => {
    e2e.anthropic[0]!.script([{ status: 529 }]);
    e2e.openai[0]!.script([{ status: 503 }]);
    const callId = newCallId();
    const err: unknown = await openai.chat.completions.create({ model: 'claude-main', messages }, { headers: { 'x-litellm-call-id': callId } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', fallbacks: 1, httpStatus: 503, modelGroup: 'gpt-backup' });
    expect(record.attempts.map((a) => a.deploymentId)).toEqual(['claude-main-1', 'gpt-backup-1']);
  });
});
