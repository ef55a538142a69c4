import type { ErrorCode } from './errors.js';
import type { CallTrace } from './trace-context.js';
import type { Usage } from './usage.js';

export type Surface =
  | 'openai-chat'
  /** Legacy `POST /v1/completions` (text completions). */
  | 'openai-completions'
  /** `POST /v1/responses` (the Responses API). */
  | 'openai-responses'
  /** `POST /v1/embeddings`. */
  | 'openai-embeddings'
  /** `POST /v1/moderations`. */
  | 'openai-moderations'
  /** `POST /v1/images/generations`. */
  | 'openai-images'
  /** `POST /v1/audio/transcriptions` (a multipart form). */
  | 'openai-audio-transcriptions'
  /** `POST /v1/audio/speech` (binary audio out). */
  | 'openai-audio-speech'
  /** `POST /v1/rerank` (LiteLLM's, Cohere's shape). */
  | 'rerank'
  | 'anthropic-messages'
  | 'anthropic-count-tokens'
  /** Bedrock-shaped ingress: `/bedrock/model/{id}/invoke[-with-response-stream]`. */
  | 'bedrock-invoke'
  /** Bedrock-shaped ingress: `/bedrock/model/{id}/converse[-stream]`. */
  | 'bedrock-converse'
  /** Vertex-shaped ingress: `…/publishers/anthropic/models/{m}:rawPredict|:streamRawPredict`. */
  | 'vertex-raw-predict'
  /** LiteLLM's search tools: `POST /v1/search/{search_tool_name}`. */
  | 'search';

/** Who made the request, as far as authentication could tell. */
export interface Principal {
  /** SHA-256 of the presented key; never the key itself. */
  keyHash?: string | undefined;
  keyAlias?: string | undefined;
  userId?: string | undefined;
  teamId?: string | undefined;
  /** The caller's end user (OpenAI `user`, `x-litellm-end-user-id`). */
  endUser?: string | undefined;
  isMaster: boolean;
}

export interface DeploymentRef {
  id: string;
  modelGroup: string;
  provider: string;
  /** The upstream model id (`litellm_params.model` without the provider prefix). */
  model: string;
  apiBase?: string | undefined;
}

export interface AttemptRecord {
  deploymentId: string;
  startedAt: number;
  durationMs: number;
  outcome: 'success' | 'failure';
  status?: number | undefined;
  errorCode?: ErrorCode | undefined;
  errorMessage?: string | undefined;
}

/**
 * The one record of a request. Metrics, spend logs, budgets and response headers are all fed from
 * it: nothing else computes tokens or cost.
 */
export interface CallRecord {
  /** `x-litellm-call-id`; the spend log's request_id (a client may supply it, so not unique). */
  requestId: string;
  /** Unique id of this record. */
  callId: string;
  /**
   * The answer's own id (`chatcmpl-…`, `msg_…`) when one was seen. LiteLLM keys its spend log by it
   * (`request_id`), so `/spend/logs?request_id=<response id>` finds the call.
   */
  responseId?: string | undefined;
  surface: Surface;
  route: string;
  stream: boolean;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  /** Time from arrival to the first byte of the answer sent to the client. */
  timeToFirstTokenMs?: number | undefined;
  /** Time spent waiting on the upstream (from the winning attempt's send to its last byte). */
  upstreamMs?: number | undefined;
  principal: Principal;
  requestedModel: string;
  modelGroup?: string | undefined;
  deployment?: DeploymentRef | undefined;
  attempts: AttemptRecord[];
  retries: number;
  fallbacks: number;
  outcome: 'success' | 'failure';
  httpStatus: number;
  error?: { code: ErrorCode; message: string; upstreamType?: string | undefined } | undefined;
  /** True when the client went away before the answer was complete. */
  clientDisconnected: boolean;
  usage: Usage;
  /** The upstream model id the deployment was called with (wildcards resolved). */
  upstreamModel?: string | undefined;
  /** Cost in integer nano-USD; null when no price is known (never silently 0). */
  costNanoUsd: number | null;
  /** Why the cost is null. */
  costMissingReason?: 'no_price' | 'missing_rate' | 'no_deployment' | undefined;
  userAgent?: string | undefined;
  /**
   * The client's session (a coding agent's conversation), resolved once from its headers and request
   * metadata (see `resolveSessionId` in http/call/context.ts): the spend log's `session_id`. Unset in
   * records built outside the HTTP path; the spend row then falls back to metadata and the call id.
   */
  sessionId?: string | undefined;
  /**
   * The call went through Tollgate's response cache: `hit` when the answer was replayed from it (no
   * provider called, cost 0), `miss` when it was looked up and not found. Unset when the cache is
   * off or does not serve this kind of call.
   */
  responseCache?: 'hit' | 'miss' | undefined;
  /** The response cache's key for this request (`x-litellm-cache-key`, the spend log's `cache_key`). */
  cacheKey?: string | undefined;
  /** The client's W3C `traceparent`: the call's trace span is its child (observability/otel). */
  traceparent?: string | undefined;
  /** The call span's ids, chosen on arrival when tracing is on (the upstream got them in its `traceparent`). */
  trace?: CallTrace | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** The passthrough (same-dialect) path was used. */
  passthrough: boolean;
}

export interface CallRecordSink {
  record(call: CallRecord): void;
}
