/**
 * Shared helpers for the unit tests: read the captured provider responses in
 * test/fixtures/providers, turn them into SSE text, decode them through the provider decoders and
 * fold the result. Nothing here asserts; the tests do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { StreamFolder } from '../../src/core/collect.js';
import { isObject, tryParseJson, type JsonObject } from '../../src/core/json.js';
import type { CanonicalResponse, StreamEvent } from '../../src/core/response.js';
import { parseSseEvent, SseSplitter, type SseEvent } from '../../src/core/sse.js';
import { AnthropicStreamDecoder } from '../../src/providers/anthropic/parse-response.js';
import { OpenAIStreamDecoder } from '../../src/providers/openai/parse-response.js';
import type { ResponseBody } from '../../src/providers/shared/upstream-http.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'providers');

export type ProviderDir = 'anthropic' | 'openai';

export function fixtureText(dir: ProviderDir, name: string): string {
  return readFileSync(join(FIXTURES, dir, name), 'utf8');
}

export function fixtureJson(dir: ProviderDir, name: string): JsonObject {
  const parsed = JSON.parse(fixtureText(dir, name)) as unknown;
  if (!isObject(parsed)) throw new Error(`${name} is not a JSON object`);
  return parsed;
}

/** `*.chunks.txt`: one SSE data JSON per line. */
export function fixtureChunks(dir: ProviderDir, name: string): JsonObject[] {
  return fixtureText(dir, name)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const parsed = JSON.parse(line) as unknown;
      if (!isObject(parsed)) throw new Error(`${name}: a line is not a JSON object`);
      return parsed;
    });
}

export interface CassetteInteraction {
  method: string;
  uri: string;
  requestBody: JsonObject | undefined;
  /** `response.parsed_body` (JSON answers). */
  json: JsonObject | undefined;
  /** `response.body.string` (raw SSE answers). */
  sse: string | undefined;
}

/** A VCR cassette's interactions, reduced to what the tests need. */
export function cassette(dir: ProviderDir, name: string): CassetteInteraction[] {
  const doc = parseYaml(fixtureText(dir, name)) as unknown;
  const interactions = isObject(doc) && Array.isArray(doc.interactions) ? doc.interactions : [];
  return interactions.map((raw: unknown): CassetteInteraction => {
    const it = isObject(raw) ? raw : {};
    const request = isObject(it.request) ? it.request : {};
    const response = isObject(it.response) ? it.response : {};
    const body = isObject(response.body) ? response.body : {};
    return {
      method: typeof request.method === 'string' ? request.method : '',
      uri: typeof request.uri === 'string' ? request.uri : '',
      requestBody: isObject(request.parsed_body) ? request.parsed_body : undefined,
      json: isObject(response.parsed_body) ? response.parsed_body : undefined,
      sse: typeof body.string === 'string' ? body.string : undefined,
    };
  });
}

/** Only the interactions that are Messages / chat completions calls. */
export function completionCalls(interactions: CassetteInteraction[]): CassetteInteraction[] {
  return interactions.filter((it) => /\/v1\/messages(\?|$)|\/chat\/completions/.test(it.uri));
}

/** Chunks file → the SSE text the provider sends (Anthropic names each event; OpenAI ends with [DONE]). */
export function chunksToSse(dir: ProviderDir, chunks: JsonObject[]): string {
  if (dir === 'anthropic') {
    return chunks.map((c) => `event: ${String(c.type)}\ndata: ${JSON.stringify(c)}\n\n`).join('');
  }
  return `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`;
}

/** Raw SSE text → parsed events, in order. */
export function sseEventsOf(text: string): { raw: string; event: SseEvent | undefined }[] {
  const splitter = new SseSplitter();
  const raws = splitter.push(text);
  const rest = splitter.flush();
  if (rest !== undefined) raws.push(rest);
  return raws.map((raw) => ({ raw, event: parseSseEvent(raw) }));
}

/** The JSON payload of every data event (skipping `[DONE]` and non-JSON). */
export function sseJson(text: string): JsonObject[] {
  const out: JsonObject[] = [];
  for (const { event } of sseEventsOf(text)) {
    if (event === undefined) continue;
    const parsed = tryParseJson(event.data);
    if (isObject(parsed)) out.push(parsed);
  }
  return out;
}

export function decodeAnthropicChunks(chunks: JsonObject[]): StreamEvent[] {
  const decoder = new AnthropicStreamDecoder();
  return chunks.flatMap((c) => decoder.decode(typeof c.type === 'string' ? c.type : undefined, c));
}

/** Decode raw Anthropic SSE the way the adapter does (event name from the `event:` line). */
export function decodeAnthropicSse(text: string): StreamEvent[] {
  const decoder = new AnthropicStreamDecoder();
  const out: StreamEvent[] = [];
  for (const { event } of sseEventsOf(text)) {
    if (event === undefined || event.data === '') continue;
    const data = tryParseJson(event.data);
    if (data === undefined) continue;
    out.push(...decoder.decode(event.event, data));
  }
  return out;
}

export function decodeOpenAIChunks(chunks: JsonObject[]): StreamEvent[] {
  const decoder = new OpenAIStreamDecoder();
  return [...chunks.flatMap((c) => decoder.decode(c)), ...decoder.end()];
}

/** Decode raw OpenAI SSE the way the adapter does. */
export function decodeOpenAISse(text: string): StreamEvent[] {
  return decodeOpenAIChunks(sseJson(text));
}

export function fold(events: Iterable<StreamEvent>): CanonicalResponse {
  const folder = new StreamFolder();
  for (const event of events) folder.add(event);
  return folder.result();
}

/** Concatenated text of the answer's text parts. */
export function textOf(response: CanonicalResponse): string {
  return response.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
}

/** A response body for tapSseStream that yields the given byte chunks. */
export function bodyOf(chunks: Uint8Array[]): ResponseBody {
  async function* gen(): AsyncGenerator<Buffer> {
    for (const c of chunks) {
      await Promise.resolve();
      yield Buffer.isBuffer(c) ? c : Buffer.from(c);
    }
  }
  return gen() as unknown as ResponseBody;
}

/** Split bytes at the given offsets (sorted, deduplicated, in range). */
export function splitAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const cuts = [...new Set(offsets.filter((o) => o > 0 && o < bytes.length))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    out.push(bytes.subarray(start, cut));
    start = cut;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** Split bytes into pieces of `size`. */
export function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  const offsets: number[] = [];
  for (let o = size; o < bytes.length; o += size) offsets.push(o);
  return splitAt(bytes, offsets);
}

/** Deterministic pseudo-random split (mulberry32), pieces of 1..maxSize bytes. */
export function splitRandom(bytes: Uint8Array, seed: number, maxSize: number): Uint8Array[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const offsets: number[] = [];
  for (let o = 0; o < bytes.length; ) {
    o += 1 + Math.floor(next() * maxSize);
    offsets.push(o);
  }
  return splitAt(bytes, offsets);
}

export async function drain(chunks: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(typeof c === 'string' ? Buffer.from(c, 'utf8') : c);
  return Buffer.concat(parts);
}
