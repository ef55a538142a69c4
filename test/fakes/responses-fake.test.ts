// Checks the fake OpenAI Responses upstream against the real captures in test/fixtures/providers/openai,
// over real HTTP, so e2e tests can trust its wire shapes and token arithmetic before blaming the gateway.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  OPENAI_RESPONSES_REPLY_TEXT, RESPONSES_REASONING_SUMMARY, startFakeOpenAIResponses, type OpenAIResponsesFakeOptions,
  type ResponsesFakeUpstream,
} from './openai-responses-upstream.js';
import { fixtureReplayOpenAI } from './openai-upstream.js';
import type { FakeUpstream } from './common.js';

const FIX = new URL('../fixtures/providers/openai/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIX), 'utf8');
/** A wire event or object: `type` is all the tests read directly, the rest goes through `at`. */
interface Ev { type: string; [key: string]: unknown }
/** Walks parsed JSON by keys/indices so assertions stay on `unknown` without casts. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let cur = value;
  for (const key of path) {
    if (typeof key === 'number') cur = Array.isArray(cur) ? (cur as unknown[])[key] : undefined;
    else cur = typeof cur === 'object' && cur !== null && !Array.isArray(cur) ? (cur as Record<string, unknown>)[key] : undefined;
  }
  return cur;
}
const arr = (value: unknown): unknown[] => {
  expect(Array.isArray(value)).toBe(true);
  return value as unknown[];
};
const str = (value: unknown): string => {
  expect(typeof value).toBe('string');
  return value as string;
};
const lines = (name: string): Ev[] => fixture(name).split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Ev);
/** Recorded streams in a chunks file, split at each response.created. */
function streams(name: string): Ev[][] {
  const out: Ev[][] = [];
  for (const e of lines(name)) (e.type === 'response.created' || out.length === 0 ? out[out.push([]) - 1] : out.at(-1))!.push(e);
  return out;
}
/** Event types with runs of the same delta type collapsed (delta counts differ by text). */
const shape = (events: Ev[]): string[] => events.map((e) => e.type).filter((t, i, a) => !(t.endsWith('.delta') && a[i - 1] === t));
const keys = (o: unknown): string[] => Object.keys(o as object);

const open: FakeUpstream[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});
async function start(opts: OpenAIResponsesFakeOptions = {}): Promise<ResponsesFakeUpstream> {
  const fake = await startFakeOpenAIResponses(opts);
  open.push(fake);
  return fake;
}
const AUTH = { authorization: 'Bearer sk-openai-fake', 'content-type': 'application/json' };
const call = (fake: FakeUpstream, path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(fake.url + path, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string> | undefined) } });
const create = (fake: FakeUpstream, body: Record<string, unknown>): Promise<Response> =>
  call(fake, '/v1/responses', { method: 'POST', body: JSON.stringify({ model: 'gpt-test', ...body }) });
async function json(fake: FakeUpstream, body: Record<string, unknown>): Promise<Ev> {
  const res = await create(fake, body);
  expect(res.status).toBe(200);
  return (await res.json()) as Ev;
}
interface Frame { event: string | undefined; data: Ev }
async function sse(fake: FakeUpstream, body: Record<string, unknown>): Promise<{ raw: string; frames: Frame[] }> {
  const res = await create(fake, { ...body, stream: true });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const raw = await res.text();
  const frames = raw.split('\n\n').filter((f) => f !== '').map((f) => {
    const [ev, data, ...rest] = f.split('\n');
    expect(rest).toEqual([]);
    return { event: ev?.startsWith('event: ') ? ev.slice(7) : undefined, data: JSON.parse(data!.replace(/^data: /, '')) as Ev };
  });
  return { raw, frames };
}
const cached = (res: unknown): unknown => at(res, 'usage', 'input_tokens_details', 'cached_tokens');
const words = (n: number, tag = 'w'): string => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

// The last recorded stream of the reasoning capture is a plain text answer; its first is reasoning + tool call.
const TEXT_CAPTURE = streams('openai-reasoning-encrypted-content.1.chunks.txt').at(-1)!;
const TOOL_CAPTURE = streams('openai-reasoning-encrypted-content.1.chunks.txt')[0]!;
const COMPLETED = TEXT_CAPTURE.at(-1)!.response as Ev;

describe('fake OpenAI Responses: wire shape against the captures', () => {
  it('streams a text answer with the captured event sequence, event lines, sequence numbers and keys, without [DONE]', async () => {
    const fake = await start();
    const { raw, frames } = await sse(fake, { input: 'hi' });
    expect(shape(frames.map((f) => f.data))).toEqual(shape(TEXT_CAPTURE));
    // phase.1 is an older capture with two messages; its first message has the same sequence.
    expect(shape(frames.map((f) => f.data))).toEqual(shape(lines('openai-phase.1.chunks.txt')).slice(0, 8).concat('response.completed'));
    frames.forEach((f, i) => {
      expect(f.event).toBe(f.data.type);
      expect(f.data.sequence_number).toBe(i);
      const captured = TEXT_CAPTURE.find((e) => e.type === f.data.type)!;
      expect(keys(f.data)).toEqual(keys(captured));
    });
    expect(raw).not.toContain('[DONE]');
    const deltas = frames.filter((f) => f.event === 'response.output_text.delta').map((f) => f.data.delta as string);
    expect(deltas).toEqual(['Hello', ' from', ' fake', ' responses.']);
    const done = frames.at(-1)!.data.response as Ev;
    expect(keys(done)).toEqual(keys(COMPLETED));
    expect(at(done, 'output', 0, 'content', 0, 'text')).toBe(OPENAI_RESPONSES_REPLY_TEXT);
    expect(keys(at(done, 'output', 0))).toEqual(keys(at(COMPLETED, 'output', 0)));
    expect(at(frames[0]!.data, 'response', 'service_tier')).toBe('auto');
    expect(done.service_tier).toBe('default');
  });

  it('the raw SSE framing matches the yaml capture (event/data pairs, blank-line separated, no [DONE])', async () => {
    const body = parseYaml(fixture('test_openai_responses_streaming_usage.yaml')).interactions[0].response.body.string as string;
    expect(body).not.toContain('[DONE]');
    expect(body).toMatch(/^event: response\.created\ndata: \{"type":"response\.created","sequence_number":0,/);
    const fake = await start();
    const { raw } = await sse(fake, { input: 'hi' });
    const frameRe = /^(event: ([a-z_.]+)\ndata: \{"type":"\2","sequence_number":\d+,[^\n]*\}\n\n)+$/;
    expect(body).toMatch(frameRe);
    expect(raw).toMatch(frameRe);
  });

  it('non-streaming: the response object has the captured keys, the phase.1 keys and the same usage shape', async () => {
    const fake = await start();
    const res = await json(fake, { input: 'hi', instructions: 'Be brief.', tools: [{ type: 'function', name: 'f', parameters: {} }], store: false, temperature: 0.5 });
    expect(keys(res)).toEqual(keys(COMPLETED));
    const phase = JSON.parse(fixture('openai-phase.1.json')) as Ev;
    for (const k of keys(phase)) expect(res).toHaveProperty(k);
    expect(keys(res.usage)).toEqual(keys(phase.usage));
    expect(keys(at(res, 'usage', 'input_tokens_details'))).toEqual(['cached_tokens']);
    expect(keys(at(res, 'usage', 'output_tokens_details'))).toEqual(['reasoning_tokens']);
    expect(res).toMatchObject({ object: 'response', status: 'completed', model: 'gpt-test', instructions: 'Be brief.', store: false, temperature: 0.5 });
    expect(res.id).toMatch(/^resp_/);
    expect(at(res, 'output', 0, 'id')).toMatch(/^msg_/);
    // Echoed tools take the captured form: type first, description null, strict defaulted.
    expect(res.tools).toEqual([{ type: 'function', description: null, name: 'f', parameters: {}, strict: true }]);
    expect(keys(at(res, 'tools', 0))).toEqual(keys(at(COMPLETED, 'tools', 0)));
  });
});

describe('fake OpenAI Responses: tokens', () => {
  it('counts instructions and every input item kind', async () => {
    const fake = await start();
    const res = await json(fake, {
      instructions: 'Be brief and kind.', // 4
      input: [
        { role: 'user', content: 'what is two plus two' }, // 5
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'answer now' }, { type: 'input_image', image_url: 'data:x' }] }, // 2
        { type: 'function_call', call_id: 'c1', name: 'add', arguments: '{"a": 2, "b": 2}' }, // "add" + 4 = 5
        { type: 'function_call_output', call_id: 'c1', output: 'four' }, // 1
        { type: 'reasoning', id: 'rs_x', summary: [] }, // 0
      ],
    });
    expect(res.usage).toEqual({
      input_tokens: 17, input_tokens_details: { cached_tokens: 0 },
      output_tokens: 4, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 21,
    });
    const empty = await json(fake, { input: '' });
    expect(at(empty, 'usage', 'input_tokens')).toBe(1);
  });

  it('prefix cache: every item but the last, >= 1024 words, same model; keyed by prompt_cache_key too', async () => {
    const fake = await start();
    const input = [{ role: 'user', content: words(1100) }, { role: 'user', content: 'go on' }];
    const first = await json(fake, { input, instructions: 'sys prompt' });
    expect(at(first, 'usage', 'input_tokens')).toBe(1104);
    expect(cached(first)).toBe(0);
    const second = await json(fake, { input: [...input.slice(0, 1), { role: 'user', content: 'different tail' }], instructions: 'sys prompt' });
    expect(cached(second)).toBe(1102);
    expect(cached(await json(fake, { input, model: 'other', instructions: 'sys prompt' }))).toBe(0);
    expect(cached(await json(fake, { input, prompt_cache_key: 'k1', instructions: 'sys prompt' }))).toBe(0);
    expect(cached(await json(fake, { input, prompt_cache_key: 'k1', instructions: 'sys prompt' }))).toBe(1102);
    fake.resetCache();
    expect(cached(await json(fake, { input, instructions: 'sys prompt' }))).toBe(0);
    const short = [{ role: 'user', content: words(1000) }, { role: 'user', content: 'go on' }];
    await json(fake, { input: short });
    expect(cached(await json(fake, { input: short }))).toBe(0);
  });

  it('explicit breakpoint within one message, as in the prompt-cache capture (cache_write_tokens then cached_tokens)', async () => {
    const capture = parseYaml(fixture('test_openai_responses_prompt_cache_e2e.yaml')).interactions as Ev[];
    const [w, r] = capture.map((i) => at(i, 'response', 'parsed_body', 'usage', 'input_tokens_details'));
    expect(w).toEqual({ cache_write_tokens: 4012, cached_tokens: 0 });
    expect(r).toEqual({ cache_write_tokens: 0, cached_tokens: 4012 });
    const fake = await start();
    const body = {
      prompt_cache_key: 'e2e', prompt_cache_options: { mode: 'explicit', ttl: '30m' },
      input: [{ role: 'user', content: [
        { type: 'input_text', text: words(1200), prompt_cache_breakpoint: { mode: 'explicit' } },
        { type: 'input_text', text: 'Reply with exactly: OK' },
      ] }],
    };
    const a = await json(fake, body);
    const b = await json(fake, body);
    expect(at(a, 'usage', 'input_tokens')).toBe(1204);
    expect(at(a, 'usage', 'input_tokens_details')).toEqual({ cache_write_tokens: 1200, cached_tokens: 0 });
    expect(at(b, 'usage', 'input_tokens_details')).toEqual({ cache_write_tokens: 0, cached_tokens: 1200 });
    expect(b.prompt_cache_options).toEqual({ mode: 'explicit', ttl: '30m' });
  });
});

describe('fake OpenAI Responses: reasoning and tools', () => {
  it('tool step after reasoning streams the captured sequence (summary deltas, encrypted_content, function_call_arguments)', async () => {
    const fake = await start({ reasoning: { tokens: 7 } });
    fake.script([{ kind: 'tool', name: 'calculator', input: { a: 12, b: 7, op: 'add' } }]);
    const { frames } = await sse(fake, { input: 'calc', include: ['reasoning.encrypted_content'], reasoning: { effort: 'high', summary: 'detailed' } });
    const events = frames.map((f) => f.data);
    expect(shape(events)).toEqual(shape(TOOL_CAPTURE));
    for (const e of events) expect(keys(e)).toEqual(keys(TOOL_CAPTURE.find((c) => c.type === e.type)));
    const items = events.filter((e) => e.type === 'response.output_item.done').map((e) => e.item as Ev);
    expect(keys(items[0])).toEqual(keys(TOOL_CAPTURE.find((c) => c.type === 'response.output_item.done')!.item));
    expect(items[0]!.summary).toEqual([{ type: 'summary_text', text: RESPONSES_REASONING_SUMMARY }]);
    expect(items[1]).toMatchObject({ type: 'function_call', status: 'completed', name: 'calculator', arguments: '{"a":12,"b":7,"op":"add"}' });
    expect(items[1]!.id).toMatch(/^fc_/);
    expect(items[1]!.call_id).toMatch(/^call_/);
    const args = events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta as string);
    expect(args.length).toBeGreaterThan(1);
    expect(args.join('')).toBe(items[1]!.arguments);
    // output = "calculator" + 1 word of JSON, plus 7 reasoning tokens; input "calc" = 1.
    expect(at(events.at(-1), 'response', 'usage')).toEqual({
      input_tokens: 1, input_tokens_details: { cached_tokens: 0 },
      output_tokens: 9, output_tokens_details: { reasoning_tokens: 7 }, total_tokens: 10,
    });
    expect(at(events.at(-1), 'response', 'reasoning')).toEqual({ effort: 'high', summary: 'detailed' });
  });

  it('without a summary request there are no summary events (yaml capture), without include no encrypted_content', async () => {
    const capture = parseYaml(fixture('test_openai_responses_streaming_usage.yaml')).interactions[0].response.body.string as string;
    const captured = capture.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as Ev);
    const fake = await start({ reasoning: { tokens: 448 } });
    fake.script([{ kind: 'tool', name: 'final_result', input: { result: 6666 } }, 'ok']);
    const { frames } = await sse(fake, { input: 'Calculate 100 * 200 / 3', include: ['reasoning.encrypted_content'], reasoning: { effort: 'low', summary: null } });
    expect(shape(frames.map((f) => f.data))).toEqual(shape(captured));
    const plain = await json(fake, { input: 'x' });
    expect(at(plain, 'output', 0)).toEqual({ id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: [] });
    expect(at(plain, 'usage', 'output_tokens')).toBe(4 + 448);
    expect(plain.reasoning).toEqual({ effort: 'medium', summary: null });
  });

  it('non-streaming tool step: one function_call item with the captured keys', async () => {
    const fake = await start();
    fake.script([{ kind: 'tool', name: 'lookup', input: { q: 'two words' } }]);
    const res = await json(fake, { input: 'find it' });
    const capturedItem = at(TOOL_CAPTURE.at(-1), 'response', 'output', 1);
    expect(res.output).toHaveLength(1);
    expect(keys(at(res, 'output', 0))).toEqual(keys(capturedItem));
    expect(at(res, 'usage', 'output_tokens')).toBe(3); // 'lookup {"q":"two words"}'
  });
});

describe('fake OpenAI Responses: stored responses', () => {
  it('GET, input_items (desc by default), DELETE, then 404', async () => {
    const fake = await start();
    const res = await json(fake, { input: [{ role: 'user', content: 'one' }, { role: 'user', content: 'two' }] });
    const id = str(res.id);
    expect(await (await call(fake, `/v1/responses/${id}`)).json()).toEqual(res);
    const list = (await (await call(fake, `/v1/responses/${id}/input_items`)).json()) as Ev;
    expect(list).toMatchObject({ object: 'list', has_more: false });
    expect(arr(list.data).map((i) => at(i, 'content', 0, 'text'))).toEqual(['two', 'one']);
    expect(list.first_id).toBe(at(list, 'data', 0, 'id'));
    expect(list.last_id).toBe(at(list, 'data', 1, 'id'));
    const asc = (await (await call(fake, `/v1/responses/${id}/input_items?order=asc`)).json()) as Ev;
    expect(at(asc, 'data', 0)).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'one' }], status: 'completed' });
    const del = await call(fake, `/v1/responses/${id}`, { method: 'DELETE' });
    expect(await del.json()).toEqual({ id, object: 'response', deleted: true });
    const gone = await call(fake, `/v1/responses/${id}`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as Ev).error).toMatchObject({ type: 'invalid_request_error', message: `Response with id '${id}' not found.` });
  });

  it('store:false is not kept; previous_response_id chains context into input_tokens or answers 400', async () => {
    const fake = await start();
    const unstored = await json(fake, { input: 'a b c', store: false });
    const unstoredId = str(unstored.id);
    expect((await call(fake, `/v1/responses/${unstoredId}`)).status).toBe(404);
    const bad = await create(fake, { input: 'x', previous_response_id: unstored.id });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: {
      message: `Previous response with id '${unstoredId}' not found.`, type: 'invalid_request_error',
      param: 'previous_response_id', code: 'previous_response_not_found',
    } });
    const first = await json(fake, { input: 'a b c', instructions: 'not carried over' });
    const second = await json(fake, { input: 'd e', previous_response_id: first.id });
    expect(at(second, 'usage', 'input_tokens')).toBe(3 + 4 + 2); // earlier input + earlier answer + new input
    expect(second.previous_response_id).toBe(first.id);
    const third = await json(fake, { input: 'f', previous_response_id: second.id });
    expect(at(third, 'usage', 'input_tokens')).toBe(9 + 4 + 1);
  });

  it('compact answers a response.compaction with user messages then one compaction item', async () => {
    const fake = await start();
    const res = await call(fake, '/v1/responses/compact', { method: 'POST', body: JSON.stringify({ model: 'gpt-test', input: [{ role: 'user', content: 'keep me' }, { role: 'assistant', content: 'drop me' }] }) });
    const body = (await res.json()) as Ev;
    expect(body.object).toBe('response.compaction');
    expect(arr(body.output).map((i) => at(i, 'type'))).toEqual(['message', 'compaction']);
    expect(at(body, 'output', 1, 'encrypted_content')).toEqual(expect.any(String));
    expect(body.usage).toMatchObject({ input_tokens: 4, output_tokens: 5, total_tokens: 9 });
  });
});

describe('fake OpenAI Responses: replay', () => {
  it('replays chunks byte-for-byte as event/data frames, and json verbatim', async () => {
    const fake = await start(fixtureReplayOpenAI('openai-phase.1.chunks.txt', 'openai-phase.1.json'));
    const expected = fixture('openai-phase.1.chunks.txt').split('\n').filter((l) => l.trim() !== '')
      .map((l) => `event: ${(JSON.parse(l) as Ev).type}\ndata: ${l}\n\n`).join('');
    expect((await sse(fake, { input: 'x' })).raw).toBe(expected);
    const res = await create(fake, { input: 'x' });
    expect(await res.text()).toBe(fixture('openai-phase.1.json'));
  });

  it('a multi-stream capture is replayed one recorded stream per request', async () => {
    const fake = await start(fixtureReplayOpenAI('openai-reasoning-encrypted-content.1.chunks.txt'));
    const recorded = streams('openai-reasoning-encrypted-content.1.chunks.txt');
    for (const rec of recorded) expect((await sse(fake, { input: 'x' })).frames.map((f) => f.data)).toEqual(rec);
    expect((await sse(fake, { input: 'x' })).frames.map((f) => f.data)).toEqual(recorded[0]);
  });
});

describe('fake OpenAI Responses: errors and faults', () => {
  it('error-in-stream matches openai-error.1.chunks.txt: error then response.failed, same keys', async () => {
    const captured = lines('openai-error.1.chunks.txt');
    const fake = await start();
    fake.script([{ kind: 'error-in-stream', code: 'insufficient_quota', message: 'quota' }, { kind: 'overloaded-in-stream' }]);
    const { frames } = await sse(fake, { input: 'x' });
    const events = frames.map((f) => f.data);
    expect(events.map((e) => e.type)).toEqual(captured.map((e) => e.type));
    events.forEach((e, i) => expect(keys(e).sort()).toEqual(keys(captured[i]).sort()));
    expect(events[2]!.error).toEqual({ type: 'insufficient_quota', code: 'insufficient_quota', message: 'quota', param: null });
    expect(events[3]!.response).toMatchObject({ status: 'failed', error: { code: 'insufficient_quota', message: 'quota' }, usage: null });
    expect(keys(events[3]!.response).sort()).toEqual(keys(captured[3]!.response).sort());
    const overloaded = (await sse(fake, { input: 'x' })).frames.map((f) => f.data);
    expect(at(overloaded[2], 'error', 'code')).toBe('server_error');
  });

  it('status steps use the OpenAI envelope; non-streaming error-in-stream is an HTTP error', async () => {
    const fake = await start();
    fake.script([{ status: 429, retryAfter: 2 }, { kind: 'error-in-stream', code: 'insufficient_quota' }]);
    const limited = await create(fake, { input: 'x' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(((await limited.json()) as Ev).error).toMatchObject({ code: 'rate_limit_exceeded', param: null });
    const quota = await create(fake, { input: 'x' });
    expect(quota.status).toBe(429);
    expect(at(await quota.json(), 'error', 'code')).toBe('insufficient_quota');
  });

  it('cut-after delivers exactly N frames then drops the connection', async () => {
    const fake = await start();
    fake.script([{ kind: 'cut-after', events: 3 }]);
    const res = await create(fake, { input: 'x', stream: true });
    const reader = res.body!.getReader();
    let text = '';
    await expect((async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString('utf8');
      }
    })()).rejects.toThrow();
    expect(text.split('\n\n').filter((f) => f !== '')).toHaveLength(3);
  });

  it('auth, validation and unknown routes', async () => {
    const fake = await start();
    const noKey = await fetch(`${fake.url}/v1/responses`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);
    const wrong = await call(fake, '/v1/responses', { method: 'POST', body: '{}', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(at(await wrong.json(), 'error', 'code')).toBe('invalid_api_key');
    const noModel = await call(fake, '/v1/responses', { method: 'POST', body: JSON.stringify({ input: 'x' }) });
    expect(noModel.status).toBe(400);
    expect(((await noModel.json()) as Ev).error).toMatchObject({ param: 'model', code: 'missing_required_parameter' });
    const noInput = await create(fake, {});
    expect(noInput.status).toBe(400);
    expect(((await noInput.json()) as Ev).error).toMatchObject({ param: 'input', code: 'missing_required_parameter' });
    expect((await call(fake, '/v1/chat/completions', { method: 'POST', body: '{}' })).status).toBe(404);
    // Rejected requests consume no step.
    fake.script([{ status: 500 }]);
    expect((await create(fake, { input: 'x' })).status).toBe(500);
    expect(fake.requests.filter((r) => r.step !== undefined)).toHaveLength(1);
  });
});
