/**
 * LiteLLM's test hooks and client router options through the real server: `mock_response` (request
 * and deployment), `mock_timeout` with `x-litellm-timeout`, `mock_testing_fallbacks`,
 * `mock_testing_rate_limit_error`, client `fallbacks` in all three shapes (with the key's model
 * access), and comma-separated model lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, newCallId, postJson, recordFor, sseJson } from './harness.js';
import { generations, routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';
import { OPENAI_REPLY_TEXT } from '../fakes/openai-upstream.js';

let e2e: RouterE2E;
const messages = [{ role: 'user', content: 'Say hello.' }];

beforeAll(async () => {
  e2e = await startRouterE2E({ anthropic: 0, openai: 2 }, (f) => `
model_list:
  - model_name: gpt-main
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, num_retries: 3 }
    model_info: { id: main-1 }
  - model_name: gpt-backup
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake }
    model_info: { id: backup-1 }
  - model_name: canned
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, mock_response: "Canned hello" }
    model_info: { id: canned-1 }
  - model_name: never
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, timeout: 0.2, mock_timeout: true, num_retries: 0 }
    model_info: { id: never-1 }
router_settings: { disable_cooldowns: true }
`);
});
afterAll(() => e2e.close());

const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> =>
  postJson(e2e.url, '/v1/chat/completions', { messages, ...body }, headers);

interface ChatAnswer {
  choices: { message: { content: string } }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

describe('mock_response', () => {
  it('a request mock_response answers without calling the upstream, with LiteLLM usage (10 + 20) metered', async () => {
    const before = generations(e2e.openai[0]!);
    const callId = newCallId();
    const res = await chat({ model: 'gpt-main', mock_response: 'Mocked answer!' }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ChatAnswer;
    expect(body.choices[0]!.message.content).toBe('Mocked answer!');
    expect(body.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
    expect(generations(e2e.openai[0]!)).toBe(before);
    expect(routing(res.headers).modelId).toBe('main-1');
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, modelGroup: 'gpt-main' });
    expect(record.usage).toMatchObject({ inputUncached: 10, output: 20 });
  });

  it('streams the mock text in three-character pieces and a final usage chunk', async () => {
    const res = await chat({ model: 'gpt-main', mock_response: 'Hello world', stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    const chunks = sseJson(await res.text()) as { choices?: { delta?: { content?: string } }[]; usage?: { prompt_tokens: number; completion_tokens: number } }[];
    const pieces = chunks.flatMap((c) => (c.choices ?? []).map((ch) => ch.delta?.content ?? '')).filter((t) => t !== '');
    expect(pieces).toEqual(['Hel', 'lo ', 'wor', 'ld']);
    expect(chunks.find((c) => c.usage != null)?.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20 });
  });

  it('a deployment mock_response (on an openai deployment) answers every request to it', async () => {
    const before = generations(e2e.openai[0]!);
    const res = await chat({ model: 'canned' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as ChatAnswer).choices[0]!.message.content).toBe('Canned hello');
    expect(generations(e2e.openai[0]!)).toBe(before);
  });

  it('"litellm.RateLimitError" raises LiteLLM\'s mock 429', async () => {
    const res = await chat({ model: 'gpt-main', mock_response: 'litellm.RateLimitError', num_retries: 0, disable_fallbacks: true });
    expect(res.status).toBe(429);
    expect(JSON.stringify(await res.json())).toContain('this is a mock rate limit error');
  });

  it('the hook fields never reach the upstream', async () => {
    const res = await chat({ model: 'gpt-main', mock_testing_rate_limit_error: false, mock_timeout: false });
    expect(res.status).toBe(200);
    const sent = e2e.openai[0]!.requests.at(-1)!.json as Record<string, unknown>;
    expect(Object.keys(sent).filter((k) => k.startsWith('mock_'))).toEqual([]);
  });

  it('a hook flag that is not a boolean is a 400 naming it', async () => {
    const res = await chat({ model: 'gpt-main', mock_testing_fallbacks: 'yes' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('mock_testing_fallbacks');
  });
});

describe('mock_timeout and x-litellm-timeout', () => {
  it('a deployment with mock_timeout times out after its own timeout, and says which (x-litellm-timeout: 0.2)', async () => {
    const t0 = performance.now();
    const res = await chat({ model: 'never' });
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(408);
    expect(res.headers.get('x-litellm-timeout')).toBe('0.2');
    expect(elapsed).toBeGreaterThanOrEqual(190);
  });

  it('the request header overrides the deployment timeout; whole seconds read as Python floats', async () => {
    const res = await chat({ model: 'gpt-main', mock_timeout: true, num_retries: 0, disable_fallbacks: true }, { 'x-litellm-timeout': '0.05' });
    expect(res.status).toBe(408);
    expect(res.headers.get('x-litellm-timeout')).toBe('0.05');
    const ok = await chat({ model: 'gpt-main' }, { 'x-litellm-timeout': '2' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-litellm-timeout')).toBe('2.0');
  });

  it('a timeout header that is not a positive number is a 400 naming it', async () => {
    const res = await chat({ model: 'gpt-main' }, { 'x-litellm-timeout': 'soon' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('x-litellm-timeout');
  });
});

describe('mock_testing_* and client fallbacks', () => {
  it('mock_testing_fallbacks fails the group before any call and falls back to the client list', async () => {
    const mainBefore = generations(e2e.openai[0]!);
    const res = await chat({ model: 'gpt-main', mock_testing_fallbacks: true, fallbacks: ['gpt-backup'] });
    expect(res.status).toBe(200);
    expect(routing(res.headers)).toMatchObject({ modelId: 'backup-1', fallbacks: '1' });
    expect(generations(e2e.openai[0]!)).toBe(mainBefore);
    expect(((await res.json()) as ChatAnswer).choices[0]!.message.content).toBe(OPENAI_REPLY_TEXT);
  });

  it('without fallbacks the mock failure is LiteLLM\'s 500 naming the model', async () => {
    const res = await chat({ model: 'gpt-main', mock_testing_fallbacks: true });
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).toContain('This is a mock exception for model=gpt-main, to trigger a fallback');
  });

  it('fallbacks as rules ([{"gpt-main": ["gpt-backup"]}]) and as custom-message objects', async () => {
    const rules = await chat({ model: 'gpt-main', mock_testing_fallbacks: true, fallbacks: [{ 'gpt-main': ['gpt-backup'] }] });
    expect(rules.status).toBe(200);
    expect(routing(rules.headers).modelId).toBe('backup-1');

    const custom = await chat({ model: 'gpt-main', mock_testing_fallbacks: true, fallbacks: [{ model: 'gpt-backup', messages: [{ role: 'user', content: 'custom fallback text' }] }] });
    expect(custom.status).toBe(200);
    const sent = e2e.openai[1]!.requests.at(-1)!.json as { messages: { content: string }[]; fallbacks?: unknown };
    expect(sent.messages).toEqual([{ role: 'user', content: 'custom fallback text' }]);
    expect(sent).not.toHaveProperty('fallbacks');
  });

  it('fallbacks in another shape are a 400 naming the field', async () => {
    const res = await chat({ model: 'gpt-main', fallbacks: [42] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('fallbacks');
  });

  it('a key may only fall back to models it may call', async () => {
    const gen = await postJson(e2e.url, '/key/generate', { models: ['gpt-main'] });
    const { key } = (await gen.json()) as { key: string };
    const denied = await chat({ model: 'gpt-main', mock_testing_fallbacks: true, fallbacks: ['gpt-backup'] }, { authorization: `Bearer ${key}` });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { param: string } }).error.param).toBe('fallbacks');

    const gen2 = await postJson(e2e.url, '/key/generate', { models: ['gpt-main', 'gpt-backup'] });
    const { key: key2 } = (await gen2.json()) as { key: string };
    const allowed = await chat({ model: 'gpt-main', mock_testing_fallbacks: true, fallbacks: ['gpt-backup'] }, { authorization: `Bearer ${key2}` });
    expect(allowed.status).toBe(200);
  });

  it('mock_testing_rate_limit_error fails the first attempt only: one retry, one upstream call', async () => {
    const before = generations(e2e.openai[0]!);
    const res = await chat({ model: 'gpt-main', mock_testing_rate_limit_error: true });
    expect(res.status).toBe(200);
    expect(routing(res.headers)).toMatchObject({ retries: '1', maxRetries: '3', modelId: 'main-1' });
    expect(generations(e2e.openai[0]!)).toBe(before + 1);
  });

  it('with no retries allowed, mock_testing_rate_limit_error is the 429', async () => {
    const res = await chat({ model: 'gpt-main', mock_testing_rate_limit_error: true, num_retries: 0, disable_fallbacks: true });
    expect(res.status).toBe(429);
    expect(JSON.stringify(await res.json())).toContain('to trigger a rate limit error');
  });
});

describe('comma-separated model lists', () => {
  it('"gpt-main,gpt-backup" answers a list, one call per model, each recorded', async () => {
    const [a, b] = [generations(e2e.openai[0]!), generations(e2e.openai[1]!)];
    const callId = newCallId();
    const res = await chat({ model: 'gpt-main, gpt-backup' }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    const list = (await res.json()) as ChatAnswer[];
    expect(list).toHaveLength(2);
    expect(list.map((r) => r.choices[0]!.message.content)).toEqual([OPENAI_REPLY_TEXT, OPENAI_REPLY_TEXT]);
    expect([generations(e2e.openai[0]!), generations(e2e.openai[1]!)]).toEqual([a + 1, b + 1]);
    expect((await recordFor(e2e.gw.gateway, `${callId}-0`)).modelGroup).toBe('gpt-main');
    expect((await recordFor(e2e.gw.gateway, `${callId}-1`)).modelGroup).toBe('gpt-backup');
  });

  it('a model of the list that fails gives its error object in its place', async () => {
    const res = await chat({ model: 'gpt-main,no-such-model' });
    expect(res.status).toBe(200);
    const list = (await res.json()) as Record<string, unknown>[];
    expect(list[0]).toHaveProperty('choices');
    expect(list[1]).toHaveProperty('error');
  });

  it('a streamed list is a 400', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'gpt-main,gpt-backup', messages, stream: true }, { authorization: `Bearer ${MASTER_KEY}` });
    expect(res.status).toBe(400);
  });
});
