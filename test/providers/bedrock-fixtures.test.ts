/**
 * Bedrock converters and usage on the captured real responses in test/fixtures/providers/bedrock.
 * Every expected number below was read from the fixture file itself (see the line comments).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { StreamFolder } from '../../src/core/collect.js';
import { GatewayError } from '../../src/core/errors.js';
import type { CanonicalRequest } from '../../src/core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../src/core/response.js';
import { totalInput, usageCounts } from '../../src/core/usage.js';
import { parseAnthropicMessage } from '../../src/providers/anthropic/parse-response.js';
import { toConverseBody } from '../../src/providers/bedrock/converse-request.js';
import { ConverseStreamDecoder, parseConverseResponse } from '../../src/providers/bedrock/converse-response.js';
import { parseBedrockError, remapBedrockError } from '../../src/providers/bedrock/errors.js';
import { EventStreamFramer, type EventStreamMessage } from '../../src/providers/bedrock/event-stream.js';
import { adaptInvokeBody, toBedrockAnthropicBody } from '../../src/providers/bedrock/invoke-body.js';
import { modelPath } from '../../src/providers/bedrock/transport.js';
import { upstreamHttpError } from '../../src/providers/shared/upstream-http.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'providers', 'bedrock');

interface Interaction {
  uri: string;
  requestBody: Record<string, unknown>;
  json: Record<string, unknown> | undefined;
  binary: Buffer | undefined;
  status: number;
}

/** A VCR cassette; Converse request bodies are JSON strings, InvokeModel ones `parsed_body`; streams are `!!binary`. */
function cassette(name: string): Interaction[] {
  const doc = parseYaml(readFileSync(join(DIR, name), 'utf8'), { customTags: ['binary'] }) as { interactions: Record<string, Record<string, unknown>>[] };
  return doc.interactions.map((it) => {
    const request = it.request ?? {};
    const response = it.response ?? {};
    const rawBody = request.body;
    const body = response.body as { string?: unknown } | undefined;
    return {
      uri: request.uri as string,
      requestBody: (typeof rawBody === 'string' ? JSON.parse(rawBody) : request.parsed_body) as Record<string, unknown>,
      json: response.parsed_body as Record<string, unknown> | undefined,
      binary: body?.string instanceof Uint8Array ? Buffer.from(body.string) : undefined,
      status: (response.status as { code: number }).code,
    };
  });
}

function json(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8')) as Record<string, unknown>;
}

const meta = { id: 'req-1', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', cacheWriteTtl: '5m' as const };

/** Frame the bytes in uneven pieces (as a network would) and decode them as the adapter does. */
function decodeConverseBinary(bytes: Buffer, pieceSize: number): { messages: EventStreamMessage[]; events: StreamEvent[] } {
  const framer = new EventStreamFramer('bedrock');
  const decoder = new ConverseStreamDecoder(meta);
  const messages: EventStreamMessage[] = [];
  for (let i = 0; i < bytes.length; i += pieceSize) messages.push(...framer.push(bytes.subarray(i, i + pieceSize)));
  framer.end();
  return { messages, events: messages.flatMap((m) => decoder.decode(m.eventType, JSON.parse(m.payload))) };
}

function fold(events: StreamEvent[]): CanonicalResponse {
  const folder = new StreamFolder();
  for (const event of events) folder.add(event);
  return folder.result();
}

const textOf = (r: CanonicalResponse): string => r.content.map((p) => (p.type === 'text' ? p.text : '')).join('');

describe('Converse (non-streaming) usage', () => {
  it('test_bedrock_cache_write_and_read: write 1322 then read 1322, inputTokens 2 uncached', () => {
    const [first, second] = cassette('test_bedrock_cache_write_and_read.yaml');
    const write = parseConverseResponse(first!.json, meta);
    // usage: cacheWriteInputTokens 1322, cacheReadInputTokens 0, inputTokens 2, outputTokens 5, totalTokens 1329
    expect(usageCounts(write.usage)).toEqual({ inputUncached: 2, cacheRead: 0, cacheWrite5m: 1322, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: 5 });
    expect(totalInput(write.usage)! + write.usage.output!).toBe(1329);
    expect(textOf(write)).toBe('21');
    expect(write.stopReason).toBe('end_turn');
    const read = parseConverseResponse(second!.json, meta);
    // usage: cacheReadInputTokens 1322, cacheWriteInputTokens 0, inputTokens 2, outputTokens 5
    expect(usageCounts(read.usage)).toEqual({ inputUncached: 2, cacheRead: 1322, cacheWrite5m: 0, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: 5 });
  });

  it('a write is attributed to the TTL the request asked for when Bedrock gives no cacheDetails', () => {
    const [first] = cassette('test_bedrock_cache_write_and_read.yaml');
    expect(parseConverseResponse(first!.json, { ...meta, cacheWriteTtl: '1h' }).usage).toMatchObject({ cacheWrite1h: 1322, cacheWrite5m: 0 });
    expect(parseConverseResponse(first!.json, { ...meta, cacheWriteTtl: 'unknown' }).usage).toMatchObject({ cacheWriteUnknownTtl: 1322 });
  });

  it('cacheDetails (ttl 5m) wins over the request TTL: write 1712, then read 1712 + write 236', () => {
    const [first, second] = cassette('test_bedrock_cache_messages_with_document_as_last_content.yaml');
    // cacheDetails [{inputTokens 1712, ttl 5m}], inputTokens 3, outputTokens 227
    expect(usageCounts(parseConverseResponse(first!.json, { ...meta, cacheWriteTtl: '1h' }).usage)).toEqual({
      inputUncached: 3, cacheRead: 0, cacheWrite5m: 1712, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: 227,
    });
    // cacheDetails [{inputTokens 236, ttl 5m}], cacheReadInputTokens 1712, inputTokens 3, outputTokens 121
    expect(usageCounts(parseConverseResponse(second!.json, meta).usage)).toEqual({
      inputUncached: 3, cacheRead: 1712, cacheWrite5m: 236, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: 121,
    });
  });

  it('amazon-bedrock-reasoning.json: reasoningContent → thinking with signature, then text; 51 in / 78 out', () => {
    const res = parseConverseResponse(json('amazon-bedrock-reasoning.json'), meta);
    expect(res.content.map((p) => p.type)).toEqual(['thinking', 'text']);
    const thinking = res.content[0];
    expect(thinking?.type === 'thinking' && thinking.signature?.startsWith('EvYBCkgICxABGAIqQA9E')).toBe(true);
    expect(thinking?.type === 'thinking' && thinking.text.startsWith('Let me count the r\'s')).toBe(true);
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 51, output: 78, cacheRead: 0, cacheWrite5m: 0 });
  });

  it('amazon-bedrock-text.json: 22 in / 57 out', () => {
    const res = parseConverseResponse(json('amazon-bedrock-text.json'), meta);
    expect(textOf(res)).toContain('There are **3** "r"s');
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 22, output: 57 });
  });
});

describe('canonical → Converse request', () => {
  it('rebuilds the recorded request of test_bedrock_cache_write_and_read exactly (system, document, cachePoints, tools)', () => {
    const [first] = cassette('test_bedrock_cache_write_and_read.yaml');
    const recorded = first!.requestBody as { system: { text?: string }[]; messages: { content: { text?: string }[] }[] };
    const systemText = recorded.system[0]!.text!;
    const [intro, , newline, , question] = recorded.messages[0]!.content;
    const eph = { type: 'ephemeral' as const };
    const schema = { additionalProperties: false, properties: {}, type: 'object' };
    const request: CanonicalRequest = {
      model: 'x', stream: false, extra: {},
      system: [{ type: 'text', text: systemText, cacheControl: eph }],
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: intro!.text! },
          { type: 'document', title: 'Document 1', source: { kind: 'text', mediaType: 'text/plain', data: 'You are a great mathematician' } },
          { type: 'text', text: newline!.text!, cacheControl: eph },
          { type: 'text', text: question!.text!, cacheControl: eph },
        ],
      }],
      tools: [{ name: 'catalog_lookup', parameters: schema }, { name: 'diagnostics', parameters: schema, cacheControl: eph }],
      toolChoice: { type: 'auto' },
    };
    const { body, cacheWriteTtl } = toConverseBody(request, 'us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(body).toEqual(first!.requestBody);
    expect(cacheWriteTtl).toBe('5m');
  });

  it('thinking request matches test_bedrock_model_thinking_part_stream (additionalModelRequestFields.thinking)', () => {
    const [call] = cassette('test_bedrock_model_thinking_part_stream.yaml');
    const request: CanonicalRequest = {
      model: 'x', stream: true, extra: {}, system: [], messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
      reasoning: { budgetTokens: 1024 },
    };
    const { body } = toConverseBody(request, 'us.anthropic.claude-sonnet-4-20250514-v1:0');
    // The recorded client sent an empty system list (we omit it) and no maxTokens; Claude needs
    // max_tokens > budget, so we add one.
    expect({ system: [], ...body, inferenceConfig: {} }).toEqual(call!.requestBody);
    expect(body.inferenceConfig).toEqual({ maxTokens: 1024 + 4096 });
  });

  it('the URL escapes the model id as botocore does (`:` → %3A)', () => {
    const [call] = cassette('test_bedrock_cache_write_and_read.yaml');
    expect(new URL(call!.uri).pathname).toBe(modelPath('us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'converse'));
  });
});

describe('ConverseStream binary captures', () => {
  it('test_bedrock_model_stream: text and usage 13 in / 82 out, whatever the network chunking', () => {
    const [call] = cassette('test_bedrock_model_stream.yaml');
    const whole = decodeConverseBinary(call!.binary!, call!.binary!.length);
    const pieces = decodeConverseBinary(call!.binary!, 7);
    expect(pieces.events).toEqual(whole.events);
    expect(whole.messages.map((m) => m.eventType)).toContain('metadata');
    const res = fold(whole.events);
    const expectedText = whole.messages
      .filter((m) => m.eventType === 'contentBlockDelta')
      .map((m) => (JSON.parse(m.payload) as { delta: { text: string } }).delta.text)
      .join('');
    expect(textOf(res)).toBe(expectedText);
    expect(res.content[0]?.type === 'text' && res.content[0].text.startsWith('The capital of France is Paris.')).toBe(true);
    expect(res.stopReason).toBe('end_turn');
    // metadata: {"usage":{"inputTokens":13,"outputTokens":82,"serverToolUsage":{},"totalTokens":95}}
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 13, output: 82 });
  });

  it('test_bedrock_model_thinking_part_stream: reasoning at index 0 (signed), text at index 1, 36 in / 73 out', () => {
    const [call] = cassette('test_bedrock_model_thinking_part_stream.yaml');
    const res = fold(decodeConverseBinary(call!.binary!, 100).events);
    expect(res.content.map((p) => p.type)).toEqual(['thinking', 'text']);
    const [thinking, text] = res.content;
    expect(thinking?.type === 'thinking' && thinking.text).toBe(
      'The user has greeted me with a simple "Hello". I should respond in a friendly and welcoming manner. This is a straightforward greeting, so I\'ll respond warmly and ask how I can help them today.',
    );
    expect(thinking?.type === 'thinking' && thinking.signature?.startsWith('Eu0CCkgIBxABGAIqQJDccbDQkr81n7Qj')).toBe(true);
    expect(text?.type === 'text' && text.text).toBe("Hello! It's nice to meet you. How can I help you today?");
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 36, output: 73 });
  });

  it('test_bedrock_native_output_stream: structured JSON text, 210 in / 18 out', () => {
    const [call] = cassette('test_bedrock_native_output_stream.yaml');
    const res = fold(decodeConverseBinary(call!.binary!, 64).events);
    expect(JSON.parse(textOf(res))).toEqual({ city: 'Paris', country: 'France', population: 2161000 });
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 210, output: 18 });
  });

  it('a flipped byte fails the CRC and surfaces as a typed 502, never as a wrong event', () => {
    const [call] = cassette('test_bedrock_model_stream.yaml');
    const bytes = Buffer.from(call!.binary!);
    bytes[60] = bytes[60]! ^ 0xff;
    const framer = new EventStreamFramer('bedrock');
    let caught: unknown;
    try {
      framer.push(bytes);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GatewayError);
    expect((caught as GatewayError).status).toBe(502);
    expect((caught as GatewayError).message).toMatch(/checksum/);
  });

  it('a stream that ends inside a frame is an error', () => {
    const [call] = cassette('test_bedrock_model_stream.yaml');
    const framer = new EventStreamFramer('bedrock');
    framer.push(call!.binary!.subarray(0, call!.binary!.length - 3));
    expect(() => framer.end()).toThrow(GatewayError);
  });
});

describe('InvokeModel (Anthropic body) captures', () => {
  it('test_anthropic_cache_bedrock_real_api: read 9511, then read 9511 + write 1956 (5m)', () => {
    const [first, second] = cassette('test_anthropic_cache_bedrock_real_api.yaml');
    // usage: cache_read_input_tokens 9511, cache_creation_input_tokens 0, input_tokens 3, output_tokens 1944
    expect(usageCounts(parseAnthropicMessage(first!.json).usage)).toEqual({
      inputUncached: 3, cacheRead: 9511, cacheWrite5m: 0, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: 1944,
    });
    // usage: cache_read_input_tokens 9511, cache_creation_input_tokens 1956 (ephemeral_5m 1956), input_tokens 3, output_tokens 44
    expect(usageCounts(parseAnthropicMessage(second!.json).usage)).toEqual({
      inputUncached: 3, cacheRead: 9511, cacheWrite5m: 1956, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: 44,
    });
    expect(parseAnthropicMessage(second!.json).model).toBe('claude-haiku-4-5-20251001');
  });

  it('the recorded InvokeModel bodies are fixed points of our body rewrite', () => {
    for (const file of ['test_anthropic_cache_bedrock_real_api.yaml', 'test_mid_conversation_system_prompt_on_bedrock.yaml']) {
      for (const call of cassette(file)) {
        expect(call.requestBody.anthropic_version).toBe('bedrock-2023-05-31');
        // Judged against the recorded model (claude-opus-4-8 takes role:"system" messages as they are).
        const modelId = decodeURIComponent(/\/model\/([^/]+)\//.exec(call.uri)?.[1] ?? '');
        expect(adaptInvokeBody(call.requestBody, {}, { modelId, deploymentId: 'fixture' })).toMatchObject({ body: call.requestBody, bodyChanged: false });
      }
    }
  });

  it('a Messages body becomes an InvokeModel body: model/stream dropped, betas from the header, the rest kept', () => {
    const client = {
      model: 'claude-sonnet-4-5', stream: true, max_tokens: 10, system: 'be brief', messages: [{ role: 'user', content: 'hi' }],
      context_management: { edits: [{ type: 'compact_20260112' }] }, metadata: { user_id: 'u1' }, anthropic_beta: ['compact-2026-01-12'],
    };
    const body = toBedrockAnthropicBody(client, { 'anthropic-beta': 'context-management-2025-06-27, compact-2026-01-12,interleaved-thinking-2025-05-14' });
    expect(body).toEqual({
      anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, system: 'be brief', messages: [{ role: 'user', content: 'hi' }],
      context_management: { edits: [{ type: 'compact_20260112' }] }, metadata: { user_id: 'u1' },
      anthropic_beta: ['compact-2026-01-12', 'context-management-2025-06-27', 'interleaved-thinking-2025-05-14'],
    });
  });
});

describe('errors', () => {
  it('test_bedrock_streaming_error: the AWS message is kept, the name inferred from the status', () => {
    const [call] = cassette('test_bedrock_streaming_error.yaml');
    expect(call!.status).toBe(400);
    expect(parseBedrockError(400, JSON.stringify(call!.json))).toEqual({ message: 'The provided model identifier is invalid.', type: 'ValidationException' });
  });

  it('x-amzn-errortype names the error when available; `Message` is read too', () => {
    const headers = { 'x-amzn-errortype': 'ModelNotReadyException:http://internal.amazon.com/coral/com.amazon.bedrock/' };
    expect(parseBedrockError(429, '{"Message":"Model is not ready"}', headers)).toEqual({ message: 'Model is not ready', type: 'ModelNotReadyException' });
  });

  it.each([
    [429, 'ModelNotReadyException', 'service_unavailable', 503, true],
    [429, 'ThrottlingException', 'rate_limit', 429, true],
    [400, 'ServiceQuotaExceededException', 'rate_limit', 429, true],
    [403, 'InvalidSignatureException', 'authentication', 401, false],
    [403, 'AccessDeniedException', 'permission_denied', 403, false],
    [424, 'ModelErrorException', 'upstream_error', 424, false],
  ] as const)('HTTP %d %s → %s %d by AWS error name', (status, type, code, mapped, retryable) => {
    const headers = { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` };
    const text = JSON.stringify({ message: `aws says ${type}` });
    const generic = upstreamHttpError(status, text, headers, { provider: 'bedrock', parseError: (s, t) => parseBedrockError(s, t, headers) });
    expect(remapBedrockError(generic)).toMatchObject({ code, status: mapped, retryable, message: `aws says ${type}`, upstream: { status, type } });
  });
});
