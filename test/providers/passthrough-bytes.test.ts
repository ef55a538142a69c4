/**
 * Byte edits for Anthropic-family passthrough (principle 3): Bedrock InvokeModel and Vertex
 * rawPredict get only the top-level members their platform demands changed; a 100 KB `messages`
 * goes up as the client's own bytes. The messages are pretty-printed with tricky strings, so any
 * re-serialisation would change their bytes and fail the byte comparison.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/core/deployment.js';
import type { JsonObject } from '../../src/core/json.js';
import { createBedrockAdapter } from '../../src/providers/bedrock/index.js';
import { rewriteTopLevel } from '../../src/providers/shared/body-rewrite.js';
import type { UpstreamCall } from '../../src/providers/types.js';
import { vertexSelector } from '../../src/providers/vertex/index.js';
import { BEDROCK_FAKE_CREDENTIALS, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import { startFakeVertex, VERTEX_ANTHROPIC_VERSION, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';

/** ~100 KB of conversation with the characters a scanner could trip on: quotes, backslashes, braces, emoji. */
function bigMessages(): unknown[] {
  const turns: unknown[] = [];
  for (let i = 0; turns.length < 200; i++) {
    const text = `turn ${i}: {"not":"json"} [brackets] \\"escaped\\" quote" back\\\\slash é 🎉 ${'lorem ipsum '.repeat(36)}`;
    turns.push({ role: i % 2 === 0 ? 'user' : 'assistant', content: [{ type: 'text', text }] });
  }
  turns.push({ role: 'user', content: 'And the answer?' });
  return turns;
}

const messages = bigMessages();
/** Pretty-printed: JSON.stringify of the parsed body would not reproduce these bytes. */
const messagesBytes = JSON.stringify(messages, null, 1);

function rawBody(extra: string): Buffer {
  return Buffer.from(`{\n  "model": "claude-sonnet-4-5",\n  "max_tokens": 64,\n  "messages": ${messagesBytes},\n  ${extra}\n}`);
}

describe('rewriteTopLevel', () => {
  it('cuts, replaces and adds top-level members; every other member keeps its bytes', () => {
    const raw = rawBody('"stream": true, "speed": "fast", "metadata": {"user_id": "u \\"1\\" }"}');
    expect(raw.length).toBeGreaterThan(100_000);
    const before = JSON.parse(raw.toString('utf8')) as JsonObject;
    const { model: _m, stream: _s, speed: _sp, ...rest } = before;
    const after = { anthropic_version: 'bedrock-2023-05-31', ...rest, max_tokens: 128 };
    const edited = rewriteTopLevel(raw, before, after)!;
    expect(JSON.parse(edited.toString('utf8'))).toEqual(after);
    expect(edited.includes(`"messages": ${messagesBytes}`)).toBe(true);
    expect(edited.includes('"metadata": {"user_id": "u \\"1\\" }"}')).toBe(true);
  });

  it('refuses bytes it cannot edit safely', () => {
    const dup = Buffer.from('{"model":"a","x":1,"model":"b"}');
    expect(rewriteTopLevel(dup, { model: 'b', x: 1 }, { x: 1 })).toBeUndefined();
    expect(rewriteTopLevel(Buffer.from('{"a":1'), { a: 1 }, {})).toBeUndefined();
    expect(rewriteTopLevel(Buffer.from('[1]'), {}, {})).toBeUndefined();
  });

  it('an empty object and a body left empty stay valid JSON', () => {
    expect(JSON.parse(rewriteTopLevel(Buffer.from('{ }'), {}, { a: 1 })!.toString('utf8'))).toEqual({ a: 1 });
    expect(JSON.parse(rewriteTopLevel(Buffer.from('{"a":1}'), { a: 1 }, {})!.toString('utf8'))).toEqual({});
  });
});

describe('Bedrock InvokeModel passthrough: a 100 KB body', () => {
  let fake: BedrockFakeUpstream;
  beforeAll(async () => {
    fake = await startFakeBedrock();
  });
  afterAll(() => fake.close());

  for (const stream of [false, true]) {
    it(`${stream ? 'streamed' : 'JSON'}: model, stream and a refused field cut, anthropic_version added, messages bytes untouched`, async () => {
      const d: Deployment = {
        id: 'bytes-bedrock', modelGroup: 'g', provider: 'bedrock', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0', timeoutMs: 10_000, streamTimeoutMs: 10_000,
        params: { aws_bedrock_runtime_endpoint: fake.url, aws_region_name: 'us-east-1', aws_access_key_id: BEDROCK_FAKE_CREDENTIALS.accessKeyId, aws_secret_access_key: BEDROCK_FAKE_CREDENTIALS.secretAccessKey },
      };
      const raw = rawBody(`"stream": ${stream}, "speed": "fast"`);
      const body = JSON.parse(raw.toString('utf8')) as JsonObject;
      const call: UpstreamCall = { deployment: d, upstreamModel: d.model, signal: new AbortController().signal, clientHeaders: {} };
      const res = await createBedrockAdapter(d, {}).passthrough!(body, call, { stream, rawBody: raw });
      if (res.kind === 'stream') for await (const _ of res.chunks);
      const sent = fake.requests.at(-1)!;
      expect(sent.body.includes(`"messages": ${messagesBytes}`)).toBe(true);
      const json = sent.json as JsonObject;
      expect(json.anthropic_version).toBe('bedrock-2023-05-31');
      expect(json).not.toHaveProperty('model');
      expect(json).not.toHaveProperty('stream');
      expect(json).not.toHaveProperty('speed');
      expect(json.messages).toEqual(messages);
    });
  }
});

describe('Vertex rawPredict passthrough: a 100 KB body', () => {
  let fake: VertexFake;
  beforeAll(async () => {
    fake = await startFakeVertex();
  });
  afterAll(() => fake.close());

  it('model cut, anthropic_version added, messages bytes untouched', async () => {
    const model = 'claude-sonnet-4-5@20250929';
    const d: Deployment = {
      id: 'bytes-vertex', modelGroup: model, provider: 'vertex_ai', model, apiBase: fake.url, timeoutMs: 10_000, streamTimeoutMs: 10_000,
      params: { vertex_project: VERTEX_PROJECT, vertex_location: 'us-east5', vertex_credentials: fake.credentials },
    };
    const raw = rawBody('"stream": false');
    const body = JSON.parse(raw.toString('utf8')) as JsonObject;
    const call: UpstreamCall = { deployment: d, upstreamModel: model, signal: new AbortController().signal, clientHeaders: {} };
    await vertexSelector!(d).passthrough!(body, call, { stream: false, rawBody: raw });
    const sent = fake.requests.filter((r) => r.path.startsWith('/v1/')).at(-1)!;
    expect(sent.body.includes(`"messages": ${messagesBytes}`)).toBe(true);
    const json = sent.json as JsonObject;
    expect(json.anthropic_version).toBe(VERTEX_ANTHROPIC_VERSION);
    expect(json).not.toHaveProperty('model');
    expect(json.messages).toEqual(messages);
  });
});
