/**
 * The rest of the HTTP surface: models list, health probes, the root probe, /v1/messages?beta=true,
 * count_tokens, what passthrough preserves (system-role messages, anthropic-beta, unknown fields),
 * and whether an OpenAI stream carries a usage chunk.
 */
import type Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicBlocks, countWords, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { anthropicClient, MASTER_KEY, newCallId, openaiClient, parseSse, postJson, recordFor, sseJson, startE2E, type E2E } from './harness.js';

let e2e: E2E;
let anthropic: Anthropic;
/** An OpenAI-compatible server that puts usage on the finish chunk (no usage-only chunk). */
let compatible: FakeUpstream;

beforeAll(async () => {
  compatible = await startFakeOpenAI({ usageChunkWithChoices: true });
  e2e = await startE2E({
    extraModels: (f) => `
  - model_name: compat-test
    litellm_params: { model: openai/some-model, api_base: "${compatible.url}/v1", api_key: sk-openai-fake }
  - model_name: claude-sonnet-4-5
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.anthropic}", api_key: sk-ant-fake }
  - model_name: gpt-4o-mini
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.openai}/v1", api_key: sk-openai-fake }`,
  });
  anthropic = anthropicClient(e2e.url);
});
afterAll(async () => {
  await e2e.close();
  await compatible.close();
});

const MODELS = ['claude-sonnet-4-5', 'claude-test', 'compat-test', 'gpt-4o-mini', 'gpt-test', 'mock-test'];

describe('models and probes', () => {
  it.each(['/v1/models', '/models'])('GET %s lists the model names with the master key', async (path) => {
    const res = await fetch(`${e2e.url}${path}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { object: string; data: { id: string; object: string }[] };
    expect(json.object).toBe('list');
    expect(json.data.map((m) => m.id).sort()).toEqual(MODELS);
    expect(json.data.every((m) => m.object === 'model')).toBe(true);
  });

  it.each(['/v1/models', '/models'])('GET %s without a key → 401 in the OpenAI envelope', async (path) => {
    const res = await fetch(`${e2e.url}${path}`);
    expect(res.status).toBe(401);
    const json = (await res.json()) as Record<string, unknown>;
    expect(json).toMatchObject({ error: { message: expect.any(String), type: 'auth_error' } });
  });

  it('the OpenAI SDK lists the models', async () => {
    const ids: string[] = [];
    for await (const model of openaiClient(e2e.url).models.list()) ids.push(model.id);
    expect(ids.sort()).toEqual(MODELS);
    const err: unknown = await openaiClient(e2e.url, 'sk-wrong').models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('GET /health/liveliness → "I\'m alive!" without auth', async () => {
    const res = await fetch(`${e2e.url}/health/liveliness`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("I'm alive!");
  });

  it('GET /health/readiness → 200 without auth', async () => {
    const res = await fetch(`${e2e.url}/health/readiness`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: expect.any(String) });
  });

  it('HEAD / → 200 without auth (Claude Code probes it)', async () => {
    const res = await fetch(`${e2e.url}/`, { method: 'HEAD' });
    expect(res.status).toBe(200);
  });
});

describe('Anthropic surface extras', () => {
  it('POST /v1/messages?beta=true works (SDK beta namespace) and forwards anthropic-beta', async () => {
    const before = e2e.anthropic.requests.length;
    const message = await anthropic.beta.messages.create({
      model: 'claude-test',
      max_tokens: 32,
      betas: ['context-management-2025-06-27'],
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text' });
    const sent = e2e.anthropic.requests[before];
    expect(sent?.headers['anthropic-beta']).toBe('context-management-2025-06-27');
    expect((sent?.json as { model: string }).model).toBe('claude-sonnet-4-5');
  });

  it('POST /v1/messages?beta=true works against the mock too (raw)', async () => {
    const res = await postJson(e2e.url, '/v1/messages?beta=true', { model: 'mock-test', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: 'message', role: 'assistant' });
  });

  it('count_tokens against the Anthropic fake is forwarded (exact upstream count)', async () => {
    const params: Anthropic.MessageCountTokensParams = {
      model: 'claude-test',
      system: 'You are a terse assistant.',
      messages: [{ role: 'user', content: 'Count these seven words for me please.' }],
    };
    const before = e2e.anthropic.requests.length;
    const result = await anthropic.messages.countTokens(params);
    const expected = anthropicBlocks({ ...params }).reduce((sum, b) => sum + b.tokens, 0);
    expect(result.input_tokens).toBe(expected);
    expect(expected).toBe(countWords('You are a terse assistant.') + countWords('Count these seven words for me please.'));
    const sent = e2e.anthropic.requests[before];
    expect(sent?.path).toBe('/v1/messages/count_tokens');
    expect((sent?.json as { model: string }).model).toBe('claude-sonnet-4-5');
  });

  it('count_tokens against the mock is estimated locally (> 0), nothing is sent upstream', async () => {
    const before = e2e.anthropic.requests.length + e2e.openai.requests.length;
    const result = await anthropic.messages.countTokens({ model: 'mock-test', messages: [{ role: 'user', content: 'How many tokens is this sentence?' }] });
    expect(result.input_tokens).toBeGreaterThan(0);
    expect(e2e.anthropic.requests.length + e2e.openai.requests.length).toBe(before);
  });

  it('count_tokens for an OpenAI deployment is estimated locally, and each count is one call record', async () => {
    const before = e2e.openai.requests.length;
    const callId = newCallId();
    const { data, response } = await anthropic.messages
      .countTokens({ model: 'gpt-test', messages: [{ role: 'user', content: 'How many tokens is this sentence?' }] }, { headers: { 'x-litellm-call-id': callId } })
      .withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(e2e.openai.requests.length).toBe(before);
    expect(response.headers.get('x-litellm-call-id')).toBe(callId);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'anthropic-count-tokens', outcome: 'success', httpStatus: 200, requestedModel: 'gpt-test' });
  });

  it('count_tokens needs a key', async () => {
    const res = await fetch(`${e2e.url}/v1/messages/count_tokens`, { method: 'POST', body: JSON.stringify({ model: 'mock-test', messages: [] }) });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('a role:"system" message inside messages reaches the Anthropic upstream untouched', async () => {
    const messages = [
      { role: 'system', content: 'Mid-conversation instruction.' },
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
    ];
    const before = e2e.anthropic.requests.length;
    const res = await postJson(e2e.url, '/v1/messages', { model: 'claude-test', max_tokens: 16, messages });
    expect(res.status).toBe(200);
    const sent = e2e.anthropic.requests[before]?.json as { messages: unknown; system?: unknown };
    expect(sent.messages).toEqual(messages);
    expect(sent.system).toBeUndefined();
  });

  it('unknown body fields survive passthrough on both surfaces, and anthropic-version is forwarded', async () => {
    const extra = { future_field: { nested: [1, 'two', null] }, context_management: { edits: [] } };
    const a0 = e2e.anthropic.requests.length;
    const res = await postJson(
      e2e.url,
      '/v1/messages',
      { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...extra },
      { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'a-beta,another-beta' },
    );
    expect(res.status).toBe(200);
    const sentA = e2e.anthropic.requests[a0];
    expect(sentA?.json).toMatchObject(extra);
    expect(sentA?.headers['anthropic-version']).toBe('2023-06-01');
    expect(sentA?.headers['anthropic-beta']).toBe('a-beta,another-beta');
    // The client's key never reaches the upstream; the deployment's does.
    expect(sentA?.headers['x-api-key']).toBe('sk-ant-fake');
    expect(JSON.stringify(sentA?.headers)).not.toContain(MASTER_KEY);

    const o0 = e2e.openai.requests.length;
    const res2 = await postJson(e2e.url, '/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], ...extra, seed: 7 });
    expect(res2.status).toBe(200);
    const sentO = e2e.openai.requests[o0];
    expect(sentO?.json).toMatchObject({ ...extra, seed: 7, model: 'gpt-4o-mini' });
    expect(sentO?.headers.authorization).toBe('Bearer sk-openai-fake');
  });

  it('passthrough forwards the exact body bytes when the model name needs no rewrite', async () => {
    const rawA = '{ "max_tokens" : 16,\n  "model": "claude-sonnet-4-5", "messages": [{"role":"user","content":"caf\\u00e9 \u00fc"}], "x_unknown": 1.50 }';
    const a0 = e2e.anthropic.requests.length;
    const resA = await postJson(e2e.url, '/v1/messages', rawA);
    expect(resA.status).toBe(200);
    expect(e2e.anthropic.requests[a0]?.body).toBe(rawA);

    const rawO = '{"messages":[{"role":"user","content":"hi"}],   "model":"gpt-4o-mini","temperature":1.0}';
    const o0 = e2e.openai.requests.length;
    const resO = await postJson(e2e.url, '/v1/chat/completions', rawO);
    expect(resO.status).toBe(200);
    expect(e2e.openai.requests[o0]?.body).toBe(rawO);
  });

  it('passthrough streams are the upstream SSE bytes, event for event (the final usage may gain fields)', async () => {
    const normalize = (text: string): string =>
      text.replace(/(msg_01Fake|req_01Fake|chatcmpl-Fake)[0-9a-z]+/g, '$1#').replace(/"created":\d+/g, '"created":0');
    const compare = (gateway: string, upstream: string): void => {
      const [g, u] = [parseSse(normalize(gateway)), parseSse(normalize(upstream))];
      expect(g.map((e) => e.event)).toEqual(u.map((e) => e.event));
      g.forEach((event, i) => {
        const original = u[i]!;
        if (event.data === original.data) return;
        // Only the usage-bearing event may differ, and only by added usage fields (e.g. cost).
        const [gj, uj] = [JSON.parse(event.data) as { usage?: unknown }, JSON.parse(original.data) as { usage?: unknown }];
        expect(uj.usage, `event ${i} differs: ${event.data}`).toBeTruthy();
        expect(gj).toMatchObject(uj);
      });
    };
    const anthropicBody = { model: 'claude-sonnet-4-5', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'stream me' }] };
    const direct = await fetch(`${e2e.anthropic.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-fake', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(anthropicBody),
    });
    const viaGateway = await postJson(e2e.url, '/v1/messages', anthropicBody);
    compare(await viaGateway.text(), await direct.text());

    const openaiBody = { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream me' }] };
    const directO = await fetch(`${e2e.openai.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-openai-fake' },
      body: JSON.stringify(openaiBody),
    });
    const viaGatewayO = await postJson(e2e.url, '/v1/chat/completions', openaiBody);
    // OpenAI chunks reach the client in LiteLLM's shape (exclude_none; the usage chunk has one empty
    // choice): the upstream's events, each as LiteLLM would serialise it, else byte for byte.
    const stripNulls = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(stripNulls) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === null ? [] : [[k, stripNulls(x)]]))) : v;
    const litellmShaped = (upstream: string): string =>
      parseSse(upstream)
        .map((e) => {
          if (e.data === '[DONE]') return 'data: [DONE]\n\n';
          const chunk = stripNulls(JSON.parse(e.data)) as { choices: unknown[]; usage?: unknown };
          if (chunk.choices.length === 0 && chunk.usage !== undefined) chunk.choices = [{ index: 0, delta: {} }];
          return `data: ${JSON.stringify(chunk)}\n\n`;
        })
        .join('');
    compare(await viaGatewayO.text(), litellmShaped(await directO.text()));
  });

  it('passthrough keeps the field order when it rewrites the model', async () => {
    const extraModelBody = { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], zeta: 1, alpha: 2 };
    const before = e2e.anthropic.requests.length;
    await postJson(e2e.url, '/v1/messages', extraModelBody);
    const sent = e2e.anthropic.requests[before]?.json as Record<string, unknown>;
    // Field order and values survive the model rewrite.
    expect(Object.keys(sent)).toEqual(Object.keys(extraModelBody));
  });
});

describe('usage chunk on OpenAI streams', () => {
  it.each(['gpt-test', 'claude-test', 'mock-test'])('%s without stream_options: no usage chunk for the client, usage in the record', async (model) => {
    const callId = newCallId();
    const res = await postJson(e2e.url, '/v1/chat/completions', { model, stream: true, messages: [{ role: 'user', content: 'say hi' }] }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    const text = await res.text();
    const chunks = sseJson(text);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.filter((c) => c.usage !== undefined && c.usage !== null)).toEqual([]);
    expect(chunks.every((c) => Array.isArray(c.choices) && c.choices.length > 0)).toBe(true);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record.outcome).toBe('success');
    expect(record.usage.output).toBeGreaterThan(0);
    expect(record.usage.inputUncached).toBeGreaterThan(0);
  });

  it('the upstream was asked for usage even though the client was not (passthrough)', async () => {
    const before = e2e.openai.requests.length;
    await (await postJson(e2e.url, '/v1/chat/completions', { model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'x' }] })).text();
    expect((e2e.openai.requests[before]?.json as Record<string, unknown>).stream_options).toEqual({ include_usage: true });
  });

  it.each(['gpt-test', 'claude-test', 'mock-test'])('%s with include_usage: one usage chunk with prompt_tokens etc.', async (model) => {
    const callId = newCallId();
    const res = await postJson(
      e2e.url,
      '/v1/chat/completions',
      { model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'say hi' }] },
      { 'x-litellm-call-id': callId },
    );
    const chunks = sseJson(await res.text());
    const withUsage = chunks.filter((c) => c.usage !== undefined && c.usage !== null);
    expect(withUsage).toHaveLength(1);
    const usage = withUsage[0]!.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    if (model !== 'mock-test') expect(usage.prompt_tokens).toBe(countWords('say hi'));
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record.usage.output).toBe(usage.completion_tokens);
  });

  it.each(['openai', 'anthropic'] as const)('usage on the finish chunk (compatible servers) is metered via the %s surface', async (surface) => {
    const callId = newCallId();
    const messages = [{ role: 'user', content: 'say hi' }];
    const res = await postJson(
      e2e.url,
      surface === 'openai' ? '/v1/chat/completions' : '/v1/messages',
      surface === 'openai' ? { model: 'compat-test', stream: true, messages } : { model: 'compat-test', stream: true, max_tokens: 16, messages },
      { 'x-litellm-call-id': callId },
    );
    expect(res.status).toBe(200);
    await res.text();
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record.outcome).toBe('success');
    expect(record.usage.inputUncached).toBe(countWords('say hi'));
    expect(record.usage.output).toBeGreaterThan(0);
  });
});
