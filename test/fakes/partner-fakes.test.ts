// The Cohere, legacy-completions and Vertex Model Garden fakes over real HTTP: their wire shapes,
// token arithmetic and what they refuse, so the e2e tests can trust them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COHERE_FAKE_KEY, COHERE_PREAMBLE_TOKENS, COHERE_REPLY_TEXT, startFakeCohere } from './cohere-upstream.js';
import { COMPLETIONS_REPLY_TEXT, startFakeOpenAICompletions } from './openai-completions-upstream.js';
import { countWords, OPENAI_FAKE_KEY, type FakeUpstream } from './index.js';
import { MAAS_REPLY_TEXT } from './vertex-maas.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from './vertex-upstream.js';
import { loadVertexCredentials } from '../../src/providers/vertex/auth.js';

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}
const dataOf = (text: string): Record<string, unknown>[] =>
  text.split('\n\n').flatMap((f) => f.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6))).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Record<string, unknown>);

describe('fake Cohere v2', () => {
  let cohere: FakeUpstream;
  beforeAll(async () => {
    cohere = await startFakeCohere();
  });
  afterAll(() => cohere.close());
  const auth = { authorization: `bearer ${COHERE_FAKE_KEY}` };

  it('JSON: tokens include the preamble, billed_units do not', async () => {
    const res = await post(`${cohere.url}/v2/chat`, { model: 'command-r', messages: [{ role: 'user', content: 'one two three' }] }, auth);
    const body = JSON.parse(res.text) as { message: { content: { text: string }[] }; finish_reason: string; usage: unknown };
    expect(body.message.content[0]?.text).toBe(COHERE_REPLY_TEXT);
    expect(body.finish_reason).toBe('COMPLETE');
    const out = countWords(COHERE_REPLY_TEXT);
    expect(body.usage).toEqual({ billed_units: { input_tokens: 3, output_tokens: out }, tokens: { input_tokens: 3 + COHERE_PREAMBLE_TOKENS, output_tokens: out } });
  });

  it('SSE: named events ending in message-end with the usage', async () => {
    const res = await post(`${cohere.url}/v2/chat`, { model: 'command-r', stream: true, messages: [{ role: 'user', content: 'hi' }] }, auth);
    expect(res.type).toContain('text/event-stream');
    expect(res.text).toMatch(/^event: message-start\ndata: /);
    const events = dataOf(res.text);
    expect(events.map((e) => e.type)).toEqual(['message-start', 'content-start', ...Array<string>(countWords(COHERE_REPLY_TEXT)).fill('content-delta'), 'content-end', 'message-end']);
    expect(events.at(-1)).toMatchObject({ delta: { finish_reason: 'COMPLETE', usage: { tokens: { input_tokens: 1 + COHERE_PREAMBLE_TOKENS } } } });
  });

  it('refuses a wrong key, OpenAI-only fields and unknown roles', async () => {
    expect((await post(`${cohere.url}/v2/chat`, { model: 'm', messages: [{ role: 'user', content: 'x' }] }, { authorization: 'bearer nope' })).status).toBe(401);
    const extra = await post(`${cohere.url}/v2/chat`, { model: 'm', max_completion_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, auth);
    expect(extra.status).toBe(400);
    expect(extra.text).toContain('max_completion_tokens');
    expect((await post(`${cohere.url}/v2/chat`, { model: 'm', messages: [{ role: 'developer', content: 'x' }] }, auth)).status).toBe(400);
  });
});

describe('fake OpenAI /v1/completions', () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startFakeOpenAICompletions();
  });
  afterAll(() => fake.close());
  const auth = { authorization: `Bearer ${OPENAI_FAKE_KEY}` };

  it('JSON and SSE with include_usage (usage: null on chunks, choices: [] on the usage chunk)', async () => {
    const json = JSON.parse((await post(`${fake.url}/v1/completions`, { model: 'i', prompt: 'a b' }, auth)).text) as Record<string, unknown>;
    expect(json).toMatchObject({ object: 'text_completion', choices: [{ text: COMPLETIONS_REPLY_TEXT, finish_reason: 'stop' }], usage: { prompt_tokens: 2, completion_tokens: countWords(COMPLETIONS_REPLY_TEXT) } });
    const sse = dataOf((await post(`${fake.url}/v1/completions`, { model: 'i', prompt: 'a b', stream: true, stream_options: { include_usage: true } }, auth)).text);
    expect(sse.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(sse.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2 } });
  });

  it('refuses a chat body', async () => {
    expect((await post(`${fake.url}/v1/completions`, { model: 'i', messages: [] }, auth)).status).toBe(400);
  });
});

describe('fake Vertex Model Garden routes', () => {
  let vertex: VertexFake;
  let token: string;
  const base = `/v1/projects/${VERTEX_PROJECT}/locations/us-central1`;
  beforeAll(async () => {
    vertex = await startFakeVertex();
    // A token from the fake's own endpoint, by the JWT-bearer grant a service account uses.
    token = await (await loadVertexCredentials(vertex.credentials)).tokens.get();
  });
  afterAll(() => vertex.close());

  it('the OpenAI-compatible endpoint needs a bearer the fake issued', async () => {
    const body = { model: 'meta/llama-3.3-70b-instruct-maas', messages: [{ role: 'user', content: 'a b c' }] };
    expect((await post(`${vertex.url}${base}/endpoints/openapi/chat/completions`, body, { authorization: 'Bearer ya29.forged' })).status).toBe(401);
    const ok = await post(`${vertex.url}${base}/endpoints/openapi/chat/completions`, body, { authorization: `Bearer ${token}` });
    expect(JSON.parse(ok.text)).toMatchObject({ model: body.model, choices: [{ message: { content: MAAS_REPLY_TEXT } }], usage: { prompt_tokens: 3 } });
    const bare = await post(`${vertex.url}${base}/endpoints/openapi/chat/completions`, { ...body, model: 'llama' }, { authorization: `Bearer ${token}` });
    expect(bare.status).toBe(400);
  });

  it('Mistral rawPredict: model must match the URL, OpenAI-only fields are a 422, stream usage on the finish chunk', async () => {
    const url = `${vertex.url}${base}/publishers/mistralai/models/mistral-large-2411`;
    const body = { model: 'mistral-large-2411', messages: [{ role: 'user', content: 'x y' }] };
    const h = { authorization: `Bearer ${token}` };
    expect((await post(`${url}:rawPredict`, { ...body, model: 'other' }, h)).status).toBe(400);
    expect((await post(`${url}:rawPredict`, { ...body, stream_options: { include_usage: true } }, h)).status).toBe(422);
    expect((await post(`${url}:rawPredict`, { ...body, stream: true }, h)).status).toBe(400);
    const chunks = dataOf((await post(`${url}:streamRawPredict`, { ...body, stream: true }, h)).text);
    expect(chunks.at(-1)).toMatchObject({ choices: [{ finish_reason: 'stop' }], usage: { prompt_tokens: 2, completion_tokens: countWords(MAAS_REPLY_TEXT) } });
  });
});
