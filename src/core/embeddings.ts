/**
 * The canonical embedding request and answer: what `/v1/embeddings` decodes into for a provider
 * whose embedding API is not OpenAI's (Bedrock Titan and Cohere, Vertex, Gemini, Cohere), and what
 * such a provider's answer decodes back into. OpenAI-shaped upstreams get the client's bytes.
 */
import type { Usage } from './usage.js';

export type EmbeddingInput =
  | { kind: 'text'; texts: string[] }
  /** Token ids (OpenAI's `input: number[] | number[][]`): only OpenAI-shaped upstreams take them. */
  | { kind: 'tokens'; tokens: number[][] };

export interface EmbeddingRequest {
  model: string;
  input: EmbeddingInput;
  /** The client wants base64 float32 vectors (OpenAI's `encoding_format: "base64"`). */
  encodingFormat: 'float' | 'base64';
  dimensions?: number | undefined;
  user?: string | undefined;
  /** Provider fields LiteLLM passes on (Cohere's `input_type`, Vertex's `task_type`, …), by wire name. */
  extra: Record<string, unknown>;
}

export interface EmbeddingResponse {
  /** The model the upstream says answered ('' when it does not say). */
  model: string;
  /** One vector per input, in input order. */
  vectors: number[][];
  usage: Usage;
}
