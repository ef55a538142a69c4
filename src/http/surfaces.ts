/** The client surfaces as codecs the proxy flow can drive without knowing either dialect. */
import type { Surface } from '../core/call-record.js';
import { errors, type GatewayError } from '../core/errors.js';
import { asObject, type JsonObject } from '../core/json.js';
import { decodeResponseId } from '../core/response-id.js';
import type { CanonicalRequest } from '../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../core/response.js';
import { decodeAnthropicRequest } from '../protocols/anthropic-messages/decode-request.js';
import { validateAnthropicRequest } from '../protocols/anthropic-messages/validate-request.js';
import { AnthropicStreamEncoder, encodeAnthropicError, encodeAnthropicResponse } from '../protocols/anthropic-messages/encode.js';
import { decodeOpenAIRequest } from '../protocols/openai-chat/decode-request.js';
import { validateOpenAIChatRequest } from '../protocols/openai-chat/validate-request.js';
import { encodeOpenAIError, encodeOpenAIResponse, OpenAIStreamEncoder } from '../protocols/openai-chat/encode.js';
import { decodeCompletionsRequest } from '../protocols/openai-completions/decode-request.js';
import { validateCompletionsRequest } from '../protocols/openai-completions/validate-request.js';
import type { RequestLimits } from '../protocols/shared/validate.js';
import { CompletionsStreamEncoder, encodeCompletionsError, encodeCompletionsResponse } from '../protocols/openai-completions/encode.js';
import { decodeResponsesRequest } from '../protocols/openai-responses/decode-request.js';
import { encodeResponsesError, encodeResponsesResponse, ResponsesStreamEncoder } from '../protocols/openai-responses/encode.js';
import { validateResponsesRequest } from '../protocols/openai-responses/validate-request.js';
import type { Dialect } from '../routing/calls.js';

export interface StreamEncoder {
  encode(event: StreamEvent): string;
  end(extraUsage?: Record<string, unknown>): string;
  error(error: GatewayError): string;
}

export interface SurfaceCodec {
  surface: Surface;
  dialect: Dialect;
  /**
   * The surface's shape check on the parsed body, run before admission on every path (passthrough
   * included, where nothing else reads the body): a 400 naming the field, or the body narrowed.
   */
  validate(body: unknown, limits: RequestLimits): JsonObject;
  decode(body: JsonObject): CanonicalRequest;
  encodeResponse(response: CanonicalResponse, model: string, extraUsage?: Record<string, unknown>): Record<string, unknown>;
  streamEncoder(model: string, body: JsonObject): StreamEncoder;
  encodeError(error: GatewayError, requestId: string): Record<string, unknown>;
  /** The client asked for usage in the stream (always true for Anthropic, where it is built in). */
  clientWantsUsage(body: JsonObject): boolean;
  /** The deployment the body's request must go to, when it continues something one of them stored. */
  affinity?(body: JsonObject): string | undefined;
}

export const openAIChatCodec: SurfaceCodec = {
  surface: 'openai-chat',
  dialect: 'openai-chat',
  validate: validateOpenAIChatRequest,
  decode: decodeOpenAIRequest,
  encodeResponse: encodeOpenAIResponse,
  streamEncoder: (model, body) => new OpenAIStreamEncoder(model, openAIChatCodec.clientWantsUsage(body)),
  encodeError: (error) => encodeOpenAIError(error),
  clientWantsUsage: (body) => asObject(body.stream_options)?.include_usage === true,
};

export const anthropicMessagesCodec: SurfaceCodec = {
  surface: 'anthropic-messages',
  dialect: 'anthropic-messages',
  validate: validateAnthropicRequest,
  decode: decodeAnthropicRequest,
  encodeResponse: encodeAnthropicResponse,
  streamEncoder: (model) => new AnthropicStreamEncoder(model),
  encodeError: encodeAnthropicError,
  clientWantsUsage: () => true,
};

/**
 * Legacy `/v1/completions`: passed through to deployments that speak it (`text-completion-openai/…`),
 * translated for every other one (the prompt becomes user messages, the answer a `text_completion`).
 */
export const openAICompletionsCodec: SurfaceCodec = {
  surface: 'openai-completions',
  dialect: 'openai-completions',
  validate: validateCompletionsRequest,
  decode: decodeCompletionsRequest,
  encodeResponse: encodeCompletionsResponse,
  streamEncoder: (model, body) => new CompletionsStreamEncoder(model, openAICompletionsCodec.clientWantsUsage(body)),
  encodeError: (error) => encodeCompletionsError(error),
  clientWantsUsage: (body) => asObject(body.stream_options)?.include_usage === true,
};

/**
 * The Responses API (`/v1/responses`): passed through to deployments that serve it (OpenAI,
 * Azure), translated for every other one. What the translation must leave out (hosted tools,
 * item types only OpenAI knows) is named in one warning per kind, not one per request.
 */
export const openAIResponsesCodec: SurfaceCodec = {
  surface: 'openai-responses',
  dialect: 'openai-responses',
  validate: validateResponsesRequest,
  decode: (body) => {
    const request = decodeResponsesRequest(body);
    if (request.dropped !== undefined) warnUntranslatable(request.model, request.dropped);
    return request;
  },
  encodeResponse: encodeResponsesResponse,
  streamEncoder: (model) => new ResponsesStreamEncoder(model),
  encodeError: (error) => encodeResponsesError(error),
  // Usage is part of response.completed, always.
  clientWantsUsage: () => true,
  affinity: (body) => (typeof body.previous_response_id === 'string' ? decodeResponseId(body.previous_response_id).deploymentId : undefined),
};

const warnedUntranslatable = new Set<string>();

function warnUntranslatable(model: string, dropped: readonly string[]): void {
  const fresh = dropped.filter((what) => !warnedUntranslatable.has(what));
  if (fresh.length === 0) return;
  for (const what of fresh) warnedUntranslatable.add(what);
  process.stderr.write(`WARNING: /v1/responses for ${model}: left out what its deployment's API cannot express: ${fresh.join(', ')} (warned once per kind)\n`);
}

/**
 * `POST /v1/responses/compact`: only a Responses API deployment can compact its own conversation
 * (the compaction item it returns is its encrypted state), so there is no translation.
 */
export const openAIResponsesCompactCodec: SurfaceCodec = {
  ...openAIResponsesCodec,
  dialect: 'openai-responses-compact',
  decode: () => {
    throw errors.invalidRequest('model: compaction is served only by Responses API deployments (openai/, azure/); this model is not one', 'model');
  },
};
