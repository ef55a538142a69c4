// Exercises the fake upstreams directly over real HTTP, so e2e tests can trust their wire shapes,
// token arithmetic and fault injection before blaming the gateway.
import { afterEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import {
  ANTHROPIC_REPLY_TEXT, OPENAI_REPLY_TEXT, countWords, fixtureReplayAnthropic, fixtureReplayOpenAI, startFakeAnthropic,
  startFakeOpenAI, type FakeUpstream,
} from './index.js';

const open: FakeUpstream[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});
async function track(p: Promise<FakeUpstream>): Promise<FakeUpstream> {
  const fake = await p;
  open.push(fake);
  return fake;
}

const ANT_HEADERS = { 'x-api-key': 'sk-ant-fake', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
const OAI_HEADERS = { authorization: 'Bearer sk-openai-fake', 'content-type': 'application/json' };

function post(url: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', body: JSON.stringify(body), headers, ...(signal ? { signal } : {}) });
}
const ant = (fake: FakeUpstream, body: Record<string, unknown>, path = '/v1/messages'): Promise<Response> =>
  post(fake.url + path, { model: 'claude-test', max_tokens: 100, ...body }, ANT_HEADERS);
const oai = (fake: FakeUpstream, body: Record<string, unknown>): Promise<Response> =>
  post(`${fake.url}/v1/chat/completions`, { model: 'gpt-test', ...body }, OAI_HEADERS);
const userMsg = (content: unknown): { messages: unknown[] } => ({ messages: [{ role: 'user', content }] });

interface SseEvent { event: string | undefined; data: string }
function parseSse(text: string): SseEvent[] {
  return text.split('\n\n').filter((f) => f.trim() !== '').map((f) => {
    const lines = f.split('\n');
    return {
      event: lines.find((l) => l.startsWith('event: '))?.slice(7),
      data: lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'),
    };
  });
}
const dataJson = (events: SseEvent[]): unknown[] =>
  events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as unknown);

/** Walks parsed JSON by keys/indices so assertions stay on `unknown` without casts. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let cur = value;
  for (const key of path) {
    if (typeof key === 'number') cur = Array.isArray(cur) ? (cur as unknown[])[key] : undefined;
    else cur = typeof cur === 'object' && cur !== null && !Array.isArray(cur) ? (cur as Record<string, unknown>)[key] : undefined;
  }
  return cur;
}
function str(value: unknown): string {
  expect(typeof value).toBe('string');
  return value as string;
}

/** Reads a body until it ends or breaks; a cut stream yields the text so far plus the error. */
async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

const words = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

describe('fake Anthropic', () => {
  it('rejects a wrong key with the real error body, accepts Bearer, requires anthropic-version', async () => {
    const fake = await track(startFakeAnthropic());
    const bad = await post(`${fake.url}/v1/messages`, { model: 'm', max_tokens: 1, ...userMsg('hi') }, { ...ANT_HEADERS, 'x-api-key': 'nope' });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toBe('{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}');
    const { 'x-api-key': _k, ...noKey } = ANT_HEADERS;
    const bearer = await post(`${fake.url}/v1/messages`, { model: 'm', max_tokens: 1, ...userMsg('hi') }, { ...noKey, authorization: 'Bearer sk-ant-fake' });
    expect(bearer.status).toBe(200);
    const { 'anthropic-version': _v, ...noVersion } = ANT_HEADERS;
    const unversioned = await post(`${fake.url}/v1/messages`, { model: 'm', max_tokens: 1, ...userMsg('hi') }, noVersion);
    expect(unversioned.status).toBe(400);
    expect(at(await unversioned.json(), 'error', 'type')).toBe('invalid_request_error');
    // Rejected requests are recorded but do not consume scripted steps.
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests.map((r) => r.step)).toEqual([undefined, 'ok', undefined]);
  });

  it('answers non-streaming with the Messages shape and records the request', async () => {
    const fake = await track(startFakeAnthropic());
    const res = await ant(fake, userMsg('say hi please'));
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = await res.json();
    expect(body).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-test', stop_reason: 'end_turn', stop_sequence: null });
    expect(at(body, 'id')).toMatch(/^msg_/);
    expect(at(body, 'content')).toEqual([{ type: 'text', text: ANTHROPIC_REPLY_TEXT }]);
    expect(at(body, 'usage')).toEqual({
      input_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: countWords(ANTHROPIC_REPLY_TEXT), service_tier: 'standard', inference_geo: 'not_available',
    });
    const rec = fake.requests[0]!;
    expect(rec).toMatchObject({ method: 'POST', path: '/v1/messages', json: { model: 'claude-test' } });
    expect(rec.headers['x-api-key']).toBe('sk-ant-fake');
    expect(JSON.parse(rec.body)).toEqual(rec.json);
  });

  it('streams event:/data: frames in the real order (and accepts ?beta=true)', async () => {
    const fake = await track(startFakeAnthropic());
    const res = await ant(fake, { ...userMsg('hi there'), stream: true }, '/v1/messages?beta=true');
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual([
      'message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_delta',
      'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const data = dataJson(events);
    data.forEach((d, i) => expect(at(d, 'type')).toBe(events[i]!.event));
    expect(at(data, 0, 'message', 'usage')).toMatchObject({ input_tokens: 2, output_tokens: 1, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 } });
    expect(data.filter((d) => at(d, 'type') === 'content_block_delta').map((d) => str(at(d, 'delta', 'text'))).join('')).toBe(ANTHROPIC_REPLY_TEXT);
    expect(data[8]).toEqual({
      type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: countWords(ANTHROPIC_REPLY_TEXT) },
    });
    expect(fake.requests[0]!.path).toBe('/v1/messages?beta=true');
  });

  it('simulates prompt caching: write, read, 1h ttl, look-back, top-level cache_control, reset', async () => {
    const fake = await track(startFakeAnthropic());
    const sys = words(40, 's');
    const tool = { name: 'Bash', description: 'run a shell command', input_schema: { type: 'object' } };
    const body = { tools: [tool], system: [{ type: 'text', text: sys, cache_control: { type: 'ephemeral' } }], ...userMsg('what is up') };
    const prefix = countWords(JSON.stringify(tool)) + countWords(sys);
    const usage = async (b: Record<string, unknown>): Promise<unknown> => at(await (await ant(fake, b)).json(), 'usage');

    expect(await usage(body)).toMatchObject({ input_tokens: 3, cache_creation_input_tokens: prefix, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: prefix, ephemeral_1h_input_tokens: 0 } });
    expect(await usage(body)).toMatchObject({ input_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: prefix });

    // Turn 2: breakpoint moves to the last user block; the earlier system breakpoint is read, the rest written (1h).
    const turn2 = [
      { type: 'text', text: 'what is up' }, { type: 'text', text: 'and more words here', cache_control: { type: 'ephemeral', ttl: '1h' } },
    ];
    expect(await usage({ ...body, messages: [{ role: 'user', content: turn2 }] })).toMatchObject({
      input_tokens: 1, cache_read_input_tokens: prefix, cache_creation_input_tokens: 7,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 7 },
    });

    // Top-level cache_control caches everything up to the last block.
    const auto = { system: 'short system prompt', cache_control: { type: 'ephemeral' }, ...userMsg('one two') };
    expect(await usage(auto)).toMatchObject({ input_tokens: 1, cache_creation_input_tokens: 5 });
    fake.resetCache();
    expect(await usage(body)).toMatchObject({ cache_creation_input_tokens: prefix, cache_read_input_tokens: 0 });

    const streamed = await ant(fake, { ...body, stream: true });
    const start = dataJson(parseSse(await streamed.text()))[0];
    expect(at(start, 'message', 'usage')).toMatchObject({ cache_read_input_tokens: prefix, input_tokens: 3 });
  });

  it('counts tokens on /v1/messages/count_tokens without consuming a step', async () => {
    const fake = await track(startFakeAnthropic());
    fake.script([{ status: 500 }]);
    const res = await ant(fake, { system: 'be brief', ...userMsg('count these four') }, '/v1/messages/count_tokens?beta=true');
    expect(await res.json()).toEqual({ input_tokens: 5 });
    expect((await ant(fake, userMsg('x'))).status).toBe(500);
  });

  it('runs scripted steps: 429 + retry-after, overloaded-in-stream, cut-after, reset, tool, delay', async () => {
    const fake = await track(startFakeAnthropic());
    fake.script([{ status: 429, retryAfter: 3 }, { kind: 'overloaded-in-stream' }, { kind: 'cut-after', events: 2 }, { kind: 'reset' }]);
    fake.script([{ kind: 'tool', name: 'Bash', input: { command: 'echo hi' } }, { kind: 'delay', ms: 60 }]);
    const limited = await ant(fake, userMsg('x'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(at(await limited.json(), 'error', 'type')).toBe('rate_limit_error');

    const overloaded = await ant(fake, { ...userMsg('x'), stream: true });
    expect(overloaded.status).toBe(200);
    expect(parseSse(await overloaded.text())).toEqual([{ event: 'error', data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' }]);

    const cut = await readAll(await ant(fake, { ...userMsg('x'), stream: true }));
    expect(cut.error).toBeDefined();
    expect(parseSse(cut.text).map((e) => e.event)).toEqual(['message_start', 'content_block_start']);

    await expect(ant(fake, userMsg('x'))).rejects.toThrow();

    const toolRes = dataJson(parseSse(await (await ant(fake, { ...userMsg('x'), stream: true })).text()));
    expect(at(toolRes, 1, 'content_block')).toMatchObject({ type: 'tool_use', name: 'Bash', input: {} });
    const pieces = toolRes.filter((d) => at(d, 'type') === 'content_block_delta').map((d) => at(d, 'delta'));
    expect(pieces).toHaveLength(3);
    expect(pieces.every((p) => at(p, 'type') === 'input_json_delta')).toBe(true);
    expect(JSON.parse(pieces.map((p) => str(at(p, 'partial_json'))).join(''))).toEqual({ command: 'echo hi' });
    expect(at(toolRes.find((d) => at(d, 'type') === 'message_delta'), 'delta', 'stop_reason')).toBe('tool_use');

    const t0 = Date.now();
    expect((await ant(fake, userMsg('x'))).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    expect(fake.requests.map((r) => (typeof r.step === 'object' ? ('kind' in r.step ? r.step.kind : r.step.status) : r.step)))
      .toEqual([429, 'overloaded-in-stream', 'cut-after', 'reset', 'tool', 'delay']);
  });

  it('stalls until the client gives up, and records the abort', async () => {
    const fake = await track(startFakeAnthropic());
    fake.script([{ kind: 'stall' }]);
    const controller = new AbortController();
    const res = await post(`${fake.url}/v1/messages`, { model: 'm', max_tokens: 1, stream: true, ...userMsg('x') }, ANT_HEADERS, controller.signal);
    expect(res.status).toBe(200);
    controller.abort();
    await until(() => fake.requests[0]!.aborted);
  });

  it('replays captured fixtures verbatim', async () => {
    const fake = await track(startFakeAnthropic(fixtureReplayAnthropic('anthropic-text.json', 'anthropic-text.chunks.txt')));
    const json = await (await ant(fake, userMsg('x'))).text();
    expect(json).toBe(await readFile(new URL('../fixtures/providers/anthropic/anthropic-text.json', import.meta.url), 'utf8'));
    const events = parseSse(await (await ant(fake, { ...userMsg('x'), stream: true })).text());
    const lines = (await readFile(new URL('../fixtures/providers/anthropic/anthropic-text.chunks.txt', import.meta.url), 'utf8')).split('\n').filter(Boolean);
    expect(events.map((e) => e.data)).toEqual(lines);
    expect(events[0]!.event).toBe('message_start');
  });
});

describe('fake OpenAI', () => {
  it('rejects a wrong key with the real error body', async () => {
    const fake = await track(startFakeOpenAI());
    const bad = await post(`${fake.url}/v1/chat/completions`, { model: 'm', ...userMsg('hi') }, { ...OAI_HEADERS, authorization: 'Bearer sk-wrong-key-123456' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({
      error: {
        message: 'Incorrect API key provided: sk-************3456. You can find your API key at https://platform.openai.com/account/api-keys.',
        type: 'invalid_request_error', param: null, code: 'invalid_api_key',
      },
    });
    const missing = await post(`${fake.url}/v1/chat/completions`, { model: 'm', ...userMsg('hi') }, { 'content-type': 'application/json' });
    expect(missing.status).toBe(401);
  });

  it('answers non-streaming with the chat.completion shape, n choices', async () => {
    const fake = await track(startFakeOpenAI());
    const res = await oai(fake, { ...userMsg('hello there you'), n: 2 });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const body = await res.json();
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-test', service_tier: 'default', system_fingerprint: 'fp_fake0001' });
    expect(at(body, 'id')).toMatch(/^chatcmpl-/);
    expect(at(body, 'choices')).toHaveLength(2);
    expect(at(body, 'choices', 1)).toEqual({ index: 1, message: { role: 'assistant', content: OPENAI_REPLY_TEXT, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' });
    const completion = 2 * countWords(OPENAI_REPLY_TEXT);
    expect(at(body, 'usage')).toEqual({
      prompt_tokens: 3, completion_tokens: completion, total_tokens: 3 + completion,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
  });

  it('streams chunks; usage chunk only when include_usage is requested', async () => {
    const fake = await track(startFakeOpenAI());
    const plain = await oai(fake, { ...userMsg('hi'), stream: true });
    expect(plain.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const plainEvents = parseSse(await plain.text());
    expect(plainEvents.at(-1)!.data).toBe('[DONE]');
    const chunks = dataJson(plainEvents);
    for (const c of chunks) expect(c).toMatchObject({ object: 'chat.completion.chunk', choices: [{ index: 0 }] });
    expect(chunks.some((c) => at(c, 'usage') !== undefined)).toBe(false);
    expect(at(chunks, 0, 'choices', 0)).toEqual({ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null });
    expect(chunks.map((c) => str(at(c, 'choices', 0, 'delta', 'content') ?? '')).join('')).toBe(OPENAI_REPLY_TEXT);
    expect(at(chunks.at(-1), 'choices', 0, 'finish_reason')).toBe('stop');

    const withUsage = dataJson(parseSse(await (await oai(fake, { ...userMsg('hi'), stream: true, stream_options: { include_usage: true } })).text()));
    expect(withUsage.slice(0, -1).every((c) => at(c, 'usage') === null)).toBe(true);
    const last = withUsage.at(-1);
    expect(at(last, 'choices')).toEqual([]);
    expect(at(last, 'usage')).toMatchObject({ prompt_tokens: 1, completion_tokens: countWords(OPENAI_REPLY_TEXT), prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } });
  });

  it('can attach usage to the finish chunk (usageChunkWithChoices)', async () => {
    const fake = await track(startFakeOpenAI({ usageChunkWithChoices: true }));
    const chunks = dataJson(parseSse(await (await oai(fake, { ...userMsg('hi'), stream: true })).text()));
    const last = chunks.at(-1);
    expect(at(last, 'choices', 0, 'finish_reason')).toBe('stop');
    expect(at(last, 'usage', 'completion_tokens')).toBe(countWords(OPENAI_REPLY_TEXT));
    expect(chunks.filter((c) => at(c, 'usage') !== undefined)).toHaveLength(1);
  });

  it('simulates automatic prompt caching for prefixes of >= 1024 words', async () => {
    const fake = await track(startFakeOpenAI());
    const long = words(1100, 'w');
    const messages = [{ role: 'system', content: long }, { role: 'user', content: 'short question here' }];
    const usage = async (m: unknown[]): Promise<unknown> => at(await (await oai(fake, { messages: m })).json(), 'usage');
    const prompt = countWords(long) + 3;
    expect(await usage(messages)).toMatchObject({ prompt_tokens: prompt, prompt_tokens_details: { cached_tokens: 0 } });
    expect(await usage(messages)).toMatchObject({ prompt_tokens: prompt, prompt_tokens_details: { cached_tokens: countWords(long) } });
    const small = [{ role: 'system', content: words(1000, 'v') }, { role: 'user', content: 'q' }];
    await usage(small);
    expect(at(await usage(small), 'prompt_tokens_details', 'cached_tokens')).toBe(0);
    fake.resetCache();
    expect(at(await usage(messages), 'prompt_tokens_details', 'cached_tokens')).toBe(0);
  });

  it('runs scripted steps: 429 + retry-after, tool call stream, cut-after, reset, overloaded-in-stream', async () => {
    const fake = await track(startFakeOpenAI());
    fake.script([
      { status: 429, retryAfter: 2 }, { kind: 'tool', name: 'get_capital', input: { country: 'UK' } },
      { kind: 'cut-after', events: 3 }, { kind: 'reset' }, { kind: 'overloaded-in-stream' },
    ]);
    const limited = await oai(fake, userMsg('x'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(at(await limited.json(), 'error', 'code')).toBe('rate_limit_exceeded');

    const tool = dataJson(parseSse(await (await oai(fake, { ...userMsg('x'), stream: true })).text()));
    expect(at(tool, 0, 'choices', 0, 'delta', 'tool_calls', 0)).toMatchObject({ index: 0, type: 'function', function: { name: 'get_capital', arguments: '' } });
    const args = tool.slice(1, -1).map((c) => str(at(c, 'choices', 0, 'delta', 'tool_calls', 0, 'function', 'arguments')));
    expect(args).toHaveLength(3);
    expect(JSON.parse(args.join(''))).toEqual({ country: 'UK' });
    expect(at(tool.at(-1), 'choices', 0, 'finish_reason')).toBe('tool_calls');

    const cut = await readAll(await oai(fake, { ...userMsg('x'), stream: true }));
    expect(cut.error).toBeDefined();
    expect(parseSse(cut.text)).toHaveLength(3);

    await expect(oai(fake, { ...userMsg('x'), stream: true })).rejects.toThrow();

    const overloaded = dataJson(parseSse(await (await oai(fake, { ...userMsg('x'), stream: true })).text()));
    expect(overloaded).toEqual([{ error: { message: 'The server is overloaded, please try again later.', type: 'server_error', param: null, code: null } }]);
  });

  it('notices a client that disconnects mid-stream (eventDelayMs) and stops writing', async () => {
    const fake = await track(startFakeOpenAI({ eventDelayMs: 30 }));
    const controller = new AbortController();
    const res = await post(`${fake.url}/v1/chat/completions`, { model: 'm', stream: true, ...userMsg('x') }, OAI_HEADERS, controller.signal);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('chat.completion.chunk');
    controller.abort();
    await until(() => fake.requests[0]!.aborted);
  });

  it('replays captured fixtures verbatim, ending streams with [DONE]', async () => {
    const fake = await track(startFakeOpenAI(fixtureReplayOpenAI('openai-text.json', 'azure-model-router.1.chunks.txt')));
    const json = await (await oai(fake, userMsg('x'))).text();
    expect(json).toBe(await readFile(new URL('../fixtures/providers/openai/openai-text.json', import.meta.url), 'utf8'));
    const events = parseSse(await (await oai(fake, { ...userMsg('x'), stream: true })).text());
    const lines = (await readFile(new URL('../fixtures/providers/openai/azure-model-router.1.chunks.txt', import.meta.url), 'utf8')).split('\n').filter(Boolean);
    expect(events.map((e) => e.data)).toEqual([...lines, '[DONE]']);
  });
});
