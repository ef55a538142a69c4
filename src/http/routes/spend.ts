/**
 * LiteLLM's spend endpoints, answered from LiteLLM's own tables (`LiteLLM_SpendLogs`, joined with
 * Tollgate's `tollgate_call_details`): `GET /spend/logs` and `GET /global/spend/report`, in
 * LiteLLM's response shapes (field names, nesting, `spend` in USD) so existing scripts keep
 * working. Rows a LiteLLM proxy wrote into the same database are listed and summed alike.
 *
 * Where LiteLLM is loose, Tollgate is exact: `end_date` includes that whole day (LiteLLM compares
 * with midnight), an `api_key` is hashed whatever its prefix, every given filter applies together,
 * `/spend/logs` pages (default 100 rows, at most 1000, `x-tollgate-truncated` when more exist)
 * instead of loading the table, and the reports say how many requests had no known price
 * (their spend is 0 in LiteLLM's column; `metadata.tollgate.cost_nano_usd` is null).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, toGatewayError } from '../../core/errors.js';
import { hashKey } from '../../policy/auth.js';
import type { SpendAggregate, SpendLogFilter, SpendLogStore, StoredSpendLog } from '../../accounting/spend-types.js';
import { sendError, surfaceErrors } from '../call/errors.js';
import { openAIChatCodec } from '../surfaces.js';
import { DAILY_ROUTES, dailyActivity, type KeyFacts } from './spend-activity.js';

export interface SpendRouteDeps {
  store: SpendLogStore;
  /** Throws a GatewayError (401/403) unless the caller may read spend for everyone. */
  authorizeAdmin(headers: IncomingHttpHeaders): void;
  /**
   * Whose rows the caller may list on `/spend/logs`: `'all'` for admins, else the filter that
   * limits them to their own (throws 401 for a caller that is not authenticated at all).
   */
  spendScope(headers: IncomingHttpHeaders): 'all' | OwnSpend;
  /** Team alias for the team report (LiteLLM shows `team_alias`); the team id is shown without one. */
  teamAlias?: ((teamId: string) => string | undefined) | undefined;
  /** Key alias and team for the daily activity's api_key breakdown. */
  keyFacts?: KeyFacts | undefined;
}

const DAY_MS = 86_400_000;
/** A small page by default: a LiteLLM-sized table has millions of rows (issue 10: a 10 000-row default stalled). */
const DEFAULT_LOG_LIMIT = 100;
const MAX_LOG_LIMIT = 1000;
const GROUP_BYS = ['team', 'customer', 'api_key', 'model'] as const;
type GroupBy = (typeof GROUP_BYS)[number];

type Query = Record<string, unknown>;

/** A non-admin caller's own rows: its user's (as LiteLLM scopes internal users), else its key's. */
export type OwnSpend = { userId: string } | { apiKey: string };

export function registerSpendRoutes(app: FastifyInstance, deps: SpendRouteDeps): void {
  const guarded = (handler: (query: Query, reply: FastifyReply) => Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      try {
        deps.authorizeAdmin(request.headers);
        const query = (request.query ?? {}) as Query;
        return await handler(query, reply);
      } catch (err) {
        void reply.hijack();
        sendError(reply.raw, surfaceErrors(openAIChatCodec), toGatewayError(err), '');
        return undefined;
      }
    };
  app.get('/spend/logs', async (request, reply) => {
    try {
      const scope = deps.spendScope(request.headers);
      return await spendLogs(deps, (request.query ?? {}) as Query, reply, scope);
    } catch (err) {
      void reply.hijack();
      sendError(reply.raw, surfaceErrors(openAIChatCodec), toGatewayError(err), '');
      return undefined;
    }
  });
  app.get('/global/spend/report', guarded((query) => spendReport(deps, query)));
  for (const route of DAILY_ROUTES) {
    app.get(route.path, guarded((query) => dailyActivity(deps.store, route, query, keyHashParam(param(query, 'api_key')), deps.keyFacts)));
  }
}

async function spendLogs(deps: SpendRouteDeps, query: Query, reply: FastifyReply, scope: 'all' | OwnSpend): Promise<unknown> {
  const startDate = param(query, 'start_date');
  const endDate = param(query, 'end_date');
  const asked: SpendLogFilter = {
    requestId: param(query, 'request_id'),
    apiKey: keyHashParam(param(query, 'api_key')),
    userId: param(query, 'user_id'),
    teamId: param(query, 'team_id'),
    endUser: param(query, 'end_user'),
    sessionId: param(query, 'session_id'),
    from: startDate === undefined ? undefined : parseDate(startDate, 'start_date', 'start'),
    to: endDate === undefined ? undefined : parseDate(endDate, 'end_date', 'end'),
  };
  const filter = scope === 'all' ? asked : ownOnly(asked, scope);
  // LiteLLM: with both dates and no `summarize=false`, the answer is a per-day summary, not rows.
  if (startDate !== undefined && endDate !== undefined && param(query, 'summarize')?.toLowerCase() !== 'false') {
    return dailySummary(deps.store, filter);
  }
  const limit = parseLimit(param(query, 'limit'));
  const offset = parseOffset(param(query, 'offset'));
  const rows = await deps.store.query({ ...filter, limit: limit + 1, offset });
  if (rows.length > limit) {
    rows.length = limit;
    void reply.header('x-tollgate-truncated', `true; limit=${limit}; next_offset=${offset + limit}`);
  }
  return rows.map(litellmRow);
}

/**
 * The caller's filters narrowed to its own rows. Every filter applies together, so asking for
 * another key's `api_key` or `request_id` finds nothing (LiteLLM lets those win over its user
 * filter, which shows an internal user anyone's rows).
 */
function ownOnly(asked: SpendLogFilter, own: OwnSpend): SpendLogFilter {
  if ('userId' in own) {
    return asked.userId !== undefined && asked.userId !== own.userId ? { ...asked, userId: own.userId, apiKey: NO_ROWS } : { ...asked, userId: own.userId };
  }
  return asked.apiKey !== undefined && asked.apiKey !== own.apiKey ? { ...asked, apiKey: NO_ROWS } : { ...asked, apiKey: own.apiKey };
}

/** A key hash no row has (hashes are 64 hex digits): the filter for "not yours". */
const NO_ROWS = 'not-a-key-hash';

async function spendReport(deps: SpendRouteDeps, query: Query): Promise<unknown> {
  const startDate = param(query, 'start_date');
  const endDate = param(query, 'end_date');
  if (startDate === undefined || endDate === undefined) throw errors.invalidRequest('Please provide start_date and end_date');
  const groupByParam = param(query, 'group_by') ?? 'team';
  if (!(GROUP_BYS as readonly string[]).includes(groupByParam)) {
    throw errors.invalidRequest(`group_by must be one of ${GROUP_BYS.join(', ')}`, 'group_by');
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

/** The row as LiteLLM's /spend/logs returns it (Prisma's JSON of the table row), plus Tollgate's detail inside metadata. */
function litellmRow({ log, details }: StoredSpendLog): Record<string, unknown> {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  const metadata: Record<string, unknown> = { ...log.metadata };
  if (details !== null) {
    metadata.tollgate = {
      call_id: details.call_id,
      litellm_call_id: details.litellm_call_id,
      surface: details.surface,
      route: details.route,
      requested_model: details.requested_model,
      provider: details.provider,
      upstream_model: details.upstream_model,
      retries: details.retries,
      fallbacks: details.fallbacks,
      stream: details.stream,
      passthrough: details.passthrough,
      status_code: details.status_code,
      error_code: details.error_class,
      ttft_ms: details.ttft_ms,
      upstream_ms: details.upstream_ms,
      duration_ms: details.duration_ms,
      client_disconnected: details.client_disconnected,
      user_agent: details.user_agent,
      cost_nano_usd: details.cost_nano_usd,
      cost_missing_reason: details.cost_missing_reason,
      tokens: {
        input_uncached: details.input_uncached_tokens,
        cache_read: details.cache_read_tokens,
        cache_write_5m: details.cache_write_5m_tokens,
        cache_write_1h: details.cache_write_1h_tokens,
        cache_write_unknown_ttl: details.cache_write_unknown_ttl_tokens,
        output: details.output_tokens,
        reasoning: details.reasoning_tokens,
      },
      attempts: parseJsonArray(details.attempts),
    };
  }
  return {
    request_id: log.request_id,
    call_type: log.call_type,
    api_key: log.api_key,
    spend: log.spend,
    total_tokens: log.total_tokens,
    prompt_tokens: log.prompt_tokens,
    completion_tokens: log.completion_tokens,
    startTime: iso(log.startTime),
    endTime: iso(log.endTime),
    request_duration_ms: log.request_duration_ms,
    completionStartTime: iso(log.completionStartTime),
    model: log.model,
    model_id: log.model_id,
    model_group: log.model_group,
    custom_llm_provider: log.custom_llm_provider,
    api_base: log.api_base,
    user: log.user,
    metadata,
    cache_hit: log.cache_hit,
    cache_key: log.cache_key,
    request_tags: log.request_tags,
    team_id: log.team_id,
    organization_id: log.organization_id,
    end_user: log.end_user,
    requester_ip_address: log.requester_ip_address,
    messages: {},
    response: {},
    session_id: log.session_id,
    status: log.status,
    mcp_namespaced_tool_name: log.mcp_namespaced_tool_name,
    agent_id: log.agent_id,
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
    entry.total += a.spendUsd;
    addTo(entry.users, a.keys.user_id ?? '', a.spendUsd);
    addTo(entry.models, a.keys.model ?? '', a.spendUsd);
    addTo(entry.keys, a.keys.api_key ?? '', a.spendUsd);
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
      users: Object.fromEntries(e.users),
      models: Object.fromEntries(e.models),
      spend: e.total,
      ...Object.fromEntries(e.keys),
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
    t.cost += a.spendUsd;
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
    total_cost: a.spendUsd,
    total_input_tokens: a.promptTokens,
    total_output_tokens: a.completionTokens,
  });
  return [...groups.entries()]
    .map(([key, list]) => ({ key, list, totals: totalsOf(list) }))
    .sort((a, b) => b.totals.cost - a.totals.cost)
    .map(({ key, list, totals }) => ({
      [groupBy === 'api_key' ? 'api_key' : 'model']: key,
      total_cost: totals.cost,
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
          total_spend: totals.cost,
          unpriced_requests: totals.unpriced,
          metadata: list.map((a) => ({ model: a.keys.model ?? null, api_key: a.keys.api_key ?? null, spend: a.spendUsd, total_tokens: a.totalTokens })),
        })),
    }));
}

function teamName(deps: SpendRouteDeps, teamId: string | null): string {
  if (teamId === null || teamId === '') return 'Unassigned Team';
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
  throw errors.invalidRequest(`${name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, got "${value}"`, name);
}

function parseOffset(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw errors.invalidRequest('offset must be a non-negative integer', 'offset');
  return n;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOG_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOG_LIMIT) throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_LOG_LIMIT}`, 'limit');
  return n;
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

function parseJsonArray(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}
