import type { IncomingHttpHeaders } from 'node:http';
import type { Deployment } from '../core/deployment.js';
import type { EndpointUnits } from '../core/endpoint-units.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../core/embeddings.js';
import type { JsonObject } from '../core/json.js';
import type { CanonicalRequest } from '../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../core/response.js';
import type { GatewayError } from '../core/errors.js';
import type { Usage } from '../core/usage.js';

/** Wire dialects a client may speak and a provider may accept verbatim. */
export type Dialect =
  | 'openai-chat'
  | 'anthropic-messages'
  | 'openai-completions'
  | 'openai-responses'
  /** `POST /v1/responses/compact`: a Responses API upstream's conversation compaction (non-streaming). */
  | 'openai-responses-compact'
  | 'openai-embeddings'
  | 'openai-moderations'
  | 'openai-images'
  /** A multipart/form-data body (the audio file and its fields), forwarded as bytes. */
  | 'openai-audio-transcriptions'
  /** JSON in, binary audio out (streamed through). */
  | 'openai-audio-speech'
  /** Cohere's rerank wire, which vLLM, Jina and LiteLLM's `/rerank` speak too. */
  | 'rerank';

export interface UpstreamCall {
  deployment: Deployment;
  /** The upstream model id for this call (wildcards resolved to the requested name). */
  upstreamModel: string;
  signal: AbortSignal;
  /** The client's request headers, for the few a provider forwards (anthropic-beta, anthropic-version). */
  clientHeaders: IncomingHttpHeaders;
  /** W3C `traceparent` for the upstream: the call's span when tracing is on, else the client's own. */
  traceparent?: string | undefined;
}

/** What a streaming passthrough has observed so far; complete once the stream has been drained. */
export interface StreamTap {
  usage: Usage;
  model?: string | undefined;
  /** An error the upstream reported inside the stream (e.g. Anthropic `overloaded_error`). */
  error?: GatewayError | undefined;
  /** The upstream finished the answer properly (final event seen). */
  completed: boolean;
  /** Number of SSE events seen. */
  events: number;
  /** An event past the preamble (message_start, pings) has been seen: the answer has begun. */
  answerStarted: boolean;
}

export interface PassthroughOptions {
  /** Which of the adapter's dialects the client's body is in (the endpoint it goes to); absent, its first. */
  dialect?: Dialect | undefined;
  stream: boolean;
  /** The client's body bytes: forwarded as they are when nothing in them needs rewriting. */
  rawBody?: Buffer | undefined;
  /**
   * Called with the complete usage when the upstream's final usage event passes through; the fields
   * it returns are added to that event's `usage` object (how streamed cost reaches the client).
   */
  annotateFinalUsage?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined;
  /** The client asked for a usage chunk (OpenAI `stream_options.include_usage`). */
  clientWantsUsage?: boolean | undefined;
}

export type PassthroughResponse =
  | {
      kind: 'json';
      status: number;
      headers: Record<string, string>;
      /** The upstream's body bytes, forwarded as they are. */
      body: Buffer;
      usage: Usage;
      model?: string | undefined;
      /** What the answer reported beyond tokens (seconds transcribed, search units). */
      units?: EndpointUnits | undefined;
    }
  | {
      kind: 'stream';
      status: number;
      headers: Record<string, string>;
      /** Bytes to write to the client, in order. Untouched events are the upstream's own bytes. */
      chunks: AsyncIterable<Buffer | string>;
      tap: StreamTap;
    };

/** A request about a response the provider stored: read it, delete it, list its input items, cancel it. */
export interface StoredResponseRequest {
  method: 'GET' | 'DELETE' | 'POST';
  /** The upstream's own response id. */
  responseId: string;
  /** What of it: the response itself, its input items, or its cancellation. */
  part: '' | '/input_items' | '/cancel';
  /** The client's query string, without `?` ('' for none): paging of input_items, `include`. */
  query: string;
}

export interface StoredResponseAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ProviderAdapter {
  readonly name: string;
  /** The wire dialects this provider accepts verbatim, if any: each enables the passthrough path for its surface. */
  readonly dialects?: readonly Dialect[] | undefined;
  /** Canonical streaming call. Rejects with a GatewayError if the call fails before any event. */
  stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>>;
  /** Canonical non-streaming call. */
  complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse>;
  /** Forward a client body of the provider's own dialect with only the model rewritten. */
  passthrough?(body: JsonObject, call: UpstreamCall, options: PassthroughOptions): Promise<PassthroughResponse>;
  /** Embeddings from a provider whose embedding API is not OpenAI's (OpenAI-shaped ones pass through). */
  embed?(request: EmbeddingRequest, call: UpstreamCall): Promise<EmbeddingResponse>;
  /** A response stored by a Responses API upstream (only adapters that speak `openai-responses`). */
  storedResponse?(call: UpstreamCall, request: StoredResponseRequest): Promise<StoredResponseAnswer>;
  /** Count the input tokens of a request (Anthropic `count_tokens`). */
  countTokens?(request: CanonicalRequest, call: UpstreamCall): Promise<number>;
  /** Same-dialect count_tokens: forward the client's body, return the upstream's `input_tokens`. */
  passthroughCountTokens?(body: JsonObject, call: UpstreamCall): Promise<number>;
}

/**
 * Picks the adapter for one deployment of a provider, by the model id of the call: a wildcard
 * deployment (`vertex_ai/*`) serves several model families, so the id the wildcard resolved to
 * decides (Claude, Gemini, a Model Garden model).
 */
export type AdapterSelector = (deployment: Deployment, upstreamModel?: string) => ProviderAdapter;
