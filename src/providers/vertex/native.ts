/**
 * Vertex-shaped clients (Claude Code with CLAUDE_CODE_USE_VERTEX and ANTHROPIC_VERTEX_BASE_URL
 * pointing at the gateway) calling `…/publishers/anthropic/models/{m}:rawPredict|:streamRawPredict`:
 * the body is already a Vertex Anthropic body, so it goes up as the client's own bytes (re-serialised
 * only when compat.ts must drop something) with the deployment's project, location, model and
 * bearer, and the answer comes back as Vertex's own bytes (JSON, or SSE tapped for usage).
 */
import { asObject, tryParseJson, type JsonObject } from '../../core/json.js';
import type { Usage } from '../../core/usage.js';
import { AnthropicTapInspector } from '../anthropic/tap.js';
import { parseAnthropicUsage } from '../anthropic/usage.js';
import { rewriteTopLevel } from '../shared/body-rewrite.js';
import { scanAnswer } from '../shared/json-scan.js';
import { tapSseStream } from '../shared/stream-tap.js';
import { readBody } from '../shared/upstream-http.js';
import type { StreamTap, UpstreamCall } from '../types.js';
import { adaptVertexBody, postVertexAnthropic, VERTEX_PROVIDER } from './anthropic-adapter.js';
import { VERTEX_COUNT_TOKENS_RULES } from './compat.js';

export type VertexNativeMethod = 'rawPredict' | 'streamRawPredict';

export type VertexNativeAnswer =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: Buffer; usage: Usage; model?: string | undefined }
  | { kind: 'stream'; status: number; headers: Record<string, string>; chunks: AsyncIterable<Buffer | string>; tap: StreamTap };

/** Upstream headers a native client may read. */
function nativeHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'content-type' || name === 'request-id' || name.startsWith('anthropic-ratelimit-')) out[name] = value;
  }
  return out;
}

/** The client's body bytes when nothing in them must change, else those bytes with the changed members edited. */
function payloadFor(raw: Buffer, body: JsonObject, adapted: { body: JsonObject; bodyChanged: boolean }): Buffer | string {
  if (!adapted.bodyChanged) return raw;
  return rewriteTopLevel(raw, body, adapted.body) ?? JSON.stringify(adapted.body);
}

export async function vertexNativeCall(method: VertexNativeMethod, raw: Buffer, body: JsonObject, call: UpstreamCall): Promise<VertexNativeAnswer> {
  const adapted = adaptVertexBody(body, call);
  const stream = method === 'streamRawPredict';
  const response = await postVertexAnthropic(call, call.upstreamModel, method, payloadFor(raw, body, adapted), adapted.betas, stream);
  const headers = nativeHeaders(response.headers);
  if (!stream || response.headers['content-type']?.includes('text/event-stream') !== true) {
    const bytes = await readBody(response.body, VERTEX_PROVIDER, response.url);
    const scanned = scanAnswer(bytes);
    if (scanned !== undefined) return { kind: 'json', status: response.status, headers, body: bytes, usage: parseAnthropicUsage(scanned.usage), model: scanned.model };
    const parsed = asObject(tryParseJson(bytes.toString('utf8')));
    return { kind: 'json', status: response.status, headers, body: bytes, usage: parseAnthropicUsage(parsed?.usage), model: typeof parsed?.model === 'string' ? parsed.model : undefined };
  }
  const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
  // No annotation: a native client gets Vertex's bytes exactly; cost travels in the record only.
  const chunks = tapSseStream(response.body, new AnthropicTapInspector(), tap, VERTEX_PROVIDER, response.url);
  return { kind: 'stream', status: response.status, headers, tap, chunks };
}

/** `models/count-tokens:rawPredict`: the model is in the body; it becomes the deployment's. */
export async function vertexNativeCountTokens(body: JsonObject, call: UpstreamCall): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const adapted = adaptVertexBody(body, call, VERTEX_COUNT_TOKENS_RULES);
  const payload = JSON.stringify({ ...adapted.body, model: call.upstreamModel.replace(/^anthropic\//, '') });
  const response = await postVertexAnthropic(call, 'count-tokens', 'rawPredict', payload, adapted.betas, false);
  return { status: response.status, headers: nativeHeaders(response.headers), body: await readBody(response.body, VERTEX_PROVIDER, response.url) };
}
