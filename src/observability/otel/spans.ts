/**
 * CallRecord → OTLP/JSON spans, following OpenTelemetry's GenAI semantic conventions: one span per
 * call (named `{gen_ai.operation.name} {gen_ai.request.model}`), one child span per upstream
 * attempt. Built only from the record (and the static deployment table for attempts that did not
 * win), so tracing can never disagree with metrics or the spend log.
 */
import { newSpanId } from '../../core/trace-context.js';
import type { AttemptRecord, CallRecord, Surface } from '../../core/call-record.js';
import { cacheWriteTotal, totalInput, totalTokens } from '../../core/usage.js';

/** OTLP/JSON `AnyValue` (int64 as a decimal string, as the protobuf JSON mapping requires). */
export type OtlpValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
export interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** 2 = SERVER, 3 = CLIENT (OTLP's SpanKind enum). */
  kind: 2 | 3;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  /** 1 = OK, 2 = ERROR. Unset (omitted) for successful calls, as instrumentations leave it. */
  status?: { code: 1 | 2; message?: string };
}

/** What an attempt's child span needs to know about a deployment that is not the record's winner. */
export interface DeploymentInfo {
  provider: string;
  model: string;
  apiBase?: string | undefined;
}

export type { TraceParent } from '../../core/trace-context.js';
export { newSpanId, newTraceId, parseTraceparent } from '../../core/trace-context.js';


/** `gen_ai.operation.name`: the convention's well-known values where one fits, else a descriptive one. */
const OPERATION: Record<Surface, string> = {
  'openai-chat': 'chat',
  'openai-responses': 'chat',
  'anthropic-messages': 'chat',
  'bedrock-invoke': 'chat',
  'bedrock-converse': 'chat',
  'vertex-raw-predict': 'chat',
  'openai-completions': 'text_completion',
  'openai-embeddings': 'embeddings',
  'openai-moderations': 'moderation',
  'openai-images': 'image_generation',
  'openai-audio-transcriptions': 'transcription',
  'openai-audio-speech': 'speech',
  rerank: 'rerank',
  'anthropic-count-tokens': 'count_tokens',
  search: 'search',
};

/** LiteLLM provider names → `gen_ai.provider.name` well-known values; others pass through. */
const PROVIDER: Record<string, string> = {
  bedrock: 'aws.bedrock',
  bedrock_converse: 'aws.bedrock',
  vertex_ai: 'gcp.vertex_ai',
  vertex_ai_beta: 'gcp.vertex_ai',
  gemini: 'gcp.gemini',
  azure: 'azure.ai.openai',
  azure_ai: 'azure.ai.inference',
  cohere_chat: 'cohere',
  xai: 'x_ai',
};

export function operationName(surface: Surface): string {
  return OPERATION[surface];
}

function providerName(provider: string): string {
  return PROVIDER[provider] ?? provider;
}

class Attributes {
  readonly list: OtlpAttribute[] = [];
  str(key: string, value: string | undefined): this {
    if (value !== undefined && value !== '') this.list.push({ key, value: { stringValue: value } });
    return this;
  }
  int(key: string, value: number | undefined): this {
    if (value !== undefined && Number.isFinite(value)) this.list.push({ key, value: { intValue: String(Math.round(value)) } });
    return this;
  }
  double(key: string, value: number | undefined): this {
    if (value !== undefined && Number.isFinite(value)) this.list.push({ key, value: { doubleValue: value } });
    return this;
  }
  bool(key: string, value: boolean | undefined): this {
    if (value !== undefined) this.list.push({ key, value: { boolValue: value } });
    return this;
  }
}

/** server.address / server.port and a credential-free api_base (no userinfo, no query string). */
function endpointAttributes(attrs: Attributes, apiBase: string | undefined): void {
  if (apiBase === undefined) return;
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    return;
  }
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : undefined;
  attrs.str('server.address', url.hostname).int('server.port', port).str('tollgate.deployment.api_base', `${url.origin}${url.pathname}`.replace(/\/$/, ''));
}

function nanos(ms: number): string {
  // Whole microseconds in ms, then ×1e6 as a BigInt: Number loses precision beyond 2^53 ns.
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

/** The spans of one call: the call span first, then one child per attempt. */
export function spansOf(call: CallRecord, trace: { traceId: string; spanId?: string | undefined; parentSpanId?: string | undefined }, lookup: (id: string) => DeploymentInfo | undefined): OtlpSpan[] {
  const operation = operationName(call.surface);
  const requestModel = call.requestedModel !== '' ? call.requestedModel : call.modelGroup;
  const u = call.usage;
  const attrs = new Attributes()
    .str('gen_ai.operation.name', operation)
    .str('gen_ai.request.model', requestModel)
    .str('gen_ai.response.model', call.upstreamModel ?? call.deployment?.model)
    .str('gen_ai.response.id', call.responseId)
    .int('gen_ai.usage.input_tokens', totalInput(u))
    .int('gen_ai.usage.output_tokens', u.output)
    .int('gen_ai.usage.total_tokens', totalTokens(u))
    .int('gen_ai.usage.cache_read.input_tokens', u.cacheRead)
    .int('gen_ai.usage.cache_creation.input_tokens', cacheWriteTotal(u))
    .int('tollgate.usage.cache_creation_5m.input_tokens', u.cacheWrite5m)
    .int('tollgate.usage.cache_creation_1h.input_tokens', u.cacheWrite1h)
    .int('tollgate.usage.reasoning.output_tokens', u.reasoning)
    // LiteLLM's name for the call's cost in USD (its cost_breakdown as gen_ai.cost.*).
    .double('gen_ai.cost.total_cost', call.costNanoUsd === null ? undefined : call.costNanoUsd / 1e9)
    .str('tollgate.cost_missing_reason', call.costMissingReason)
    .int('http.response.status_code', call.httpStatus)
    .str('http.route', call.route)
    .str('user_agent.original', call.userAgent)
    .str('session.id', call.sessionId)
    .str('tollgate.request_id', call.requestId)
    .str('tollgate.call_id', call.callId)
    .str('tollgate.model_group', call.modelGroup)
    .bool('tollgate.stream', call.stream)
    .bool('tollgate.passthrough', call.passthrough)
    .bool('tollgate.client_disconnected', call.clientDisconnected || undefined)
    .str('tollgate.response_cache', call.responseCache)
    .int('tollgate.retries', call.retries)
    .int('tollgate.fallbacks', call.fallbacks)
    .int('tollgate.attempts', call.attempts.length)
    .double('tollgate.time_to_first_token_ms', call.timeToFirstTokenMs)
    // LiteLLM's StandardLoggingMetadata names, as its otel callback writes them (metadata.*).
    .str('metadata.user_api_key_hash', call.principal.keyHash)
    .str('metadata.user_api_key_alias', call.principal.keyAlias)
    .str('metadata.user_api_key_user_id', call.principal.userId)
    .str('metadata.user_api_key_team_id', call.principal.teamId)
    .str('metadata.user_api_key_end_user_id', call.principal.endUser);
  if (call.deployment !== undefined) {
    attrs.str('gen_ai.provider.name', providerName(call.deployment.provider)).str('gen_ai.system', providerName(call.deployment.provider)).str('tollgate.deployment.id', call.deployment.id);
    endpointAttributes(attrs, call.deployment.apiBase);
  }
  const failed = call.outcome === 'failure';
  if (failed) attrs.str('error.type', call.error?.code ?? String(call.httpStatus));
  const spanId = trace.spanId ?? newSpanId();
  const callSpan: OtlpSpan = {
    traceId: trace.traceId,
    spanId,
    ...(trace.parentSpanId === undefined ? {} : { parentSpanId: trace.parentSpanId }),
    name: requestModel === undefined ? operation : `${operation} ${requestModel}`,
    kind: 2,
    startTimeUnixNano: nanos(call.startedAt),
    endTimeUnixNano: nanos(call.endedAt),
    attributes: attrs.list,
    ...(failed ? { status: { code: 2 as const, message: call.error?.message ?? `HTTP ${call.httpStatus}` } } : {}),
  };
  return [callSpan, ...call.attempts.map((a, i) => attemptSpan(call, a, i, operation, trace.traceId, spanId, lookup))];
}

function attemptSpan(call: CallRecord, a: AttemptRecord, index: number, operation: string, traceId: string, parentSpanId: string, lookup: (id: string) => DeploymentInfo | undefined): OtlpSpan {
  const d: DeploymentInfo | undefined = call.deployment?.id === a.deploymentId ? call.deployment : lookup(a.deploymentId);
  const attrs = new Attributes()
    .str('gen_ai.operation.name', operation)
    .str('gen_ai.request.model', d?.model)
    .str('gen_ai.provider.name', d === undefined ? undefined : providerName(d.provider))
    .str('tollgate.deployment.id', a.deploymentId)
    .int('tollgate.attempt.index', index)
    .str('tollgate.attempt.outcome', a.outcome)
    .int('http.response.status_code', a.status);
  endpointAttributes(attrs, d?.apiBase);
  const failed = a.outcome === 'failure';
  if (failed) attrs.str('error.type', a.errorCode ?? (a.status === undefined ? 'error' : String(a.status)));
  return {
    traceId,
    spanId: newSpanId(),
    parentSpanId,
    name: d === undefined ? `${operation} ${a.deploymentId}` : `${operation} ${d.model}`,
    kind: 3,
    startTimeUnixNano: nanos(a.startedAt),
    endTimeUnixNano: nanos(a.startedAt + a.durationMs),
    attributes: attrs.list,
    ...(failed ? { status: { code: 2 as const, ...(a.errorMessage === undefined ? {} : { message: a.errorMessage }) } } : {}),
  };
}
