/**
 * The one conversion of a finished CallRecord into what the spend store writes: its
 * `LiteLLM_SpendLogs` row, filled as LiteLLM's `get_logging_payload`
 * (litellm/proxy/spend_tracking/spend_tracking_utils.py) fills it, and Tollgate's exact details.
 */
import { createHash } from 'node:crypto';
import type { CallRecord, Principal, Surface } from '../core/call-record.js';
import { litellmErrorClass } from '../core/errors.js';
import { cacheWriteTotal, totalInput } from '../core/usage.js';
import type { CallDetails, LiteLLMSpendLog, SpendLogRow } from '../storage/ports.js';

const CALL_TYPES: Record<Surface, string> = {
  'openai-chat': 'acompletion',
  'openai-completions': 'atext_completion',
  'anthropic-messages': 'anthropic_messages',
  'anthropic-count-tokens': 'count_tokens',
  // LiteLLM logs its Bedrock and Vertex pass-through routes under this call type.
  'bedrock-invoke': 'pass_through_endpoint',
  'bedrock-converse': 'pass_through_endpoint',
  'vertex-raw-predict': 'pass_through_endpoint',
};

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Key-shaped secrets (`sk-…`, `sk-ant-…`) that an upstream error or client metadata may echo. */
const SECRET = /\bsk-[A-Za-z0-9_-]{8,}/g;

/** Mask key-shaped strings as LiteLLM does (`sk-...abcd`) so no plaintext key reaches the store. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET, (key) => `sk-...${key.slice(-4)}`);
}

/** The first `"id": "…"` member of a JSON object or SSE event: OpenAI's `{"id":"chatcmpl-…"`, Anthropic's `{"id":"msg_…"` and `message_start`'s `"message":{"id":"msg_…"`. */
const FIRST_ID = /[{,]\s*"id"\s*:\s*"([^"\\]{1,200})"/;

/**
 * The answer's own id, read from the first bytes the client gets (a JSON body or the first stream
 * chunk), for `CallContext.responseId`: LiteLLM keys its spend log by it. Looks at 4 KB at most.
 */
export function responseIdOf(bytes: Buffer | string | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  const head = typeof bytes === 'string' ? bytes.slice(0, 4096) : bytes.subarray(0, 4096).toString('utf8');
  return FIRST_ID.exec(head)?.[1];
}

/** What the call record does not carry about its principal, looked up from the tenancy cache. */
export interface PrincipalFacts {
  teamAlias?: string | undefined;
  organizationId?: string | undefined;
}

export type DescribePrincipal = (principal: Principal) => PrincipalFacts;

function intOrNull(value: number | undefined): number | null {
  return value === undefined || !Number.isFinite(value) ? null : Math.round(value);
}

function stripQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function requestTags(metadata: Record<string, unknown> | undefined): string[] {
  const tags = metadata?.tags;
  return Array.isArray(tags) ? [...new Set(tags.filter((t): t is string => typeof t === 'string'))] : [];
}

function stringField(metadata: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = metadata?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Every string in a JSON-able value with secrets masked and U+0000 removed (Postgres TEXT and
 * JSONB cannot hold it; a client can send it). Values JSON cannot carry (a BigInt, a cycle) are
 * replaced rather than costing the call its row.
 */
function clean(value: unknown, seen = new Set<object>()): unknown {
  if (typeof value === 'string') return redactSecrets(value.includes('\u0000') ? value.replaceAll('\u0000', '') : value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value !== 'object') return value === undefined ? undefined : '[not serializable]';
  if (seen.has(value)) return '[not serializable]';
  seen.add(value);
  const out = Array.isArray(value) ? value.map((v) => clean(v, seen) ?? null) : Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k) as string, clean(v, seen)]));
  seen.delete(value);
  return out;
}

/** The provider usage as LiteLLM's OpenAI-shaped `Usage` object (what its spend log metadata keeps as `usage_object`). */
function usageObject(usage: CallRecord['usage']): Record<string, unknown> {
  const prompt = intOrNull(totalInput(usage)) ?? 0;
  const completion = intOrNull(usage.output) ?? 0;
  const cacheRead = intOrNull(usage.cacheRead);
  const cacheWrite = intOrNull(cacheWriteTotal(usage));
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    completion_tokens_details: { reasoning_tokens: intOrNull(usage.reasoning) },
    prompt_tokens_details: {
      cached_tokens: cacheRead,
      cache_creation_tokens: cacheWrite,
      cache_creation_token_details: { ephemeral_5m_input_tokens: intOrNull(usage.cacheWrite5m), ephemeral_1h_input_tokens: intOrNull(usage.cacheWrite1h) },
    },
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
}

/** The one conversion of a call record into its spend log row and details. */
export function spendLogRow(call: CallRecord, facts: PrincipalFacts = {}): SpendLogRow {
  const { usage, principal, deployment } = call;
  const keyHash = principal.keyHash;
  // Principal.keyHash is documented as a hash; if anything else ever arrives, hash it here rather than store it.
  const apiKey = keyHash === undefined ? '' : SHA256_HEX.test(keyHash) ? keyHash : createHash('sha256').update(keyHash).digest('hex');
  const failed = call.outcome === 'failure';
  const provider = deployment?.provider ?? '';
  const errorMessage = call.error === undefined ? null : redactSecrets(call.error.message);
  const usageObj = usageObject(usage);
  const { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total, ...additional } = usageObj;
  const requestMetadata = call.metadata;
  const overhead = call.upstreamMs === undefined ? null : Math.max(0, call.durationMs - call.upstreamMs);
  // LiteLLM's SpendLogsMetadata keys, as _get_spend_logs_metadata fills them.
  const metadata: Record<string, unknown> = {
    user_api_key: apiKey === '' ? null : apiKey,
    user_api_key_alias: principal.keyAlias ?? null,
    user_api_key_team_id: principal.teamId ?? null,
    user_api_key_org_id: facts.organizationId ?? null,
    user_api_key_user_id: principal.userId ?? null,
    user_api_key_team_alias: facts.teamAlias ?? null,
    user_api_key_end_user_id: principal.endUser ?? null,
    spend_logs_metadata: typeof requestMetadata?.spend_logs_metadata === 'object' ? requestMetadata.spend_logs_metadata : null,
    requester_ip_address: null,
    applied_guardrails: [],
    batch_models: null,
    mcp_tool_call_metadata: null,
    vector_store_request_metadata: null,
    guardrail_information: null,
    usage_object: usageObj,
    model_map_information: null,
    cold_storage_object_key: null,
    litellm_overhead_time_ms: overhead,
    cost_breakdown: null,
    additional_usage_values: additional,
    status: call.outcome,
    error_information: failed
      ? { error_code: String(call.httpStatus), error_class: call.error === undefined ? '' : litellmErrorClass(call.error.code), llm_provider: provider, traceback: '', error_message: errorMessage ?? '' }
      : null,
    proxy_server_request: null,
  };
  const startTime = Math.round(call.startedAt);
  const endTime = Math.round(call.endedAt);
  // LiteLLM's rule (get_spend_logs_id): the response's id, else the litellm call id.
  const requestId = call.responseId !== undefined && call.responseId !== '' ? call.responseId : call.requestId;
  const log: LiteLLMSpendLog = {
    request_id: requestId,
    call_type: CALL_TYPES[call.surface],
    api_key: apiKey,
    // USD as LiteLLM stores it; an unknown price is 0 there (NOT NULL) and null in the details.
    spend: call.costNanoUsd === null ? 0 : Math.round(call.costNanoUsd) / 1e9,
    total_tokens: total as number,
    prompt_tokens: prompt as number,
    completion_tokens: completion as number,
    startTime,
    endTime,
    request_duration_ms: Math.round(call.durationMs),
    // LiteLLM: the first chunk's time when streamed, else the end time.
    completionStartTime: call.timeToFirstTokenMs === undefined ? endTime : Math.round(call.startedAt + call.timeToFirstTokenMs),
    model: call.upstreamModel ?? deployment?.model ?? call.requestedModel,
    model_id: deployment?.id ?? call.attempts.at(-1)?.deploymentId ?? '',
    model_group: call.modelGroup ?? deployment?.modelGroup ?? '',
    custom_llm_provider: provider,
    api_base: deployment?.apiBase === undefined ? '' : stripQuery(deployment.apiBase),
    user: principal.userId ?? '',
    metadata: clean(metadata) as Record<string, unknown>,
    cache_hit: 'False',
    cache_key: 'Cache OFF',
    request_tags: clean(requestTags(requestMetadata)) as string[],
    team_id: principal.teamId ?? '',
    organization_id: facts.organizationId ?? '',
    end_user: principal.endUser ?? '',
    requester_ip_address: null,
    session_id: stringField(requestMetadata, 'litellm_session_id') ?? stringField(requestMetadata, 'litellm_trace_id') ?? call.callId,
    status: call.outcome,
    mcp_namespaced_tool_name: null,
    agent_id: null,
  };
  const details: CallDetails = {
    call_id: call.callId,
    request_id: requestId,
    litellm_call_id: call.requestId,
    surface: call.surface,
    route: call.route,
    requested_model: call.requestedModel,
    upstream_model: call.upstreamModel ?? deployment?.model ?? null,
    provider: deployment?.provider ?? null,
    retries: call.retries,
    fallbacks: call.fallbacks,
    stream: call.stream,
    passthrough: call.passthrough,
    status_code: call.httpStatus,
    outcome: call.outcome,
    error_class: call.error?.code ?? null,
    error_message: errorMessage,
    input_uncached_tokens: intOrNull(usage.inputUncached),
    cache_read_tokens: intOrNull(usage.cacheRead),
    cache_write_5m_tokens: intOrNull(usage.cacheWrite5m),
    cache_write_1h_tokens: intOrNull(usage.cacheWrite1h),
    cache_write_unknown_ttl_tokens: intOrNull(usage.cacheWriteUnknownTtl),
    output_tokens: intOrNull(usage.output),
    reasoning_tokens: intOrNull(usage.reasoning),
    // Integer nano-USD end to end; rounding only guards against a fractional value slipping in.
    cost_nano_usd: call.costNanoUsd === null ? null : Math.round(call.costNanoUsd),
    cost_missing_reason: call.costMissingReason ?? null,
    ttft_ms: intOrNull(call.timeToFirstTokenMs),
    upstream_ms: intOrNull(call.upstreamMs),
    duration_ms: Math.round(call.durationMs),
    user_agent: call.userAgent ?? null,
    client_disconnected: call.clientDisconnected,
    attempts: JSON.stringify(
      call.attempts.map((a) => ({ deployment_id: a.deploymentId, outcome: a.outcome, status: a.status ?? null, error_code: a.errorCode ?? null, duration_ms: Math.round(a.durationMs) })),
    ),
  };
  return { log: clean(log) as LiteLLMSpendLog, details: clean(details) as CallDetails };
}
