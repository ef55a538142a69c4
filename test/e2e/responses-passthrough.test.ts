/**
 * `POST /v1/responses` to a deployment that speaks the Responses API (openai/…): the client's bytes
 * go up with only `model` rewritten, the answer comes back as the upstream sent it but for the
 * managed response id (LiteLLM's `resp_<base64 provider;model_id;response_id>`) and the cost added
 * to the final usage; stored responses are read, listed and deleted on the deployment that made
 * them, and `previous_response_id` goes back to that deployment with the upstream's own id.
 * Tokens follow the fake's one-token-per-word rule (test/fakes/openai-responses-upstream.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResponseId } from '../../src/core/response-id.js';
import type { JsonObject } from '../../src/core/json.js';
import {
  countWords, OPENAI_CACHE_MIN_WORDS, OPENAI_FAKE_KEY, OPENAI_RESPONSES_REPLY_TEXT, RESPONSES_COMPACTION_SUMMARY, RESPONSES_REASONING_SUMMARY, startFakeOpenAIResponses,
  type ResponsesFakeUpstream,
} from '../fakes/index.js';
import { adminPost } from '../helpers/calls.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY, newCallId, openaiClient, postJson, recordFor, sseJson, words } from './harness.js';

const PRICE_IN = 0.00000125;
const PRICE_OUT = 0.00001;
const PRICE_READ = 0.000000125;
const nano = (input: number, output: number, read = 0): number => Math.round((input * PRICE_IN + output * PRICE_OUT + read * PRICE_READ) * 1e9);
const prices = `input_cost_per_token: ${PRICE_IN}, output_cost_per_token: ${PRICE_OUT}, cache_read_input_token_cost: ${PRICE_READ}`;
const REASONING = 12;
const QUESTION = 'say hello to the gateway';

let codex: ResponsesFakeUpstream;
let left: ResponsesFakeUpstream;
let right: ResponsesFakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  codex = await startFakeOpenAIResponses({ reasoning: { tokens: REASONING } });
  left = await startFakeOpenAIResponses();
  right = await startFakeOpenAIResponses();
  gw = await startGateway(`
model_list:
  - model_name: codex
    litellm_params: { model: openai/gpt-5-codex, api_base: "${codex.url}/v1", api_key: ${OPENAI_FAKE_KEY}, ${prices} }
    model_info: { id: codex-deployment }
  - model_name: pair
    litellm_params: { model: openai/gpt-5-mini, api_base: "${left.url}/v1", api_key: ${OPENAI_FAKE_KEY}, ${prices} }
    model_info: { id: pair-left }
  - model_name: pair
    litellm_params: { model: openai/gpt-5-mini, api_base: "${right.url}/v1", api_key: ${OPENAI_FAKE_KEY}, ${prices} }
    model_info: { id: pair-right }
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(async () => {
  await gw.close();
  await Promise.all([codex.close(), left.close(), right.close()]);
});

const IN = countWords(QUESTION);
const OUT = countWords(OPENAI_RESPONSES_REPLY_TEXT) + REASONING;

describe('same dialect: bytes through, ids managed, usage metered', () => {
  it('non-streaming: the client body goes up with the model rewritten; the answer is the upstream\'s with the managed id', async () => {
    const callId = newCallId();
    const raw = `{"model":"codex","input":${JSON.stringify(QUESTION)},"store":true,  "reasoning":{"effort":"low"}}`;
    const res = await postJson(gw.url, '/v1/responses', raw, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    const body = (await res.json()) as JsonObject;
    expect(codex.requests.at(-1)!.body).toBe(raw.replace('"codex"', '"gpt-5-codex"'));
    const decoded = decodeResponseId(body.id as string);
    expect(decoded).toMatchObject({ provider: 'openai', deploymentId: 'codex-deployment' });
    expect(decoded.responseId).toMatch(/^resp_/);
    expect(body.usage).toEqual({ input_tokens: IN, input_tokens_details: { cached_tokens: 0 }, output_tokens: OUT, output_tokens_details: { reasoning_tokens: REASONING }, total_tokens: IN + OUT });
    expect(Number(res.headers.get('x-litellm-response-cost'))).toBeCloseTo(nano(IN, OUT) / 1e9, 12);
    expect(res.headers.get('x-litellm-model-id')).toBe('codex-deployment');
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-responses', outcome: 'success', passthrough: true, costNanoUsd: nano(IN, OUT) });
    expect(record.usage).toMatchObject({ inputUncached: IN, cacheRead: 0, output: OUT, reasoning: REASONING });
  });

  it('streaming: the upstream events, managed id in each response object, cost in response.completed', async () => {
    const callId = newCallId();
    const res = await postJson(gw.url, '/v1/responses', { model: 'codex', input: QUESTION, stream: true, reasoning: { effort: 'low', summary: 'auto' } }, { 'x-litellm-call-id': callId });
    const events = sseJson(await res.text());
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.reasoning_summary_text.delta');
    const ids = new Set(events.flatMap((e) => (typeof (e.response as JsonObject | undefined)?.id === 'string' ? [(e.response as JsonObject).id as string] : [])));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(decodeResponseId(id!).deploymentId).toBe('codex-deployment');
    const summary = events.filter((e) => e.type === 'response.reasoning_summary_text.delta').map((e) => e.delta as string).join('');
    expect(summary).toBe(RESPONSES_REASONING_SUMMARY);
    expect((events.at(-1)!.response as JsonObject).usage).toMatchObject({ input_tokens: IN, output_tokens: OUT, cost: nano(IN, OUT) / 1e9 });
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ passthrough: true, stream: true, costNanoUsd: nano(IN, OUT) });
    expect(record.responseId).toBe(id);
  });

  it('the upstream prompt cache is read as cached_tokens and priced as cache reads', async () => {
    const context = words(OPENAI_CACHE_MIN_WORDS + 10, 'doc');
    const body = { model: 'codex', prompt_cache_key: 'session-7', input: [{ role: 'user', content: context }, { role: 'user', content: QUESTION }] };
    await postJson(gw.url, '/v1/responses', body).then((r) => r.text());
    const callId = newCallId();
    const answer = (await (await postJson(gw.url, '/v1/responses', body, { 'x-litellm-call-id': callId })).json()) as JsonObject;
    const prefix = countWords(context);
    const total = prefix + IN;
    expect(answer.usage).toMatchObject({ input_tokens: total, input_tokens_details: { cached_tokens: prefix } });
    expect((await recordFor(gw.gateway, callId)).costNanoUsd).toBe(nano(total - prefix, OUT, prefix));
  });

  it('a quota error before the answer began is a 429 in the OpenAI envelope and fails the record', async () => {
    codex.script([{ kind: 'error-in-stream', code: 'insufficient_quota', message: 'You exceeded your current quota' }]);
    const callId = newCallId();
    const res = await postJson(gw.url, '/v1/responses', { model: 'codex', input: QUESTION, stream: true }, { 'x-litellm-call-id': callId });
    // Nothing of the answer had been sent (only response.created / in_progress): the attempt failed as a whole.
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: JsonObject }).error).toMatchObject({ message: 'You exceeded your current quota', code: '429' });
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 429 });
    expect(record.error?.message).toContain('You exceeded your current quota');
  });
});

describe('compaction (/v1/responses/compact)', () => {
  it('goes to the Responses API deployment as the client sent it; its usage is metered', async () => {
    const callId = newCallId();
    const input = [{ role: 'user', content: QUESTION }, { role: 'assistant', content: 'hello' }];
    const res = await postJson(gw.url, '/v1/responses/compact', { model: 'codex', input }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    const body = (await res.json()) as JsonObject;
    expect(body.object).toBe('response.compaction');
    expect((body.output as JsonObject[]).at(-1)).toMatchObject({ type: 'compaction' });
    expect(codex.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/responses/compact' });
    expect((codex.requests.at(-1)!.json as JsonObject).model).toBe('gpt-5-codex');
    const inputTokens = countWords(QUESTION) + countWords('hello');
    const output = countWords(RESPONSES_COMPACTION_SUMMARY);
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-responses', route: '/v1/responses/compact', passthrough: true, costNanoUsd: nano(inputTokens, output) });
  });
});

describe('stored responses and continuations', () => {
  it('GET, input_items and DELETE reach the deployment that stored the response', async () => {
    const client = openaiClient(gw.url);
    const made = await client.responses.create({ model: 'pair', input: QUESTION });
    const home = decodeResponseId(made.id);
    const fake = home.deploymentId === 'pair-left' ? left : right;
    const other = fake === left ? right : left;
    const before = other.requests.length;
    const got = await client.responses.retrieve(made.id);
    expect(got.id).toBe(made.id);
    expect(got.output_text).toBe(OPENAI_RESPONSES_REPLY_TEXT);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: `/v1/responses/${home.responseId}` });
    const items = await client.responses.inputItems.list(made.id);
    expect(items.data.map((i) => i.type)).toEqual(['message']);
    await client.responses.delete(made.id);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `/v1/responses/${home.responseId}` });
    expect(other.requests.length).toBe(before);
    const gone = await fetch(`${gw.url}/v1/responses/${made.id}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: JsonObject }).error).toMatchObject({ code: '404' });
  });

  it('previous_response_id: every continuation goes to the deployment that stored the first answer, with its own id', async () => {
    const client = openaiClient(gw.url);
    const first = await client.responses.create({ model: 'pair', input: QUESTION });
    const home = decodeResponseId(first.id);
    const fake = home.deploymentId === 'pair-left' ? left : right;
    let previous = first.id;
    for (let turn = 0; turn < 6; turn++) {
      const next = await client.responses.create({ model: 'pair', input: `turn ${turn}`, previous_response_id: previous });
      expect(decodeResponseId(next.id).deploymentId).toBe(home.deploymentId);
      expect((fake.requests.at(-1)!.json as JsonObject).previous_response_id).toBe(decodeResponseId(previous).responseId);
      previous = next.id;
    }
  });

  it('an id no deployment here made is a 404 naming it; a key without the model may not read it', async () => {
    const res = await fetch(`${gw.url}/v1/responses/resp_unknown`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: JsonObject }).error.message).toContain('resp_unknown');
    const made = await openaiClient(gw.url).responses.create({ model: 'codex', input: QUESTION });
    const { key } = (await adminPost(gw.url, MASTER_KEY, '/key/generate', { models: ['pair'] })) as { key: string };
    const denied = await fetch(`${gw.url}/v1/responses/${made.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    expect(denied.status).toBe(403);
    // Refused before the upstream heard of it: the response is still there.
    expect(codex.requests.at(-1)!.method).toBe('POST');
  });
});
