/**
 * LiteLLM's response cache (`litellm_settings.cache`) through the real server: the second identical
 * request is answered from the cache — no upstream call, the same bytes, a stream replayed as a
 * stream — with `x-litellm-cache-key`, cost 0, `cache_hit` in the spend log and the cache metrics;
 * the request's `cache` member steers it and never reaches the provider. In memory, and in a real
 * Redis shared by two gateways.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import { ANTHROPIC_FAKE_KEY, countWords, OPENAI_FAKE_KEY, OPENAI_REPLY_TEXT, startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { scrape, total } from '../metrics/helpers.js';
import { REDIS_URL, redisSkip, testPrefix } from '../storage/redis-gate.js';
import { MASTER_KEY, newCallId, openaiClient, postJson, recordFor, sleep } from './harness.js';

const PRICE_IN = 0.000001;
const PRICE_OUT = 0.000002;
const prices = `input_cost_per_token: ${PRICE_IN}, output_cost_per_token: ${PRICE_OUT}`;

function config(openai: FakeUpstream, anthropic: FakeUpstream, cacheParams: string, general = ''): string {
  return `
model_list:
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${openai.url}/v1", api_key: ${OPENAI_FAKE_KEY}, ${prices} }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: ${ANTHROPIC_FAKE_KEY}, ${prices} }
litellm_settings:
  cache: true
  cache_params: ${cacheParams}
general_settings: { master_key: ${MASTER_KEY}${general} }
`;
}

const chat = (content: string, extra: JsonObject = {}): JsonObject => ({ model: 'gpt', messages: [{ role: 'user', content }], ...extra });

async function call(url: string, body: JsonObject): Promise<{ res: Response; text: string; callId: string }> {
  const callId = newCallId();
  const res = await postJson(url, '/v1/chat/completions', body, { 'x-litellm-call-id': callId });
  return { res, text: await res.text(), callId };
}

async function spendRow(url: string, requestId: string): Promise<JsonObject> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const rows = (await (await fetch(`${url}/spend/logs?request_id=${encodeURIComponent(requestId)}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as JsonObject[];
    if (rows.length > 0) return rows[0]!;
    if (Date.now() > deadline) throw new Error(`no spend row for ${requestId}`);
    await sleep(20);
  }
}

describe('in memory (type: local)', () => {
  let openai: FakeUpstream;
  let anthropic: FakeUpstream;
  let gw: TestGateway;
  beforeAll(async () => {
    openai = await startFakeOpenAI();
    anthropic = await startFakeAnthropic();
    gw = await startGateway(config(openai, anthropic, '{ type: local, ttl: 600 }'));
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([openai.close(), anthropic.close()]);
  });

  it('a miss calls the upstream; the same request again is replayed: same bytes, no upstream call, cost 0', async () => {
    const question = `what is ${randomUUID()}`;
    const first = await call(gw.url, chat(question));
    expect(first.res.status).toBe(200);
    const key = first.res.headers.get('x-litellm-cache-key');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const upstreamCalls = openai.requests.length;
    const second = await call(gw.url, chat(question));
    expect(second.res.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(openai.requests.length).toBe(upstreamCalls);
    expect(second.res.headers.get('x-litellm-cache-key')).toBe(key);
    expect(Number(second.res.headers.get('x-litellm-response-cost'))).toBe(0);
    const input = countWords(question);
    const output = countWords(OPENAI_REPLY_TEXT);
    const [missed, hit] = await Promise.all([recordFor(gw.gateway, first.callId), recordFor(gw.gateway, second.callId)]);
    expect(missed).toMatchObject({ responseCache: 'miss', cacheKey: key, costNanoUsd: Math.round((input * PRICE_IN + output * PRICE_OUT) * 1e9) });
    expect(hit).toMatchObject({ responseCache: 'hit', cacheKey: key, costNanoUsd: 0, outcome: 'success', modelGroup: 'gpt', upstreamModel: 'gpt-4o-mini', deployment: undefined });
    expect(hit.usage).toMatchObject({ inputUncached: input, output });
    expect(await spendRow(gw.url, second.callId)).toMatchObject({ cache_hit: 'True', cache_key: key, spend: 0 });
    expect(await spendRow(gw.url, first.callId)).toMatchObject({ cache_hit: 'False', cache_key: key });
    // litellm_cached_tokens_metric counts the replayed answer's tokens.
    const samples = await scrape(gw.url);
    expect(total(samples, 'litellm_cache_hits_metric_total', { model: 'gpt-4o-mini' })).toBe(1);
    expect(total(samples, 'litellm_cache_misses_metric_total', { model: 'gpt-4o-mini' })).toBe(1);
    expect(total(samples, 'litellm_cached_tokens_metric_total')).toBe(input + output);
  });

  it('a stream is replayed as the same stream, and the SDK reads it', async () => {
    const question = `stream ${randomUUID()}`;
    const body = chat(question, { stream: true, stream_options: { include_usage: true } });
    const first = await call(gw.url, body);
    const upstreamCalls = openai.requests.length;
    const second = await call(gw.url, body);
    expect(second.res.headers.get('content-type')).toContain('text/event-stream');
    expect(second.text).toBe(first.text);
    expect(openai.requests.length).toBe(upstreamCalls);
    expect((await recordFor(gw.gateway, second.callId)).responseCache).toBe('hit');
    let text = '';
    for await (const chunk of await openaiClient(gw.url).chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: question }], stream: true, stream_options: { include_usage: true } })) {
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe(OPENAI_REPLY_TEXT);
    expect(openai.requests.length).toBe(upstreamCalls);
  });

  it('the request\'s cache member: no-cache reads nothing, no-store keeps nothing, s-maxage refuses old answers; never sent upstream', async () => {
    const question = `steer ${randomUUID()}`;
    await call(gw.url, chat(question, { cache: { 'no-store': true } }));
    expect(openai.requests.at(-1)!.json).not.toHaveProperty('cache');
    const stored = openai.requests.length;
    // Nothing was stored: this one calls upstream (and is stored now).
    await call(gw.url, chat(question));
    expect(openai.requests.length).toBe(stored + 1);
    const noCache = await call(gw.url, chat(question, { cache: { 'no-cache': true } }));
    expect(openai.requests.length).toBe(stored + 2);
    expect((await recordFor(gw.gateway, noCache.callId)).responseCache).toBe('miss');
    await sleep(1100);
    await call(gw.url, chat(question, { cache: { 's-maxage': 1 } }));
    expect(openai.requests.length).toBe(stored + 3);
    const fresh = await call(gw.url, chat(question, { cache: { 's-maxage': 60 } }));
    expect(openai.requests.length).toBe(stored + 3);
    expect((await recordFor(gw.gateway, fresh.callId)).responseCache).toBe('hit');
    const bad = await postJson(gw.url, '/v1/chat/completions', chat(question, { cache: { ttl: 'long' } }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: JsonObject }).error).toMatchObject({ param: 'cache.ttl' });
  });

  it('anthropic_messages is not among LiteLLM\'s default cached call types: /v1/messages is never cached', async () => {
    const body = { model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: `hi ${randomUUID()}` }] };
    const first = await postJson(gw.url, '/v1/messages', body);
    await first.text();
    expect(first.headers.get('x-litellm-cache-key')).toBeNull();
    const before = anthropic.requests.length;
    await (await postJson(gw.url, '/v1/messages', body)).text();
    expect(anthropic.requests.length).toBe(before + 1);
  });
});

describe.skipIf(redisSkip !== undefined)(`in Redis, shared by two gateways, mode default_off${redisSkip === undefined ? '' : ` (skipped: ${redisSkip})`}`, () => {
  let openai: FakeUpstream;
  let anthropic: FakeUpstream;
  let a: TestGateway;
  let b: TestGateway;
  const redis = new URL(REDIS_URL);
  const prefix = testPrefix();
  beforeAll(async () => {
    openai = await startFakeOpenAI();
    anthropic = await startFakeAnthropic();
    const params = `{ type: redis, host: "${redis.hostname}", port: ${redis.port === '' ? 6379 : Number(redis.port)}, namespace: team-a, mode: default_off, supported_call_types: [acompletion, anthropic_messages] }`;
    const yaml = config(openai, anthropic, params, `, redis_key_prefix: "${prefix}"`);
    [a, b] = await Promise.all([startGateway(yaml), startGateway(yaml)]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await Promise.all([openai.close(), anthropic.close()]);
  });

  it('default_off: only use-cache requests are cached; what one instance stored, the other replays', async () => {
    const question = `shared ${randomUUID()}`;
    const plain = await call(a.url, chat(question));
    expect(plain.res.headers.get('x-litellm-cache-key')).toBeNull();
    const first = await call(a.url, chat(question, { cache: { 'use-cache': true } }));
    const key = first.res.headers.get('x-litellm-cache-key');
    expect(key).toMatch(/^team-a:[0-9a-f]{64}$/);
    const upstreamCalls = openai.requests.length;
    const second = await call(b.url, chat(question, { cache: { 'use-cache': true } }));
    expect(second.text).toBe(first.text);
    expect(openai.requests.length).toBe(upstreamCalls);
    expect(await recordFor(b.gateway, second.callId)).toMatchObject({ responseCache: 'hit', cacheKey: key, costNanoUsd: 0 });
  });

  it('a call type added to supported_call_types is cached: /v1/messages across instances', async () => {
    const body = { model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: `hello ${randomUUID()}` }], cache: { 'use-cache': true } };
    const first = await postJson(a.url, '/v1/messages', body);
    const firstText = await first.text();
    const before = anthropic.requests.length;
    const second = await postJson(b.url, '/v1/messages', body);
    expect(await second.text()).toBe(firstText);
    expect(anthropic.requests.length).toBe(before);
    expect(anthropic.requests.at(-1)!.json).not.toHaveProperty('cache');
  });
});
