/**
 * Once, at migration: the rows an older Tollgate wrote into its own `spend_logs` table are copied
 * into LiteLLM's tables (a `LiteLLM_SpendLogs` row and its `tollgate_call_details` each, and their
 * sums into the daily tables), so `/spend/logs`, the reports and LiteLLM's UI keep the history.
 * `spend_logs` itself is left as it was and no longer read or written.
 */
import { sql, type Kysely } from 'kysely';
import type { CallDetails, DatabaseDialect, LiteLLMSpendLog, SpendLogRow } from '../ports.js';
import { ColumnCatalog, decodeJson, num, numOrNull, text, textOrNull, type LooseRow, type SpendSchema } from './spend-tables.js';
import { loadShapes, writeSpendRows } from './spend-write.js';

const PAGE = 500;

export async function importLegacySpendLogs(db: Kysely<unknown>, dialect: DatabaseDialect): Promise<void> {
  const k = db as unknown as Kysely<SpendSchema>;
  const shapes = await loadShapes(new ColumnCatalog(k, dialect));
  let after = '';
  for (;;) {
    const rows = await k.selectFrom('spend_logs').selectAll().where(sql<boolean>`call_id > ${after}`).orderBy(sql.ref('call_id')).limit(PAGE).execute();
    if (rows.length === 0) return;
    await writeSpendRows(k, dialect, shapes, rows.map(fromLegacy), Date.now());
    after = text(rows[rows.length - 1]?.call_id);
  }
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function sumKnown(values: (number | null)[]): number | null {
  let total: number | null = null;
  for (const v of values) if (v !== null) total = (total ?? 0) + v;
  return total;
}

/** One old `spend_logs` row as the row and details the spend writer would have made of its call. */
export function fromLegacy(r: LooseRow): SpendLogRow {
  const stored = record(decodeJson(r.metadata));
  const requestMetadata = record(stored.request_metadata);
  const start = num(r.start_time);
  const end = num(r.end_time);
  const ttft = numOrNull(r.ttft_ms);
  const nano = numOrNull(r.cost_nano_usd);
  const outcome = text(r.outcome) === 'failure' ? 'failure' : 'success';
  const apiKey = text(r.api_key);
  const cacheRead = numOrNull(r.cache_read_tokens);
  const cacheWrite = sumKnown([numOrNull(r.cache_write_5m_tokens), numOrNull(r.cache_write_1h_tokens), numOrNull(r.cache_write_unknown_ttl_tokens)]);
  const prompt = num(r.prompt_tokens);
  const completion = num(r.completion_tokens);
  const provider = text(r.provider);
  const tags = decodeJson(r.tags);
  const log: LiteLLMSpendLog = {
    request_id: text(r.request_id),
    call_type: text(r.call_type),
    api_key: apiKey,
    spend: nano === null ? 0 : nano / 1e9,
    total_tokens: num(r.total_tokens),
    prompt_tokens: prompt,
    completion_tokens: completion,
    startTime: start,
    endTime: end,
    request_duration_ms: num(r.duration_ms),
    completionStartTime: ttft === null ? end : start + ttft,
    model: textOrNull(r.upstream_model) ?? text(r.requested_model),
    model_id: text(r.model_id),
    model_group: text(r.model_group),
    custom_llm_provider: provider,
    api_base: text(r.api_base),
    user: text(r.user_id),
    metadata: {
      user_api_key: apiKey === '' ? null : apiKey,
      user_api_key_alias: textOrNull(r.key_alias),
      user_api_key_team_id: textOrNull(r.team_id),
      user_api_key_org_id: null,
      user_api_key_user_id: textOrNull(r.user_id),
      user_api_key_team_alias: null,
      user_api_key_end_user_id: textOrNull(r.end_user),
      spend_logs_metadata: typeof requestMetadata.spend_logs_metadata === 'object' ? requestMetadata.spend_logs_metadata : null,
      requester_ip_address: null,
      usage_object: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        completion_tokens_details: { reasoning_tokens: numOrNull(r.reasoning_tokens) },
        prompt_tokens_details: {
          cached_tokens: cacheRead,
          cache_creation_tokens: cacheWrite,
          cache_creation_token_details: { ephemeral_5m_input_tokens: numOrNull(r.cache_write_5m_tokens), ephemeral_1h_input_tokens: numOrNull(r.cache_write_1h_tokens) },
        },
        cache_creation_input_tokens: cacheWrite,
        cache_read_input_tokens: cacheRead,
      },
      status: outcome,
      error_information:
        outcome === 'failure' ? { error_code: String(num(r.status_code)), error_class: text(r.error_class), llm_provider: provider, traceback: '', error_message: text(r.error_message) } : null,
      imported_from: 'spend_logs',
    },
    cache_hit: 'False',
    cache_key: 'Cache OFF',
    request_tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [],
    team_id: text(r.team_id),
    organization_id: '',
    end_user: text(r.end_user),
    requester_ip_address: null,
    session_id: text(r.call_id),
    status: outcome,
    mcp_namespaced_tool_name: null,
    agent_id: null,
  };
  const details: CallDetails = {
    call_id: text(r.call_id),
    request_id: text(r.request_id),
    litellm_call_id: text(r.request_id),
    surface: text(r.surface),
    route: typeof stored.route === 'string' ? stored.route : '',
    requested_model: text(r.requested_model),
    upstream_model: textOrNull(r.upstream_model),
    provider: textOrNull(r.provider),
    retries: num(r.retries),
    fallbacks: num(r.fallbacks),
    stream: num(r.stream) === 1,
    passthrough: stored.passthrough === true,
    status_code: num(r.status_code),
    outcome,
    error_class: textOrNull(r.error_class),
    error_message: textOrNull(r.error_message),
    input_uncached_tokens: numOrNull(r.input_uncached_tokens),
    cache_read_tokens: cacheRead,
    cache_write_5m_tokens: numOrNull(r.cache_write_5m_tokens),
    cache_write_1h_tokens: numOrNull(r.cache_write_1h_tokens),
    cache_write_unknown_ttl_tokens: numOrNull(r.cache_write_unknown_ttl_tokens),
    output_tokens: numOrNull(r.output_tokens),
    reasoning_tokens: numOrNull(r.reasoning_tokens),
    cost_nano_usd: nano,
    cost_missing_reason: typeof stored.cost_missing_reason === 'string' ? stored.cost_missing_reason : null,
    ttft_ms: ttft,
    upstream_ms: typeof stored.upstream_ms === 'number' ? stored.upstream_ms : null,
    duration_ms: num(r.duration_ms),
    user_agent: textOrNull(r.user_agent),
    client_disconnected: num(r.client_disconnected) === 1,
    attempts: JSON.stringify(Array.isArray(stored.attempts) ? stored.attempts : []),
  };
  return { log, details };
}
