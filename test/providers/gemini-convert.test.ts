/** Canonical request → Gemini body, JSON Schema → Gemini Schema, and Google errors → GatewayError. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { JsonObject } from '../../src/core/json.js';
import type { CanonicalRequest, Message } from '../../src/core/request.js';
import { toGeminiBody } from '../../src/providers/gemini/convert-request.js';
import { googleError, parseGoogleError, refineGoogleError } from '../../src/providers/gemini/errors.js';
import { GeminiStreamDecoder, parseGeminiResponse } from '../../src/providers/gemini/parse-response.js';
import { toGeminiSchema } from '../../src/providers/gemini/schema.js';
import { decodeToolCallId, encodeToolCallId } from '../../src/providers/gemini/tool-ids.js';
import { upstreamHttpError } from '../../src/providers/shared/upstream-http.js';

function request(partial: Partial<CanonicalRequest>): CanonicalRequest {
  return { model: 'gemini-2.5-flash', system: [], messages: [], stream: false, extra: {}, ...partial };
}

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });
const body = (partial: Partial<CanonicalRequest>, model = 'gemini-2.5-flash'): JsonObject => toGeminiBody(request(partial), { model });

describe('contents and system instruction', () => {
  it('hoists system text (top level and system messages) into systemInstruction; roles become user/model', () => {
    const out = body({
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Answer in French.' }] },
        user('Hi'),
        { role: 'assistant', content: [{ type: 'text', text: 'Salut' }] },
        user('Capital of France?'),
      ],
    });
    expect(out.systemInstruction).toEqual({ parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] });
    expect(out.contents).toEqual([
      { role: 'user', parts: [{ text: 'Hi' }] },
      { role: 'model', parts: [{ text: 'Salut' }] },
      { role: 'user', parts: [{ text: 'Capital of France?' }] },
    ]);
    expect(out.generationConfig).toBeUndefined();
  });

  it('tool calls and results: functionCall with parsed args, functionResponse by name in one merged user turn', () => {
    const out = body({
      messages: [
        user('Weather in Paris and Rome?'),
        {
          role: 'assistant',
          content: [
            { type: 'tool_call', id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
            { type: 'tool_call', id: 'call_2', name: 'weather', arguments: '{"city":"Rome"}' },
          ],
        },
        { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_1', content: 'sunny' }] },
        { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_2', content: [{ type: 'text', text: 'boom' }], isError: true }] },
      ],
    });
    expect(out.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }, { functionCall: { name: 'weather', args: { city: 'Rome' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { output: 'sunny' } } }, { functionResponse: { name: 'weather', response: { error: 'boom' } } }] },
    ]);
  });

  it('images and documents: base64 → inlineData, URLs → fileData with a MIME type', () => {
    const out = body({
      messages: [{
        role: 'user',
        content: [
          { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { kind: 'url', url: 'gs://bucket/cat.jpeg' } },
          { type: 'document', source: { kind: 'base64', mediaType: 'application/pdf', data: 'JVBERi0=' } },
          { type: 'document', source: { kind: 'text', mediaType: 'text/plain', data: 'plain notes' } },
        ],
      }],
    });
    expect(out.contents).toEqual([{
      role: 'user',
      parts: [
        { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
        { fileData: { mimeType: 'image/jpeg', fileUri: 'gs://bucket/cat.jpeg' } },
        { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
        { text: 'plain notes' },
      ],
    }]);
  });

  it('rejects tool-call arguments that are not JSON with a 400', () => {
    expect(() => body({ messages: [{ role: 'assistant', content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: '{oops' }] }] })).toThrow(GatewayError);
  });
});

describe('thought signatures survive a round trip through the client', () => {
  it('a function call’s signature rides in the tool-call id and goes back on the functionCall part', () => {
    const signature = 'CmIBjz1rX0OQAtrZnJaEf6TJ/+==';
    const id = encodeToolCallId('call_abc', signature);
    expect(id).toMatch(/^call_abc__thought__[A-Za-z0-9_-]+$/);
    expect(decodeToolCallId(id)).toEqual({ id: 'call_abc', signature: Buffer.from(signature, 'base64').toString('base64') });
    const out = body({ messages: [user('go'), { role: 'assistant', content: [{ type: 'tool_call', id, name: 'f', arguments: '{}' }] }] });
    expect((out.contents as JsonObject[])[1]).toEqual({ role: 'model', parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: decodeToolCallId(id).signature }] });
  });

  it('a text part’s signature (signature-only thinking block) goes back on that text part', () => {
    const answer = parseGeminiResponse({
      candidates: [{ content: { role: 'model', parts: [{ text: 'Hello', thoughtSignature: 'c2ln' }] }, finishReason: 'STOP' }],
    });
    const out = body({ messages: [user('hi'), { role: 'assistant', content: answer.content }, user('again')] });
    expect((out.contents as JsonObject[])[1]).toEqual({ role: 'model', parts: [{ text: 'Hello', thoughtSignature: 'c2ln' }] });
  });

  it('thought parts go back as thought parts with their signature', () => {
    const out = body({ messages: [user('q'), { role: 'assistant', content: [{ type: 'thinking', text: 'hmm', signature: 'c2ln' }, { type: 'text', text: 'A' }] }] });
    expect((out.contents as JsonObject[])[1]).toEqual({ role: 'model', parts: [{ text: 'hmm', thought: true, thoughtSignature: 'c2ln' }, { text: 'A' }] });
  });

  it('Gemini 3: a function call without a signature (another model made it) gets the documented bypass value', () => {
    const messages: Message[] = [user('go'), { role: 'assistant', content: [{ type: 'tool_call', id: 'toolu_1', name: 'f', arguments: '{}' }] }];
    expect(((body({ messages }, 'gemini-3-pro-preview').contents as JsonObject[])[1]!.parts as JsonObject[])[0]!.thoughtSignature).toBe('skip_thought_signature_validator');
    expect(((body({ messages }).contents as JsonObject[])[1]!.parts as JsonObject[])[0]!.thoughtSignature).toBeUndefined();
  });
});

describe('tools, tool choice and generation config', () => {
  it('function declarations with JSON Schema translated to Gemini’s Schema; no parameters for an argument-less tool', () => {
    const out = body({
      tools: [
        {
          name: 'search',
          description: 'Search the web',
          parameters: {
            $schema: 'http://json-schema.org/draft-07/schema#',
            type: 'object',
            additionalProperties: false,
            properties: {
              query: { type: 'string', format: 'uri', minLength: 1 },
              limit: { type: ['integer', 'null'] },
              mode: { const: 'fast' },
              filter: { $ref: '#/$defs/Filter' },
              tags: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
            },
            required: ['query', 'missing'],
            $defs: { Filter: { type: 'object', properties: { site: { type: 'string' } }, additionalProperties: false } },
          },
        },
        { name: 'now', parameters: { type: 'object', properties: {}, additionalProperties: false } },
      ],
    });
    expect(out.tools).toEqual([{
      functionDeclarations: [
        {
          name: 'search',
          description: 'Search the web',
          parameters: {
            type: 'object',
            properties: {
              query: { type: 'string', minLength: 1 },
              limit: { type: 'integer', nullable: true },
              mode: { enum: ['fast'], type: 'string' },
              filter: { type: 'object', properties: { site: { type: 'string' } } },
              tags: { type: 'array', items: { type: 'string', nullable: true } },
            },
            required: ['query'],
          },
        },
        { name: 'now' },
      ],
    }]);
  });

  it('tool choice → functionCallingConfig', () => {
    expect(body({ toolChoice: { type: 'auto' } }).toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
    expect(body({ toolChoice: { type: 'none' } }).toolConfig).toEqual({ functionCallingConfig: { mode: 'NONE' } });
    expect(body({ toolChoice: { type: 'required' } }).toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(body({ toolChoice: { type: 'tool', name: 'search' } }).toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['search'] } });
  });

  it('sampling, limits, n, structured output', () => {
    const out = body({
      maxTokens: 256, temperature: 0.2, topP: 0.9, topK: 40, stop: ['END'], n: 2,
      responseFormat: { type: 'json_schema', name: 'city', schema: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: false } },
    });
    expect(out.generationConfig).toEqual({
      maxOutputTokens: 256, temperature: 0.2, topP: 0.9, topK: 40, stopSequences: ['END'], candidateCount: 2,
      responseMimeType: 'application/json', responseSchema: { type: 'object', properties: { name: { type: 'string' } } },
    });
    expect(body({ responseFormat: { type: 'json_object' } }).generationConfig).toEqual({ responseMimeType: 'application/json' });
  });

  it('reasoning → thinkingConfig', () => {
    const thinking = (reasoning: CanonicalRequest['reasoning'], model?: string): unknown => (body({ reasoning }, model).generationConfig as JsonObject | undefined)?.thinkingConfig;
    expect(thinking({ mode: 'enabled', budgetTokens: 2000 })).toEqual({ thinkingBudget: 2000, includeThoughts: true });
    expect(thinking({ effort: 'medium' })).toEqual({ thinkingBudget: 2048, includeThoughts: true });
    expect(thinking({ effort: 'high' }, 'gemini-3-pro-preview')).toEqual({ thinkingLevel: 'high', includeThoughts: true });
    expect(thinking({ effort: 'low' }, 'gemini-3-pro-preview')).toEqual({ thinkingLevel: 'low', includeThoughts: true });
    expect(thinking({ mode: 'adaptive' })).toEqual({ thinkingBudget: -1, includeThoughts: true });
    expect(thinking({ mode: 'disabled' })).toEqual({ thinkingBudget: 0 });
    expect(thinking({ effort: 'none' })).toEqual({ thinkingBudget: 0 });
  });

  it('a recursive $ref stops at a plain object instead of recursing forever', () => {
    const schema = toGeminiSchema({ $defs: { Node: { type: 'object', properties: { child: { $ref: '#/$defs/Node' } } } }, $ref: '#/$defs/Node' });
    expect(JSON.stringify(schema).length).toBeLessThan(2000);
  });
});

describe('Google errors', () => {
  const cases: [string, number, string, number, boolean][] = [
    ['RESOURCE_EXHAUSTED', 429, 'rate_limit', 429, true],
    ['UNAVAILABLE', 503, 'service_unavailable', 503, true],
    ['INVALID_ARGUMENT', 400, 'invalid_request', 400, false],
    ['PERMISSION_DENIED', 403, 'permission_denied', 403, false],
    ['NOT_FOUND', 404, 'not_found', 404, false],
    ['UNAUTHENTICATED', 401, 'authentication', 401, false],
    ['DEADLINE_EXCEEDED', 504, 'timeout', 504, true],
  ];
  for (const [status, code, expectedCode, expectedStatus, retryable] of cases) {
    it(`${status} → ${expectedCode} ${expectedStatus}, message kept`, () => {
      const error = googleError({ code, message: `upstream says ${status}`, status }, 'gemini');
      expect(error).toMatchObject({ code: expectedCode, status: expectedStatus, retryable, message: `upstream says ${status}` });
      expect(error.upstream).toMatchObject({ type: status, provider: 'gemini' });
    });
  }

  it('an invalid API key (400 INVALID_ARGUMENT, reason API_KEY_INVALID) is an authentication failure', () => {
    const error = googleError({ code: 400, status: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.', details: [{ reason: 'API_KEY_INVALID' }] }, 'gemini');
    expect(error).toMatchObject({ code: 'authentication', status: 401, retryable: false });
  });

  it('RetryInfo retryDelay becomes retryAfterSeconds; too many input tokens is context_window_exceeded', () => {
    expect(googleError({ code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '38s' }] }, 'gemini').retryAfterSeconds).toBe(38);
    expect(googleError({ code: 400, status: 'INVALID_ARGUMENT', message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).' }, 'gemini').code).toBe('context_window_exceeded');
  });

  it('refines an HTTP error from the body (Vertex wraps it in an array); leaves Anthropic envelopes alone', () => {
    const text = JSON.stringify([{ error: { code: 429, message: 'Quota exceeded for aiplatform.googleapis.com', status: 'RESOURCE_EXHAUSTED' } }]);
    const http = upstreamHttpError(429, text, { 'retry-after': '3' }, { provider: 'vertex_ai', parseError: parseGoogleError });
    expect(http.message).toBe('Quota exceeded for aiplatform.googleapis.com');
    expect(refineGoogleError(http, 'vertex_ai')).toMatchObject({ code: 'rate_limit', status: 429, retryAfterSeconds: 3, message: 'Quota exceeded for aiplatform.googleapis.com' });
    const anthropic = upstreamHttpError(529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), {}, { provider: 'vertex_ai', parseError: parseGoogleError });
    expect(refineGoogleError(anthropic, 'vertex_ai')).toBe(anthropic);
  });

  it('an error object inside a stream becomes an error event', () => {
    const decoder = new GeminiStreamDecoder('gemini');
    const events = decoder.decode({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } });
    const error = events.find((e) => e.type === 'error');
    expect(error?.type === 'error' && error.error).toMatchObject({ code: 'service_unavailable', retryable: true, message: 'The model is overloaded.' });
  });

  it('a prompt blocked by safety (promptFeedback, no candidates) ends as content_filter', () => {
    const res = parseGeminiResponse({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 } });
    expect(res.stopReason).toBe('content_filter');
    expect(res.content).toEqual([]);
    expect(parseGeminiResponse({ candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: 'RECITATION' }] }).stopReason).toBe('content_filter');
    expect(parseGeminiResponse({ candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: 'MAX_TOKENS' }] }).stopReason).toBe('max_tokens');
  });
});
