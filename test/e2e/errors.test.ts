/**
 * Client errors through the real server: every one answered in the envelope of the surface it was
 * sent to (OpenAI `{"error":{…}}`, Anthropic `{"type":"error","error":{…}}`) with a message that
 * names the problem.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicClient, MASTER_KEY, openaiClient, postJson, sleep, startE2E, type E2E } from './harness.js';

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ general: 'max_request_size_mb: 1' });
});
afterAll(() => e2e.close());

type SurfaceName = 'anthropic' | 'openai';
const PATH: Record<SurfaceName, string> = { anthropic: '/v1/messages', openai: '/v1/chat/completions' };
const surfaces: SurfaceName[] = ['anthropic', 'openai'];

interface ErrorBody {
  type?: string;
  error: { message: string; type: string; param?: string | null; code?: string | null };
}

async function errorOf(res: Response, surface: SurfaceName): Promise<ErrorBody['error']> {
  expect(res.headers.get('content-type')).toContain('application/json');
  const json = (await res.json()) as ErrorBody;
  if (surface === 'anthropic') {
    expect(json.type).toBe('error');
    expect(json.error).toEqual(expect.objectContaining({ type: expect.any(String), message: expect.any(String) }));
  } else {
    expect(json).not.toHaveProperty('type');
    expect(json.error).toEqual(expect.objectContaining({ message: expect.any(String), type: expect.any(String) }));
    expect(json.error).toHaveProperty('param');
    expect(json.error).toHaveProperty('code');
  }
  return json.error;
}

/**
 * POSTs an oversized body on its own socket and drops that socket once the answer is in, so a
 * gateway that keeps the half-uploaded connection alive cannot stall the suite's shutdown.
 */
function postOversized(url: string, path: string, body: unknown): Promise<Response> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}`, 'content-length': Buffer.byteLength(payload) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }));
        req.destroy();
      });
    });
    req.on('error', (err) => {
      // The server may stop reading once it has answered; only a missing answer is a failure.
      if (!req.destroyed || req.writableEnded) reject(err);
    });
    req.end(payload);
  });
}

function validBody(surface: SurfaceName, model: string): Record<string, unknown> {
  const messages = [{ role: 'user', content: 'hi' }];
  return surface === 'anthropic' ? { model, max_tokens: 16, messages } : { model, messages };
}

describe.each(surfaces)('%s surface', (surface) => {
  it('malformed JSON → 400 saying the body is not valid JSON', async () => {
    const res = await postJson(e2e.url, PATH[surface], '{"model": "mock-test", "messages": [');
    expect(res.status).toBe(400);
    const error = await errorOf(res, surface);
    expect(error.message).toMatch(/not valid JSON/i);
    if (surface === 'anthropic') expect(error.type).toBe('invalid_request_error');
    else expect(error.code).toBe('400');
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"hello"'],
    ['empty', ''],
  ])('a body that is %s → 400', async (_name, raw) => {
    const res = await postJson(e2e.url, PATH[surface], raw);
    expect(res.status).toBe(400);
    expect((await errorOf(res, surface)).message).toMatch(/JSON object/i);
  });

  it('missing model → 400 naming `model`', async () => {
    const { model: _model, ...rest } = validBody(surface, 'x');
    const res = await postJson(e2e.url, PATH[surface], rest);
    expect(res.status).toBe(400);
    const error = await errorOf(res, surface);
    expect(error.message).toMatch(/\bmodel\b/);
    if (surface === 'openai') expect(error.param).toBe('model');
  });

  it('unknown model → 404 listing the available models', async () => {
    const res = await postJson(e2e.url, PATH[surface], validBody(surface, 'no-such-model'));
    expect(res.status).toBe(404);
    const error = await errorOf(res, surface);
    expect(error.message).toContain('no-such-model');
    for (const name of ['claude-test', 'gpt-test', 'mock-test']) expect(error.message).toContain(name);
    if (surface === 'anthropic') expect(error.type).toBe('not_found_error');
  });

  it('a body over max_request_size_mb (1 MB) → 413', async () => {
    const big = { ...validBody(surface, 'mock-test'), padding: 'x'.repeat(1_500_000) };
    const res = await postOversized(e2e.url, PATH[surface], big);
    expect(res.status).toBe(413);
    const error = await errorOf(res, surface);
    expect(error.message).toMatch(/1 MB|max_request_size_mb/);
    if (surface === 'anthropic') expect(error.type).toBe('request_too_large');
  });

  it('a body just under the limit is accepted', async () => {
    const body = { ...validBody(surface, 'mock-test'), metadata: { padding: 'x'.repeat(900_000) } };
    const res = await postJson(e2e.url, PATH[surface], body);
    expect(res.status).toBe(200);
  });

  it('a malformed field on a translated request → 400 naming the field', async () => {
    const res = await postJson(e2e.url, PATH[surface], { ...validBody(surface, 'mock-test'), messages: 'hello' });
    expect(res.status).toBe(400);
    expect((await errorOf(res, surface)).message).toMatch(/messages/);
  });

  it('an unknown route under the surface → 404 in its envelope', async () => {
    const path = surface === 'anthropic' ? '/v1/messages/batches' : '/v1/chat/nothing';
    const res = await postJson(e2e.url, path, validBody(surface, 'mock-test'));
    expect(res.status).toBe(404);
    await errorOf(res, surface);
  });
});

describe('a fractional max_request_size_mb', () => {
  let small: E2E;
  beforeAll(async () => {
    small = await startE2E({ general: 'max_request_size_mb: 0.25' });
  });
  afterAll(() => small.close());

  it('0.25 MB: 413 whose message states the configured limit (not "0 MB")', async () => {
    const res = await postOversized(small.url, PATH.openai, { ...validBody('openai', 'mock-test'), padding: 'x'.repeat(300_000) });
    expect(res.status).toBe(413);
    const error = await errorOf(res, 'openai');
    expect(error.message).toContain('0.25 MB');
  });

  it('0.25 MB: a body under the limit is accepted', async () => {
    const ok = await postJson(small.url, PATH.openai, { ...validBody('openai', 'mock-test'), metadata: { padding: 'x'.repeat(200_000) } });
    expect(ok.status).toBe(200);
  });
});

describe('a 413 answered before the body was read', () => {
  it('closes the connection, so a half-sent upload cannot pin it (and block shutdown)', async () => {
    const gw = await startE2E({ general: 'max_request_size_mb: 0.25' });
    const sock = connect(Number(new URL(gw.url).port), '127.0.0.1');
    try {
      await new Promise((resolve) => sock.once('connect', resolve));
      let closedByServer = false;
      sock.on('close', () => {
        closedByServer = true;
      });
      sock.on('error', () => undefined);
      const head = new Promise<string>((resolve) => sock.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
      sock.write(`POST /v1/messages HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\nx-api-key: ${MASTER_KEY}\r\ncontent-length: 400000\r\n\r\n{"padding":"`);
      sock.write('x'.repeat(1000));
      const response = await head;
      expect(response).toMatch(/^HTTP\/1\.1 413/);
      // Either the answer says the connection ends here, or the server ends it.
      await sleep(200);
      expect(closedByServer || /\r\nconnection: close\r\n/i.test(response), response.split('\r\n\r\n')[0]).toBe(true);
    } finally {
      sock.destroy();
      await gw.close();
    }
  });
});

describe('unsupported parameters and upstream client errors', () => {
  it('n: 2 from the OpenAI surface to an Anthropic upstream → 400 with param n', async () => {
    const before = e2e.anthropic.requests.length;
    const res = await postJson(e2e.url, PATH.openai, { model: 'claude-test', n: 2, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(400);
    const error = await errorOf(res, 'openai');
    expect(error.param).toBe('n');
    expect(error.message).toMatch(/\bn\b/);
    expect(e2e.anthropic.requests.length).toBe(before);
  });

  it('n: 2 through the OpenAI SDK raises BadRequestError with param n (streaming too)', async () => {
    const client = openaiClient(e2e.url);
    const body = { model: 'claude-test', n: 2, messages: [{ role: 'user' as const, content: 'hi' }] };
    const err: unknown = await client.chat.completions.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
    const streamErr: unknown = await client.chat.completions.create({ ...body, stream: true }).catch((e: unknown) => e);
    expect(streamErr).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('n: 2 to an OpenAI upstream is passed through and answered with two choices', async () => {
    const completion = await openaiClient(e2e.url).chat.completions.create({ model: 'gpt-test', n: 2, messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices).toHaveLength(2);
  });

  it("the Anthropic upstream's own 400 reaches an Anthropic client with its type and message", async () => {
    // Passthrough: the gateway does not validate, the upstream rejects the missing max_tokens.
    const res = await postJson(e2e.url, PATH.anthropic, { model: 'claude-test', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(400);
    const error = await errorOf(res, 'anthropic');
    expect(error).toMatchObject({ type: 'invalid_request_error', message: 'max_tokens: Field required' });
  });

  it('the Anthropic SDK raises NotFoundError for an unknown model', async () => {
    const err: unknown = await anthropicClient(e2e.url).messages.create(validBody('anthropic', 'nope') as unknown as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('count_tokens errors use the Anthropic envelope', async () => {
    const res = await fetch(`${e2e.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY },
      body: JSON.stringify({ model: 'nope', messages: [] }),
    });
    expect(res.status).toBe(404);
    await errorOf(res, 'anthropic');
    const bad = await fetch(`${e2e.url}/v1/messages/count_tokens`, { method: 'POST', headers: { 'x-api-key': MASTER_KEY }, body: '{oops' });
    expect(bad.status).toBe(400);
    await errorOf(bad, 'anthropic');
  });
});
