/**
 * Generated request bodies — valid, almost valid and hostile — through each surface's validator,
 * its decoder, both provider converters and the error envelopes. Whatever comes in, the only thing
 * thrown is a GatewayError with a 4xx and the field it is about; valid conversations keep their
 * text, roles and tool calls through decode → canonical → encode.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { checkJsonDepth } from '../../src/core/json-depth.js';
import { isObject, type JsonObject } from '../../src/core/json.js';
import type { CanonicalRequest } from '../../src/core/request.js';
import { decodeAnthropicRequest } from '../../src/protocols/anthropic-messages/decode-request.js';
import { encodeAnthropicError } from '../../src/protocols/anthropic-messages/encode.js';
import { validateAnthropicRequest } from '../../src/protocols/anthropic-messages/validate-request.js';
import { decodeOpenAIRequest } from '../../src/protocols/openai-chat/decode-request.js';
import { encodeOpenAIError } from '../../src/protocols/openai-chat/encode.js';
import { validateOpenAIChatRequest } from '../../src/protocols/openai-chat/validate-request.js';
import { decodeCompletionsRequest } from '../../src/protocols/openai-completions/decode-request.js';
import { validateCompletionsRequest } from '../../src/protocols/openai-completions/validate-request.js';
import { toAnthropicBody } from '../../src/providers/anthropic/convert-request.js';
import { toOpenAIBody } from '../../src/providers/openai/convert-request.js';
import { almostValid, hostileBody, validAnthropicBody, validOpenAIBody } from './arbitraries.js';
import { anthropicFacts, openAIFacts } from './facts.js';

const RUNS = { numRuns: 300 };

interface Surface {
  name: string;
  validate: (body: unknown) => JsonObject;
  decode: (body: JsonObject) => CanonicalRequest;
}

const SURFACES: Surface[] = [
  { name: 'openai-chat', validate: validateOpenAIChatRequest, decode: decodeOpenAIRequest },
  { name: 'anthropic-messages', validate: validateAnthropicRequest, decode: decodeAnthropicRequest },
  { name: 'openai-completions', validate: validateCompletionsRequest, decode: decodeCompletionsRequest },
];

/** Runs `step`; a throw must be a client error that names its field, and renders in both envelopes with it. */
function clientErrorOr<T>(step: () => T, needsParam = true): T | undefined {
  try {
    return step();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as GatewayError;
    expect([400, 413]).toContain(e.status);
    if (needsParam) expect(typeof e.param === 'string' && e.param !== '', `param of "${e.message}"`).toBe(true);
    const openai = encodeOpenAIError(e) as { error: { param: unknown; message: unknown } };
    expect(openai.error.message).toBe(e.message);
    if (needsParam) expect(openai.error.param).toBe(e.param);
    expect(encodeAnthropicError(e, 'req_1')).toMatchObject({ type: 'error', error: { message: e.message } });
    return undefined;
  }
}

/** The gateway's order: nesting limit, surface validator, then (translated path) decode and encode. */
function throughPipeline(surface: Surface, body: unknown): void {
  const checked = clientErrorOr(() => {
    checkJsonDepth(body);
    return surface.validate(body);
  });
  if (checked === undefined) return;
  const canonical = clientErrorOr(() => surface.decode(checked));
  if (canonical === undefined) return;
  // What a provider cannot take (n > 1 on Anthropic, non-JSON tool arguments) is a 400 from the converter.
  clientErrorOr(() => toAnthropicBody(canonical, 'claude-x'), false);
  clientErrorOr(() => toOpenAIBody(canonical, 'gpt-x'), false);
}

describe.each(SURFACES)('$name: no input makes anything but a client error', (surface) => {
  it('hostile bodies', () => {
    fc.assert(fc.property(hostileBody, (body) => throughPipeline(surface, body)), RUNS);
  });
  it('almost-valid OpenAI bodies', () => {
    fc.assert(fc.property(almostValid(validOpenAIBody), (body) => throughPipeline(surface, body)), RUNS);
  });
  it('almost-valid Anthropic bodies', () => {
    fc.assert(fc.property(almostValid(validAnthropicBody), (body) => throughPipeline(surface, body)), RUNS);
  });
});

describe('valid bodies pass and round-trip without losing text, roles or tool calls', () => {
  it('OpenAI chat → canonical → Anthropic and OpenAI bodies', () => {
    fc.assert(
      fc.property(validOpenAIBody, (body) => {
        const canonical = decodeOpenAIRequest(validateOpenAIChatRequest(body));
        const facts = openAIFacts(body);
        expect(anthropicFacts(toAnthropicBody(canonical, 'claude-x'))).toEqual(facts);
        expect(openAIFacts(toOpenAIBody(canonical, 'gpt-x'))).toEqual(facts);
      }),
      RUNS,
    );
  });

  it('Anthropic messages → canonical → OpenAI and Anthropic bodies', () => {
    fc.assert(
      fc.property(validAnthropicBody, (body) => {
        const canonical = decodeAnthropicRequest(validateAnthropicRequest(body));
        const facts = anthropicFacts(body);
        expect(openAIFacts(toOpenAIBody(canonical, 'gpt-x'))).toEqual(facts);
        expect(anthropicFacts(toAnthropicBody(canonical, 'claude-x'))).toEqual(facts);
      }),
      RUNS,
    );
  });

  it('the facts extractor sees what a body says (so the round trip can fail)', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] }] };
    expect(openAIFacts(body)).toEqual({ system: '', items: [{ kind: 'text', role: 'user', text: 'a' }, { kind: 'call', id: 'c', name: 'f', input: { x: 1 } }] });
    expect(isObject(body)).toBe(true);
  });
});
