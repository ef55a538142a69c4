/**
 * Vertex-shaped ingress end to end: Claude Code's Vertex-mode requests (research/clients.md:
 * ANTHROPIC_VERTEX_BASE_URL=http://gateway/vertex_ai/v1) on the real server, sent on with the
 * deployment's project, location and bearer from the fake token endpoint, the answer passed
 * through byte for byte and metered like any call.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claudeCompatWarnings } from '../../src/providers/anthropic/platform-compat.js';
import { MASTER_KEY, newCallId, parseSse, recordFor, words } from '../e2e/harness.js';
import { ANTHROPIC_REPLY_TEXT, countWords } from '../fakes/index.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import type { TestGateway } from '../helpers/gateway.js';
import { startNativeGateway, vertexModeHeaders } from './helpers.js';

const MODEL = 'claude-sonnet-4-5@20250929';
/** What Claude Code puts in the URL: its own project and region, which the gateway replaces. */
const CLIENT_PREFIX = '/vertex_ai/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models';
const UPSTREAM_PREFIX = `/v1/projects/${VERTEX_PROJECT}/locations/us-east5/publishers/anthropic/models`;
const QUESTION = 'say hi';
const UNCACHED = countWords(QUESTION);
const OUTPUT = countWords(ANTHROPIC_REPLY_TEXT);

let fake: VertexFake;
let gw: TestGateway;
const warnings: string[] = [];

beforeAll(async () => {
  fake = await startFakeVertex();
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-native-')), 'vertex-sa.json');
  writeFileSync(keyFile, JSON.stringify(fake.credentials));
  gw = await startNativeGateway(`
model_list:
  - model_name: claude-vertex
    litellm_params:
      model: vertex_ai/${MODEL}
      api_base: "${fake.url}"
      vertex_project: ${VERTEX_PROJECT}
      vertex_location: us-east5
      vertex_credentials: "${keyFile}"
    model_info: { id: vertex-sonnet }
  - model_name: mock-only
    litellm_params: { model: mock/mock-only }
general_settings: { master_key: ${MASTER_KEY} }
`);
  claudeCompatWarnings.sink = (line) => warnings.push(line);
});
afterAll(async () => {
  claudeCompatWarnings.sink = (line) => process.stderr.write(`${line}\n`);
  await gw.close();
  await fake.close();
});
afterEach(() => {
  warnings.length = 0;
});

/** Claude Code's Vertex-mode body: no model, `anthropic_version` in the body, `stream` per method. */
function claudeCodeBody(seed: string, stream: boolean): Record<string, unknown> {
  return {
    anthropic_version: 'vertex-2023-10-16',
    messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }],
    system: [{ type: 'text', text: words(1800, seed), cache_control: { type: 'ephemeral' } }],
    metadata: { user_id: JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '', session_id: 's' }) },
    max_tokens: 32000,
    thinking: { type: 'enabled', budget_tokens: 31999 },
    ...(stream ? { stream: true } : {}),
  };
}

function post(target: string, body: unknown, callId = newCallId(), headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}${CLIENT_PREFIX}/${target}`, { method: 'POST', headers: { ...vertexModeHeaders(callId), ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

const vertexRequests = (): VertexFake['requests'] => fake.requests.filter((r) => r.path.startsWith('/v1/'));

function expectBearer(): void {
  const sent = vertexRequests().at(-1)!;
  expect(sent.headers.authorization).toMatch(/^Bearer ya29\.fake-\d+$/);
  expect(JSON.stringify(sent.headers)).not.toContain(MASTER_KEY);
}

describe('rawPredict / streamRawPredict', () => {
  it('rawPredict: the seed scenario writes then reads 1800; the client\'s bytes reach Vertex at the deployment\'s path', async () => {
    const body = JSON.stringify(claudeCodeBody('vertex-native-json', false));
    for (const e of [{ read: 0, write: 1800 }, { read: 1800, write: 0 }]) {
      const callId = newCallId();
      const res = await post(`${MODEL}:rawPredict`, body, callId);
      expect(res.status).toBe(200);
      const message = (await res.json()) as { content: { text: string }[]; usage: Record<string, unknown> };
      expect(message.content[0]?.text).toBe(ANTHROPIC_REPLY_TEXT);
      expect(message.usage).toMatchObject({ input_tokens: UNCACHED, cache_creation_input_tokens: e.write, cache_read_input_tokens: e.read, output_tokens: OUTPUT });
      const record = await recordFor(gw.gateway, callId);
      expect(record).toMatchObject({
        surface: 'vertex-raw-predict', outcome: 'success', passthrough: true, stream: false, requestedModel: MODEL, modelGroup: 'claude-vertex',
        deployment: { id: 'vertex-sonnet', provider: 'vertex_ai' }, route: '/vertex_ai/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:rawPredict',
      });
      expect(record.usage).toMatchObject({ inputUncached: UNCACHED, cacheRead: e.read, cacheWrite5m: e.write, output: OUTPUT });
      expect(record.costNanoUsd).toBeGreaterThan(0);
      const sent = vertexRequests().at(-1)!;
      expect(sent.path).toBe(`${UPSTREAM_PREFIX}/${MODEL}:rawPredict`);
      expect(sent.body).toBe(body);
      // Vertex takes betas as a header; Claude Code's Vertex-mode set is all accepted.
      expect(sent.headers['anthropic-beta']).toBe('claude-code-20250219,interleaved-thinking-2025-05-14,web-search-2025-03-05');
      expectBearer();
    }
    expect(warnings).toEqual([]);
  });

  it('streamRawPredict: Vertex\'s SSE as it is, usage tapped from it', async () => {
    const body = claudeCodeBody('vertex-native-sse', true);
    for (const e of [{ read: 0, write: 1800 }, { read: 1800, write: 0 }]) {
      const callId = newCallId();
      const res = await post(`${MODEL}:streamRawPredict`, body, callId);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const events = parseSse(await res.text());
      expect(events.map((ev) => ev.event)).toEqual(['message_start', 'content_block_start', 'ping', ...Array(OUTPUT).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
      // No cost field is added to a native client's bytes.
      expect(JSON.parse(events.at(-2)!.data)).toEqual({
        type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { input_tokens: UNCACHED, cache_creation_input_tokens: e.write, cache_read_input_tokens: e.read, output_tokens: OUTPUT },
      });
      const record = await recordFor(gw.gateway, callId);
      expect(record).toMatchObject({ surface: 'vertex-raw-predict', outcome: 'success', stream: true });
      expect(record.usage).toMatchObject({ inputUncached: UNCACHED, cacheRead: e.read, cacheWrite5m: e.write, output: OUTPUT });
      expect(vertexRequests().at(-1)?.path).toBe(`${UPSTREAM_PREFIX}/${MODEL}:streamRawPredict`);
      expectBearer();
    }
  });

  it('a beta Vertex refuses is dropped from the header with one warning; the request succeeds', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await post(`${MODEL}:rawPredict`, claudeCodeBody('vertex-native-beta', false), newCallId(), {
        'anthropic-beta': 'claude-code-20250219,prompt-caching-scope-2026-01-05,effort-2025-11-24',
      });
      expect(res.status).toBe(200);
      expect(vertexRequests().at(-1)?.headers['anthropic-beta']).toBe('claude-code-20250219');
    }
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toContain('Vertex AI rawPredict does not accept anthropic-beta "prompt-caching-scope-2026-01-05"');
  });

  it('Claude Code\'s fallback: a stream cut after message_start ends in an error event; the same body to rawPredict succeeds', async () => {
    fake.script([{ kind: 'cut-after', events: 2 }]);
    const streamId = newCallId();
    const broken = await post(`${MODEL}:streamRawPredict`, claudeCodeBody('vertex-native-fallback', true), streamId);
    expect(broken.status).toBe(200);
    const events = parseSse(await broken.text());
    expect(events.at(-1)?.event).toBe('error');
    expect(await recordFor(gw.gateway, streamId)).toMatchObject({ outcome: 'failure', stream: true });

    const fallbackId = newCallId();
    const res = await post(`${MODEL}:rawPredict`, claudeCodeBody('vertex-native-fallback', false), fallbackId);
    expect(res.status).toBe(200);
    expect(await recordFor(gw.gateway, fallbackId)).toMatchObject({ outcome: 'success', stream: false });
  });

  it('an upstream error keeps Vertex\'s own body and status', async () => {
    fake.script([{ status: 429 }]);
    const callId = newCallId();
    const res = await post(`${MODEL}:rawPredict`, claudeCodeBody('vertex-native-429', false), callId);
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(await recordFor(gw.gateway, callId)).toMatchObject({ outcome: 'failure', httpStatus: 429, error: { code: 'rate_limit' } });
  });
});

describe('count-tokens, auth and routing', () => {
  it('count-tokens:rawPredict counts with the deployment\'s model', async () => {
    const callId = newCallId();
    const body = { anthropic_version: 'vertex-2023-10-16', model: MODEL, messages: [{ role: 'user', content: 'one two three' }] };
    const res = await post('count-tokens:rawPredict', body, callId);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ input_tokens: 3 });
    expect(vertexRequests().at(-1)?.path).toBe(`${UPSTREAM_PREFIX}/count-tokens:rawPredict`);
    // count-tokens refuses web-search-2025-03-05 even though messages take it.
    expect(vertexRequests().at(-1)?.headers['anthropic-beta']).toBe('claude-code-20250219,interleaved-thinking-2025-05-14');
    expect(await recordFor(gw.gateway, callId)).toMatchObject({ surface: 'anthropic-count-tokens', outcome: 'success' });
  });

  it('a wrong Tollgate key: 401 in Google\'s envelope, and no call record', async () => {
    const callId = newCallId();
    const res = await post(`${MODEL}:rawPredict`, claudeCodeBody('x', false), callId, { authorization: 'Bearer sk-wrong' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 401, message: expect.stringContaining('Authentication Error'), status: 'UNAUTHENTICATED' } });
    await new Promise((r) => setTimeout(r, 30));
    expect(gw.gateway.calls.find(callId)).toHaveLength(0);
  });

  it('the model group name works in place of the model id; an unknown method is a 404', async () => {
    const res = await post('claude-vertex:rawPredict', claudeCodeBody('vertex-native-alias', false));
    expect(res.status).toBe(200);
    expect(vertexRequests().at(-1)?.path).toBe(`${UPSTREAM_PREFIX}/${MODEL}:rawPredict`);
    const unknown = await post(`${MODEL}:predict`, claudeCodeBody('x', false));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});
