/** The client surfaces as codecs the proxy flow can drive without knowing either dialect. */
import type { Surface } from '../core/call-record.js';
import type { GatewayError } from '../core/errors.js';
import { asObject, type JsonObject } from '../core/json.js';
import type { CanonicalRequest } from '../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../core/response.js';
import { decodeAnthropicRequest } from '../protocols/anthropic-messages/decode-request.js';
import { AnthropicStreamEncoder, encodeAnthropicError, encodeAnthropicResponse } from '../protocols/anthropic-messages/encode.js';
import { decodeOpenAIRequest } from '../protocols/openai-chat/decode-request.js';
import { encodeOpenAIError, encodeOpenAIResponse, OpenAIStreamEncoder } from '../protocols/openai-chat/encode.js';
import { decodeCompletionsRequest } from '../protocols/openai-completions/decode-request.js';
import { CompletionsStreamEncoder, encodeCompletionsError, encodeCompletionsResponse } from '../protocols/openai-completions/encode.js';
import type { Dialect } from '../routing/calls.js';

export interface StreamEncoder {
  encode(event: StreamEvent): string;
  end(extraUsage?: Record<string, unknown>): string;
  error(error: GatewayError): string;
}

export interface SurfaceCodec {
  surface: Surface;
  dialect: Dialect;
  decode(body: JsonObject): CanonicalRequest;
  encodeResponse(response: CanonicalResponse, model: string, extraUsage?: Record<string, unknown>): Record<string, unknown>;
  streamEncoder(model: string, body: JsonObject): StreamEncoder;
  encodeError(error: GatewayError, requestId: string): Record<string, unknown>;
  /** The client asked for usage in the stream (always true for Anthropic, where it is built in). */
  clientWantsUsage(body: JsonObject): boolean;
}

export const openAIChatCodec: SurfaceCodec = {
  surface: 'openai-chat',
  dialect: 'openai-chat',
  decode: decodeOpenAIRequest,
  encodeResponse: encodeOpenAIResponse,
  streamEncoder: (model, body) => new OpenAIStreamEncoder(model, openAIChatCodec.clientWantsUsage(body)),
  encodeError: (error) => encodeOpenAIError(error),
  clientWantsUsage: (body) => asObject(body.stream_options)?.include_usage === true,
};

export const anthropicMessagesCodec: SurfaceCodec = {
  surface: 'anthropic-messages',
  dialect: 'anthropic-messages',
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
  decode: decodeCompletionsRequest,
  encodeResponse: encodeCompletionsResponse,
  streamEncoder: (model, body) => new CompletionsStreamEncoder(model, openAICompletionsCodec.clientWantsUsage(body)),
  encodeError: (error) => encodeCompletionsError(error),
  clientWantsUsage: (body) => asObject(body.stream_options)?.include_usage === true,
};
