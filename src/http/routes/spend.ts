/**
 * LiteLLM's spend endpoints over the spend log store: `GET /spend/logs` and
 * `GET /global/spend/report`, in LiteLLM's response shapes (field names, nesting, `spend` in USD)
 * so existing scripts keep working. Money is integer nano-USD until it is rendered here.
 *
 * Where LiteLLM is loose, Tollgate is exact: `end_date` includes that whole day (LiteLLM compares
 * with midnight), an `api_key` is hashed whatever its prefix, every given filter applies together,
 * and a call with no known price shows `spend: null` rather than 0 (sums cover the known costs and
 * say how many requests were unpriced).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalidRequest, toGatewayError } from '../../core/errors.js';
import { hashKey } from '../../policy/auth.js';
import type { SpendAggregate, SpendLogFilter, SpendLogRow, SpendLogStore } from '../../storage/ports.js';
import { sendError } from '../proxy-flow.js';
import { openAIChatCodec } from '../surfaces.js';

export interface SpendRouteDeps {
  store: SpendLogStore;
  /** Throws a GatewayError (401/403) unless the caller may read spend for everyone. */
  authorizeAdmin(headers: IncomingHttpHeaders): void;
  /** Team alias for the team report (LiteLLM shows `team_alias`); the team id is shown without one. */
  teamAlias?: ((teamId: string) => string | undefined) | undefined;
}

const DAY_MS = 86_400_000;
const DEFAULT_LOG_LIMIT = 10_000;
const MAX_LOG_LIMIT = 100_000;
const GROUP_BYS = ['team', 'customer', 'api_key', 'model'] as const;
type GroupBy = (typeof GROUP_BYS)[number];

type Query = Record<string, unknown>;

export function registerSpendRoutes(app: FastifyInstance, deps: SpendRouteDeps): void {
  const guarded = (handler: (query: Query, reply: FastifyReply) => Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      try {
        deps.authorizeAdmin(request.headers);
        const query = (request.query ?? {}) as Query;
        return await handler(query, reply);
      } catch (err) {
        void reply.hijack();
        sendError(reply.raw, openAIChatCodec, toGatewayError(err), {});
        return undefined;
      }
    };
  app.get('/spend/logs', guarded((query, reply) => spendLogs(deps, query, reply)));
  app.get('/global/spend/report', guarded((query) => spendReport(deps, query)));
}

async function spendLogs(deps: SpendRouteDeps, query: Query, reply: FastifyReply): Promise<unknown> {
  const startDate = param(query, 'start_date');
  const endDate = param(query, 'end_date');
  const filter: SpendLogFilter = {
    requestId: param(query, 'request_id'),
    apiKey: keyHashParam(param(query, 'api_key')),
    userId: param(query, 'user_id'),
    teamId: param(query, 'team_id'),
    endUser: param(query, 'end_user'),
    from: startDate === undefined ? undefined : parseDate(startDate, 'start_date', 'start'),
    to: endDate === undefined ? undefined : parseDate(endDate, 'end_date', 'end'),
  };
  // LiteLLM: with both dates and no `summarize=false`, the answer is a per-day summary, not rows.
  if (startDate !== undefined && endDate !== undefined && param(query, 'summarize')?.toLowerCase() !== 'false') {
    return dailySummary(deps.store, filter);
  }
  const limit = parseLimit(param(query, 'limit'));
  const rows = await deps.store.query({ ...filter, limit: limit + 1 });
  if (rows.length > limit) {
    rows.length = limit;
    void reply.header('x-tollgate-truncated', `true; limit=${limit}`);
  }
  return rows.map(litellmRow);
}

async function spendReport(deps: SpendRouteDeps, query: Query): Promise<unknown> {
  const startDate = param(query, 'start_date');
  const endDate = param(query, 'end_date');
  if (startDate === undefined || endDate === undefined) throw invalidRequest('Please provide start_date and end_date');
  const groupByParam = param(query, 'group_by') ?? 'team';
  if (!(GROUP_BYS as readonly string[]).includes(groupByParam)) {
    throw invalidRequest(`group_by must be one of ${GROUP_BYS.join(', ')}`, 'group_by');
  }
  let groupBy = groupByParam as GroupBy;
  const apiKey = keyHashParam(param(query, 'api_key'));
  const userId = param(query, 'internal_user_id');
  // LiteLLM answers a key or user filter with the per-key shape whatever group_by says.
  if (apiKey !== undefined || userId !== undefined) groupBy = 'api_key';
  const range = {
    from: parseDate(startDate, 'start_date', 'start'),
    to: parseDate(endDate, 'end_date', 'end'),
    apiKey,
    userId,
    teamId: param(query, 'team_id'),
    endUser: param(query, 'customer_id'),
  };
  if (groupBy === 'api_key' || groupBy === 'model') {
    const [outer, inner] = groupBy === 'api_key' ? (['api_key', 'model'] as const) : (['model_group', 'api_key'] as const);
    return byTotals(await deps.store.report({ ...range, by: [outer, inner] }), outer, inner, groupBy);
  }
  const who = groupBy === 'team' ? 'team_id' : 'end_user';
  const aggregates = await deps.store.report({ ...range, by: ['day', who, 'model', 'api_key'] });
  return byDay(aggregates, who, (id) => (groupBy === 'team' ? teamName(deps, id) : id));
}

// ---- /spend/logs shapes ----

function litellmRow(row: SpendLogRow): Record<string, unknown> {
  const stored = parseJson(row.metadata);
  const requestMetadata = isRecord(stored.request_metadata) ? stored.request_metadata : {};
  const failed = row.outcome === 'failure';
  const cacheWrite = sumKnown([row.cache_write_5m_tokens, row.cache_write_1h_tokens, row.cache_write_unknown_ttl_tokens]);
  return {
    request_id: row.request_id,
    call_type: row.call_type,
    api_key: row.api_key ?? '',
    spend: usd(row.cost_nano_usd),
    total_tokens: row.total_tokens,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    startTime: new Date(row.start_time).toISOString(),
    endTime: new Date(row.end_time).toISOString(),
    request_duration_ms: row.duration_ms,
    completionStartTime: row.ttft_ms === null ? null : new Date(row.start_time + row.ttft_ms).toISOString(),
    model: row.upstream_model ?? row.requested_model,
    model_id: row.model_id ?? '',
    model_group: row.model_group ?? '',
    custom_llm_provider: row.provider ?? '',
    api_base: row.api_base ?? '',
    user: row.user_id ?? '',
    metadata: {
      user_api_key: row.api_key,
      user_api_key_alias: row.key_alias,
      user_api_key_team_id: row.team_id,
      user_api_key_user_id: row.user_id,
      user_api_key_team_alias: null,
      user_api_key_org_id: null,
      spend_logs_metadata: isRecord(requestMetadata.spend_logs_metadata) ? requestMetadata.spend_logs_metadata : null,
      requester_ip_address: null,
      status: row.outcome,
      error_information: failed
        ? { error_code: String(row.status_code), error_class: errorClass(row.error_class), llm_provider: row.provider ?? '', error_message: row.error_message ?? '' }
        : null,
      usage_object: {
        prompt_tokens: row.prompt_tokens,
        completion_tokens: row.completion_tokens,
        total_tokens: row.total_tokens,
        prompt_tokens_details: { cached_tokens: row.cache_read_tokens },
        completion_tokens_details: { reasoning_tokens: row.reasoning_tokens },
        cache_read_input_tokens: row.cache_read_tokens,
        cache_creation_input_tokens: cacheWrite,
      },
      tollgate: {
        surface: row.surface,
        requested_model: row.requested_model,
        provider: row.provider,
        upstream_model: row.upstream_model,
        retries: row.retries,
        fallbacks: row.fallbacks,
        stream: row.stream,
        status_code: row.status_code,
        error_code: row.error_class,
        ttft_ms: row.ttft_ms,
        duration_ms: row.duration_ms,
        client_disconnected: row.client_disconnected,
        user_agent: row.user_agent,
        cost_nano_usd: row.cost_nano_usd,
        tokens: {
          input_uncached: row.input_uncached_tokens,
          cache_read: row.cache_read_tokens,
          cache_write_5m: row.cache_write_5m_tokens,
          cache_write_1h: row.cache_write_1h_tokens,
          cache_write_unknown_ttl: row.cache_write_unknown_ttl_tokens,
          output: row.output_tokens,
          reasoning: row.reasoning_tokens,
        },
        ...stored,
      },
    },
    cache_hit: 'False',
    cache_key: '',
    request_tags: parseJsonArray(row.tags),
    team_id: row.team_id,
    organization_id: null,
    end_user: row.end_user,
    requester_ip_address: null,
    messages: {},
    response: {},
    session_id: null,
    status: row.outcome,
    mcp_namespaced_tool_name: null,
    agent_id: null,
    proxy_server_request: {},
  };
}

/** LiteLLM's summarized /spend/logs: per UTC day, total spend and spend by key, user and model. */
async function dailySummary(store: SpendLogStore, filter: SpendLogFilter): Promise<unknown[]> {
  const aggregates = await store.report({ ...filter, by: ['day', 'api_key', 'user_id', 'model'] });
  if (aggregates.length === 0) return [];
  const days = new Map<string, { users: Map<string, number>; models: Map<string, number>; keys: Map<string, number>; total: number }>();
  for (const a of aggregates) {
    const day = a.keys.day ?? '';
    let entry = days.get(day);
    if (entry === undefined) days.set(day, (entry = { users: new Map(), models: new Map(), keys: new Map(), total: 0 }));
    entry.total += a.costNanoUsd;
    addTo(entry.users, a.keys.user_id ?? '', a.costNanoUsd);
    addTo(entry.models, a.keys.model ?? '', a.costNanoUsd);
    addTo(entry.keys, a.keys.api_key ?? '', a.costNanoUsd);
  }
  // Every day of the range appears, with zero spend where nothing was logged.
  if (filter.from !== undefined && filter.to !== undefined) {
    for (let t = filter.from - (filter.from % DAY_MS); t < filter.to; t += DAY_MS) {
      const day = new Date(t).toISOString().slice(0, 10);
      if (!days.has(day)) days.set(day, { users: new Map(), models: new Map(), keys: new Map(), total: 0 });
    }
  }
  return [...days.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, e]) => ({
      users: usdMap(e.users),
      models: usdMap(e.models),
      spend: usd(e.total),
      ...usdMap(e.keys),
      startTime: day,
    }));
}

// ---- /global/spend/report shapes ----

interface Totals {
  cost: number;
  input: number;
  output: number;
  tokens: number;
  requests: number;
  unpriced: number;
}

function totalsOf(list: readonly SpendAggregate[]): Totals {
  const t: Totals = { cost: 0, input: 0, output: 0, tokens: 0, requests: 0, unpriced: 0 };
  for (const a of list) {
    t.cost += a.costNanoUsd;
    t.input += a.promptTokens;
    t.output += a.completionTokens;
    t.tokens += a.totalTokens;
    t.requests += a.requests;
    t.unpriced += a.unpricedRequests;
  }
  return t;
}

/** `group_by=api_key` (LiteLLM's shape) and `group_by=model` (the same shape, by model group, with per-key details). */
function byTotals(aggregates: SpendAggregate[], outer: 'api_key' | 'model_group', inner: 'model' | 'api_key', groupBy: 'api_key' | 'model'): unknown[] {
  const groups = groupMap(aggregates, (a) => a.keys[outer] ?? null);
  const detail = (a: SpendAggregate): Record<string, unknown> => ({
    [inner]: a.keys[inner] ?? null,
    total_cost: usd(a.costNanoUsd),
    total_input_tokens: a.promptTokens,
    total_output_tokens: a.completionTokens,
  });
  return [...groups.entries()]
    .map(([key, list]) => ({ key, list, totals: totalsOf(list) }))
    .sort((a, b) => b.totals.cost - a.totals.cost)
    .map(({ key, list, totals }) => ({
      [groupBy === 'api_key' ? 'api_key' : 'model']: key,
      total_cost: usd(totals.cost),
      total_input_tokens: totals.input,
      total_output_tokens: totals.output,
      api_requests: totals.requests,
      unpriced_requests: totals.unpriced,
      [groupBy === 'api_key' ? 'model_details' : 'api_key_details']: list.map(detail),
    }));
}

/** `group_by=team` / `customer`: per UTC day, per team or customer, spend with per model+key details. */
function byDay(aggregates: SpendAggregate[], who: 'team_id' | 'end_user', name: (id: string | null) => string | null): unknown[] {
  const team = who === 'team_id';
  return [...groupMap(aggregates, (a) => a.keys.day ?? '').entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, dayList]) => ({
      group_by_day: `${day}T00:00:00+00:00`,
      [team ? 'teams' : 'customers']: [...groupMap(dayList, (a) => name(a.keys[who] ?? null)).entries()]
        .map(([groupName, list]) => ({ groupName, list, totals: totalsOf(list) }))
        .sort((a, b) => b.totals.cost - a.totals.cost)
        .map(({ groupName, list, totals }) => ({
          [team ? 'team_name' : 'customer']: groupName,
          total_spend: usd(totals.cost),
          unpriced_requests: totals.unpriced,
          metadata: list.map((a) => ({ model: a.keys.model ?? null, api_key: a.keys.api_key ?? null, spend: usd(a.costNanoUsd), total_tokens: a.totalTokens })),
        })),
    }));
}

function teamName(deps: SpendRouteDeps, teamId: string | null): string {
  if (teamId === null) return 'Unassigned Team';
  return deps.teamAlias?.(teamId) ?? teamId;
}

// ---- parameters and small helpers ----

function param(query: Query, name: string): string | undefined {
  const raw = query[name];
  const value = Array.isArray(raw) ? (raw[0] as unknown) : raw;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A key given as plaintext (any prefix) is hashed; a SHA-256 hex is used as is. */
function keyHashParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /^[0-9a-f]{64}$/i.test(value) ? value.toLowerCase() : hashKey(value);
}

/**
 * `YYYY-MM-DD` is a UTC day: as a start it is that midnight, as an end it includes the whole day.
 * A date-time (ISO, or LiteLLM UI's `YYYY-MM-DD HH:MM:SS`; UTC unless it names a zone) is exact,
 * and inclusive as an end. Returns epoch ms; an end is returned exclusive.
 */
export function parseDate(value: string, name: string, bound: 'start' | 'end'): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const t = Date.parse(`${value}T00:00:00Z`);
    if (!Number.isNaN(t) && new Date(t).toISOString().startsWith(value)) return bound === 'start' ? t : t + DAY_MS;
  } else {
    const iso = value.replace(' ', 'T');
    const t = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? iso : `${iso}Z`);
    if (!Number.isNaN(t)) return bound === 'start' ? t : t + 1;
  }
  throw invalidRequest(`${name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, got "${value}"`, name);
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOG_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOG_LIMIT) throw invalidRequest(`limit must be an integer from 1 to ${MAX_LOG_LIMIT}`, 'limit');
  return n;
}

/** Integer nano-USD → decimal USD, only at this edge. */
function usd(nano: number | null): number | null;
function usd(nano: number): number;
function usd(nano: number | null): number | null {
  return nano === null ? null : nano / 1e9;
}

function usdMap(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].map(([k, v]) => [k, v / 1e9]));
}

function addTo(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

function groupMap<K>(list: readonly SpendAggregate[], keyOf: (a: SpendAggregate) => K): Map<K, SpendAggregate[]> {
  const map = new Map<K, SpendAggregate[]>();
  for (const a of list) {
    const key = keyOf(a);
    const group = map.get(key);
    if (group === undefined) map.set(key, [a]);
    else group.push(a);
  }
  return map;
}

function sumKnown(values: (number | null)[]): number | null {
  let total: number | null = null;
  for (const v of values) if (v !== null) total = (total ?? 0) + v;
  return total;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string | null): Record<string, unknown> {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}

function parseJsonArray(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/** Our error codes as the exception class names LiteLLM logs (OpenAI SDK names). */
const ERROR_CLASSES: Record<string, string> = {
  invalid_request: 'BadRequestError', unsupported_parameter: 'BadRequestError', request_too_large: 'BadRequestError',
  context_window_exceeded: 'ContextWindowExceededError', content_policy: 'ContentPolicyViolationError',
  authentication: 'AuthenticationError', permission_denied: 'PermissionDeniedError', not_found: 'NotFoundError',
  rate_limit: 'RateLimitError', budget_exceeded: 'BudgetExceededError', overloaded: 'InternalServerError', timeout: 'Timeout',
  upstream_error: 'APIError', upstream_connection: 'APIConnectionError', service_unavailable: 'ServiceUnavailableError',
  client_disconnected: 'ClientDisconnected', internal: 'InternalServerError',
};

function errorClass(code: string | null): string {
  return code === null ? '' : (ERROR_CLASSES[code] ?? code);
}
