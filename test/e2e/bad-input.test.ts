/**
 * Issue 12's malformed requests, through the real server to a same-dialect deployment (the
 * passthrough path, where nothing used to look at the body): each is a 400 in the surface's
 * envelope naming the field, and the fake upstream receives nothing. The second half sets the
 * limits in general_settings and covers the other paths: translated, batch, completions, count_tokens.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { postJson, startE2E, type E2E } from './harness.js';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(() => e2e.close());

type SurfaceName = 'anthropic' | 'openai';
const PATH: Record<SurfaceName, string> = { anthropic: '/v1/messages', openai: '/v1/chat/completions' };
const MODEL: Record<SurfaceName, string> = { anthropic: 'claude-test', openai: 'gpt-test' };

const user = { role: 'user', content: 'hi' };
const deep = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;

interface Case {
  name: string;
  /** The body without `model`, as an object or as raw JSON text after `"model":…,`. */
  body: Record<string, unknown> | string;
  /** The field named, per surface: OpenAI paths use brackets, Anthropic's dots (as its own API). */
  param: Record<SurfaceName, string>;
  only?: SurfaceName;
}

const both = (p: string, a = p): Record<SurfaceName, string> => ({ openai: p, anthropic: a });

const CASES: Case[] = [
  { name: 'messages missing', body: { max_tokens: 16 }, param: both('messages') },
  { name: 'messages a string', body: { max_tokens: 16, messages: 'hi' }, param: both('messages') },
  { name: 'messages an object', body: { max_tokens: 16, messages: user }, param: both('messages') },
  { name: 'messages empty', body: { max_tokens: 16, messages: [] }, param: both('messages') },
  { name: 'messages [null]', body: { max_tokens: 16, messages: [null] }, param: both('messages[0]', 'messages.0') },
  { name: 'role missing', body: { max_tokens: 16, messages: [{ content: 'hi' }] }, param: both('messages[0].role', 'messages.0.role') },
  { name: 'content missing', body: { max_tokens: 16, messages: [{ role: 'user' }] }, param: both('messages[0].content', 'messages.0.content') },
  { name: 'content a number', body: { max_tokens: 16, messages: [user, { role: 'assistant', content: 'ok' }, { role: 'user', content: 42 }] }, param: both('messages[2].content', 'messages.2.content') },
  { name: 'max_tokens -1', body: { max_tokens: -1, messages: [user] }, param: both('max_tokens') },
  { name: 'max_tokens 1e12', body: { max_tokens: 1e12, messages: [user] }, param: both('max_tokens') },
  { name: 'max_tokens "ten"', body: { max_tokens: 'ten', messages: [user] }, param: both('max_tokens') },
  { name: 'max_tokens 1e400', body: '"max_tokens":1e400,"messages":[{"role":"user","content":"hi"}]', param: both('max_tokens') },
  { name: 'stream "yes"', body: { max_tokens: 16, stream: 'yes', messages: [user] }, param: both('stream') },
  { name: 'n "two"', body: { n: 'two', messages: [user] }, param: both('n'), only: 'openai' },
  { name: 'system 42', body: { max_tokens: 16, system: 42, messages: [user] }, param: both('system'), only: 'anthropic' },
  { name: 'tools a string', body: { max_tokens: 16, tools: 'search', messages: [user] }, param: both('tools') },
  { name: '10,000-deep arrays in metadata', body: `"max_tokens":16,"messages":[{"role":"user","content":"hi"}],"metadata":{"x":${deep(10_000)}}`, param: both('metadata.x[0][0]') },
  {
    name: '10,000-deep arrays in a message',
    body: `"max_tokens":16,"messages":[{"role":"user","content":[{"type":"text","text":"hi","x":${deep(10_000)}}]}]`,
    param: both('messages[0].content[0]'),
  },
];

interface Envelope {
  type?: string;
  error: { message: string; type: string; param?: string | null; code?: string | null };
}

function rawBody(surface: SurfaceName, body: Case['body']): string {
  const model = JSON.stringify(MODEL[surface]);
  if (typeof body === 'string') return `{"model":${model},${body}}`;
  return JSON.stringify({ model: MODEL[surface], ...body });
}

describe.each(['openai', 'anthropic'] as const)('%s surface, same-dialect deployment', (surface) => {
  beforeEach(() => {
    e2e.anthropic.requests.length = 0;
    e2e.openai.requests.length = 0;
  });

  it.each(CASES.filter((c) => c.only === undefined || c.only === surface).map((c) => [c.name, c] as const))('%s → 400 naming the field', async (_name, c) => {
    const res = await postJson(e2e.url, PATH[surface], rawBody(surface, c.body));
    const json = (await res.json()) as Envelope;
    expect(res.status, JSON.stringify(json)).toBe(400);
    const param = c.param[surface];
    if (surface === 'openai') {
      expect(json).not.toHaveProperty('type');
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.param).toBe(param);
      expect(json.error.code).toBe('400');
    } else {
      expect(json.type).toBe('error');
      expect(json.error.type).toBe('invalid_request_error');
    }
    expect(json.error.message).toContain(param);
    expect(e2e.anthropic.requests).toHaveLength(0);
    expect(e2e.openai.requests).toHaveLength(0);
  });

  it('a valid body still reaches the upstream (the checks can tell the two apart)', async () => {
    const res = await postJson(e2e.url, PATH[surface], rawBody(surface, { max_tokens: 16, messages: [user] }));
    expect(res.status).toBe(200);
    expect((surface === 'anthropic' ? e2e.anthropic : e2e.openai).requests).toHaveLength(1);
  });
});

describe('limits from general_settings, on every path', () => {
  let limited: E2E;
  beforeAll(async () => {
    limited = await startE2E({
      general: 'max_json_depth: 8, max_request_messages: 3, max_request_tools: 2',
      // Two deployments of one group with different output limits: the group's largest applies.
      extraModels: (f) => `
  - model_name: capped
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.openai}/v1", api_key: sk-openai-fake }
    model_info: { max_output_tokens: 100 }
  - model_name: capped
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.openai}/v1", api_key: sk-openai-fake }
    model_info: { max_output_tokens: 200 }`,
    });
  });
  afterAll(() => limited.close());
  beforeEach(() => {
    limited.anthropic.requests.length = 0;
    limited.openai.requests.length = 0;
  });

  async function rejected(path: string, body: string, param: string): Promise<Envelope> {
    const res = await postJson(limited.url, path, body);
    const json = (await res.json()) as Envelope;
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.message).toContain(param);
    expect(limited.anthropic.requests).toHaveLength(0);
    expect(limited.openai.requests).toHaveLength(0);
    return json;
  }

  // The body object is level 1 and `metadata` level 2, so `deep(6)` inside it reaches level 8.
  const nested = (levels: number): string => `{"model":"gpt-test","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"metadata":{"x":${deep(levels)}}}`;

  it('max_json_depth: 8 levels pass, 9 are a 400', async () => {
    const ok = await postJson(limited.url, '/v1/chat/completions', nested(6));
    expect(ok.status).toBe(200);
    limited.openai.requests.length = 0;
    const json = await rejected('/v1/chat/completions', nested(7), 'metadata.x[0][0]');
    expect(json.error.message).toContain('deeper than 8 levels');
  });

  it('the depth check covers count_tokens too', async () => {
    const body = `{"model":"claude-test","messages":[{"role":"user","content":"hi"}],"metadata":{"x":${deep(7)}}}`;
    await rejected('/v1/messages/count_tokens', body, 'metadata.x');
  });

  it('max_request_messages: 3 pass, 4 are a 400', async () => {
    const turns = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: 'hi' }));
    const ok = await postJson(limited.url, '/v1/chat/completions', JSON.stringify({ model: 'gpt-test', messages: turns(3) }));
    expect(ok.status).toBe(200);
    limited.openai.requests.length = 0;
    const json = await rejected('/v1/chat/completions', JSON.stringify({ model: 'gpt-test', messages: turns(4) }), 'messages');
    expect(json.error.message).toContain('max_request_messages');
  });

  it('max_request_tools: 3 tools are a 400 (translated: OpenAI surface, Anthropic deployment)', async () => {
    const tool = { type: 'function', function: { name: 'f', parameters: { type: 'object' } } };
    const json = await rejected('/v1/chat/completions', JSON.stringify({ model: 'claude-test', messages: [user], tools: [tool, tool, tool] }), 'tools');
    expect(json.error.message).toContain('max_request_tools');
  });

  it('translated the other way: Anthropic surface, OpenAI deployment', async () => {
    await rejected('/v1/messages', JSON.stringify({ model: 'gpt-test', max_tokens: 16, messages: [{ role: 'user' }] }), 'messages.0.content');
  });

  it("max_tokens is held to the group's largest max_output_tokens (200 passes, 201 is a 400)", async () => {
    const body = (max: number): string => JSON.stringify({ model: 'capped', max_tokens: max, messages: [user] });
    const ok = await postJson(limited.url, '/v1/chat/completions', body(200));
    expect(ok.status).toBe(200);
    limited.openai.requests.length = 0;
    const json = await rejected('/v1/chat/completions', body(201), 'max_tokens');
    expect(json.error.message).toContain('at most 200');
  });

  it('a batch ("model": "a,b") with a malformed body is one 400, not an answer per model', async () => {
    await rejected('/v1/chat/completions', JSON.stringify({ model: 'gpt-test,claude-test', messages: 'hi' }), 'messages');
  });

  it('/v1/completions checks its prompt', async () => {
    const json = await rejected('/v1/completions', JSON.stringify({ model: 'gpt-test', prompt: 42 }), 'prompt');
    expect(json.error.param).toBe('prompt');
  });
});

describe('header size', () => {
  /** One request written on a raw socket; resolves with what the server sent before closing. */
  function rawExchange(url: string, request: string): Promise<string> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.end(request));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });
  }

  it.each(Object.entries(PATH))('%s: headers over 16 KB are a 431 that closes the connection; nothing reaches the upstream', async (surface, path) => {
    const before = e2e.openai.requests.length + e2e.anthropic.requests.length;
    const body = JSON.stringify({ model: MODEL[surface as SurfaceName], max_tokens: 5, messages: [user] });
    const big = `x-padding: ${'a'.repeat(20 * 1024)}\r\n`;
    const answer = await rawExchange(e2e.url, `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${big}\r\n${body}`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain('Exceeded maximum allowed HTTP header size');
    expect(e2e.openai.requests.length + e2e.anthropic.requests.length).toBe(before);
    // The same request with ordinary headers is served on a fresh connection.
    const ok = await postJson(e2e.url, path, JSON.parse(body), { authorization: 'Bearer sk-master-test', 'x-api-key': 'sk-master-test', 'anthropic-version': '2023-06-01' });
    expect(ok.status).toBe(200);
  });
});
