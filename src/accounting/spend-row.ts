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
  'openai-responses': 'aresponses',
  'openai-embeddings': 'aembedding',
  'openai-moderations': 'amoderation',
  'openai-images': 'aimage_generation',
  'openai-audio-transcriptions': 'atranscription',
  'openai-audio-speech': 'aspeech',
  rerank: 'arerank',
  'anthropic-messages': 'anthropic_messages',
  'anthropic-count-tokens': 'count_tokens',
  // LiteLLM logs its Bedrock and Vertex pass-through routes under this call type.
  'bedrock-invoke': 'pass_through_endpoint',
  'bedrock-converse': 'pass_through_endpoint',
  'vertex-raw-predict': 'pass_through_endpoint',
  search: 'asearch',
};

/** LiteLLM's call type of a surface (also what `cache_params.supported_call_types` names). */
export function litellmCallType(surface: Surface): string {
  return CALL_TYPES[surface];
}

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

/** A string as the store may hold it: U+0000 removed, secrets masked. Most strings have neither: no copy then. */
function cleanString(value: string): string {
  const nul = value.includes('\u0000');
  if (!nul && !value.includes('sk-')) return value;
  return redactSecrets(nul ? value.replaceAll('\u0000', '') : value);
}

/** The string fields of the row that come from configuration, tenancy or the client: each cleaned alone. */
function cleanOrNull(value: string | undefined): string | null {
  return value === undefined ? null : cleanString(value);
}

/** A finite number, else null (JSON has no NaN or Infinity). */
function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/**
 * Deeper than this, client metadata is replaced by TOO_DEEP: JSON this deep is no one's spend
 * metadata, and walking it without a bound overflowed the stack (issue 12: 10,000 levels).
 */
const MAX_DEPTH = 64;
const TOO_DEEP = '[too deep]';
const NOT_SERIALIZABLE = '[not serializable]';
/** Marks a walk that found nothing to change: the caller keeps the value it has. */
const SAME = Symbol('same');

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Every string in a JSON-able value with secrets masked and U+0000 removed (Postgres TEXT and
 * JSONB cannot hold it; a client can send it). Values JSON cannot carry (a BigInt, a cycle, a
 * function) are replaced rather than costing the call its row; objects that are not plain (a Date,
 * a Map) become what Object.entries sees of them. Copy-on-write: a value with nothing to change is
 * returned as it is (the common case: no deep copy of a client's metadata), otherwise a cleaned copy.
 */
export function cleanJson(value: unknown): unknown {
  const out = walk(value, new Set<object>(), 0);
  return out === SAME ? value : out;
}

function walk(value: unknown, seen: Set<object>, depth: number): unknown {
  if (typeof value === 'string') {
    const cleaned = cleanString(value);
    return cleaned === value ? SAME : cleaned;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? SAME : null;
  if (value === null || value === undefined || typeof value === 'boolean') return SAME;
  if (typeof value !== 'object') return NOT_SERIALIZABLE;
  if (seen.has(value)) return NOT_SERIALIZABLE;
  if (depth >= MAX_DEPTH) return TOO_DEEP;
  seen.add(value);
  try {
    if (Array.isArray(value)) return walkArray(value as unknown[], seen, depth);
    return walkObject(value, seen, depth);
  } finally {
    seen.delete(value);
  }
}

function walkArray(value: unknown[], seen: Set<object>, depth: number): unknown {
  let copy: unknown[] | undefined;
  // Holes and undefined become null, as JSON writes them in an array.
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const next = walk(item, seen, depth + 1);
    const changed = next !== SAME || item === undefined || !(i in value);
    if (changed && copy === undefined) copy = value.slice(0, i);
    if (copy !== undefined) copy.push(next === SAME ? (item ?? null) : (next ?? null));
  }
  // A subclass of Array (or extra own properties) would not survive the copy either way.
  return copy ?? (Object.getPrototypeOf(value) === Array.prototype ? SAME : value.slice());
}

function walkObject(value: object, seen: Set<object>, depth: number): unknown {
  const entries = Object.entries(value);
  let copy: Record<string, unknown> | undefined = isPlain(value) && Object.keys(value).length === Reflect.ownKeys(value).length ? undefined : {};
  for (let i = 0; i < entries.length; i++) {
    const [key, item] = entries[i] as [string, unknown];
    const cleanKey = cleanString(key);
    const next = walk(item, seen, depth + 1);
    if (copy === undefined && (next !== SAME || cleanKey !== key)) {
      copy = {};
      for (let j = 0; j < i; j++) {
        const [k, v] = entries[j] as [string, unknown];
        copy[k] = v;
      }
    }
    if (copy !== undefined) copy[cleanKey] = next === SAME ? item : next;
  }
  return copy ?? SAME;
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

/** `apiKey` of the last key hash seen: one busy key is most calls, its check done once. */
let lastKeyHash: string | undefined;
let lastApiKey = '';

function apiKeyOf(keyHash: string | undefined): string {
  if (keyHash === undefined) return '';
  if (keyHash === lastKeyHash) return lastApiKey;
  // Principal.keyHash is documented as a hash; if anything else ever arrives, hash it here rather than store it.
  const apiKey = SHA256_HEX.test(keyHash) ? keyHash : createHash('sha256').update(keyHash).digest('hex');
  lastKeyHash = keyHash;
  lastApiKey = apiKey;
  return apiKey;
}

/**
 * The one conversion of a call record into its spend log row and details. Every string that
 * comes from outside (client ids and metadata, configuration, tenancy, upstream errors) is cleaned
 * where it is put in (cleanString, cleanJson) and every number made finite, rather than a deep
 * clean of the finished row: the row is the same, at a fraction of the cost (bench/spend-writer.mjs).
 */
export function spendLogRow(call: CallRecord, facts: PrincipalFacts = {}): SpendLogRow {
  const { usage, principal, deployment } = call;
  const apiKey = apiKeyOf(principal.keyHash);
  const failed = call.outcome === 'failure';
  const provider = cleanString(deployment?.provider ?? '');
  const errorMessage = call.error === undefined ? null : cleanString(redactSecrets(call.error.message));
  const usageObj = usageObject(usage);
  const { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total, ...additional } = usageObj;
  const requestMetadata = call.metadata;
  const overhead = call.upstreamMs === undefined ? null : finite(Math.max(0, call.durationMs - call.upstreamMs));
  const teamId = cleanOrNull(principal.teamId);
  const userId = cleanOrNull(principal.userId);
  const endUser = cleanOrNull(principal.endUser);
  const organizationId = cleanOrNull(facts.organizationId);
  const spendLogsMetadata = requestMetadata?.spend_logs_metadata;
  // LiteLLM's SpendLogsMetadata keys, as _get_spend_logs_metadata fills them.
  const metadata: Record<string, unknown> = {
    user_api_key: apiKey === '' ? null : apiKey,
    user_api_key_alias: cleanOrNull(principal.keyAlias),
    user_api_key_team_id: teamId,
    user_api_key_org_id: organizationId,
    user_api_key_user_id: userId,
    user_api_key_team_alias: cleanOrNull(facts.teamAlias),
    user_api_key_end_user_id: endUser,
    spend_logs_metadata: typeof spendLogsMetadata === 'object' ? cleanJson(spendLogsMetadata) : null,
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
      ? {
          error_code: String(call.httpStatus),
          error_class: call.error === undefined ? '' : cleanString(litellmErrorClass(call.error.code)),
          llm_provider: provider,
          traceback: '',
          error_message: errorMessage ?? '',
        }
      : null,
    proxy_server_request: null,
  };
  const startTime = Math.round(call.startedAt);
  const endTime = Math.round(call.endedAt);
  // LiteLLM's rule (get_spend_logs_id): the response's id, else the litellm call id.
  const requestId = cleanString(call.responseId !== undefined && call.responseId !== '' ? call.responseId : call.requestId);
  const callId = cleanString(call.callId);
  const upstreamModel = call.upstreamModel ?? deployment?.model;
  const log: LiteLLMSpendLog = {
    request_id: requestId,
    call_type: CALL_TYPES[call.surface],
    api_key: apiKey,
    // USD as LiteLLM stores it; an unknown price is 0 there (NOT NULL) and null in the details.
    spend: (call.costNanoUsd === null ? 0 : finite(Math.round(call.costNanoUsd) / 1e9)) as number,
    total_tokens: total as number,
    prompt_tokens: prompt as number,
    completion_tokens: completion as number,
    startTime: finite(startTime) as number,
    endTime: finite(endTime) as number,
    request_duration_ms: finite(Math.round(call.durationMs)),
    // LiteLLM: the first chunk's time when streamed, else the end time.
    completionStartTime: finite(call.timeToFirstTokenMs === undefined ? endTime : Math.round(call.startedAt + call.timeToFirstTokenMs)),
    model: cleanString(upstreamModel ?? call.requestedModel),
    model_id: cleanString(deployment?.id ?? call.attempts.at(-1)?.deploymentId ?? ''),
    model_group: cleanString(call.modelGroup ?? deployment?.modelGroup ?? ''),
    custom_llm_provider: provider,
    api_base: deployment?.apiBase === undefined ? '' : cleanString(stripQuery(deployment.apiBase)),
    user: userId ?? '',
    metadata,
    // As LiteLLM writes them: "True"/"False", and the key (or "Cache OFF" when the cache did not look).
    cache_hit: call.responseCache === 'hit' ? 'True' : 'False',
    cache_key: call.cacheKey ?? 'Cache OFF',
    request_tags: requestTags(requestMetadata).map(cleanString),
    team_id: teamId ?? '',
    organization_id: organizationId ?? '',
    end_user: endUser ?? '',
    requester_ip_address: null,
    // The record's own resolution (headers, then metadata: http/call/context.ts); records made
    // elsewhere have none and keep LiteLLM's metadata rule.
    session_id: cleanString(call.sessionId ?? stringField(requestMetadata, 'litellm_session_id') ?? stringField(requestMetadata, 'litellm_trace_id') ?? call.callId),
    status: call.outcome,
    mcp_namespaced_tool_name: null,
    agent_id: null,
  };
  const details: CallDetails = {
    call_id: callId,
    request_id: requestId,
    litellm_call_id: cleanString(call.requestId),
    surface: call.surface,
    route: cleanString(call.route),
    requested_model: cleanString(call.requestedModel),
    upstream_model: cleanOrNull(upstreamModel),
    provider: cleanOrNull(deployment?.provider),
    retries: finite(call.retries) as number,
    fallbacks: finite(call.fallbacks) as number,
    stream: call.stream,
    passthrough: call.passthrough,
    status_code: finite(call.httpStatus) as number,
    outcome: call.outcome,
    error_class: cleanOrNull(call.error?.code),
    error_message: errorMessage,
    input_uncached_tokens: intOrNull(usage.inputUncached),
    cache_read_tokens: intOrNull(usage.cacheRead),
    cache_write_5m_tokens: intOrNull(usage.cacheWrite5m),
    cache_write_1h_tokens: intOrNull(usage.cacheWrite1h),
    cache_write_unknown_ttl_tokens: intOrNull(usage.cacheWriteUnknownTtl),
    output_tokens: intOrNull(usage.output),
    reasoning_tokens: intOrNull(usage.reasoning),
    // Integer nano-USD end to end; rounding only guards against a fractional value slipping in.
    cost_nano_usd: call.costNanoUsd === null ? null : finite(Math.round(call.costNanoUsd)),
    cost_missing_reason: cleanOrNull(call.costMissingReason),
    ttft_ms: intOrNull(call.timeToFirstTokenMs),
    upstream_ms: intOrNull(call.upstreamMs),
    duration_ms: finite(Math.round(call.durationMs)) as number,
    user_agent: cleanOrNull(call.userAgent),
    client_disconnected: call.clientDisconnected,
    attempts: cleanString(
      JSON.stringify(
        call.attempts.map((a) => ({ deployment_id: a.deploymentId, outcome: a.outcome, status: a.status ?? null, error_code: a.errorCode ?? null, duration_ms: Math.round(a.durationMs) })),
      ),
    ),
  };
  return { log, details };
}
