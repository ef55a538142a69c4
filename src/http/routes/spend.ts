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
 * The per-session report (`group_by=session`, `/spend/sessions/{id}`) is Tollgate's own: see
 * spend-sessions.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../../core/errors.js';
import type { SpendAggregate, SpendLogFilter, SpendLogStore } from '../../accounting/spend-types.js';
import { DAILY_ROUTES, dailyActivity, type KeyFacts } from './spend-activity.js';
import { adminGuard, DAY_MS, keyHashParam, litellmRow, param, parseDate, parseLimit, parseOffset, sendSpendError, type Query } from './spend-common.js';
import { registerSessionRoutes, sessionReport } from './spend-sessions.js';

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

const GROUP_BYS = ['team', 'customer', 'api_key', 'model'] as const;
type GroupBy = (typeof GROUP_BYS)[number];

/** A non-admin caller's own rows: its user's (as LiteLLM scopes internal users), else its key's. */
export type OwnSpend = { userId: string } | { apiKey: string };

export function registerSpendRoutes(app: FastifyInstance, deps: SpendRouteDeps): void {
  const guarded = adminGuard((headers) => deps.authorizeAdmin(headers));
  app.get('/spend/logs', async (request, reply) => {
    try {
      const scope = deps.spendScope(request.headers);
      return await spendLogs(deps, (request.query ?? {}) as Query, reply, scope);
    } catch (err) {
      return sendSpendError(reply, err);
    }
  });
  app.get('/global/spend/report', guarded((query, reply) => (param(query, 'group_by') === 'session' ? sessionReport(deps.store, query, reply) : spendReport(deps, query))));
  for (const route of DAILY_ROUTES) {
    app.get(route.path, guarded((query) => dailyActivity(deps.store, route, query, keyHashParam(param(query, 'api_key')), deps.keyFacts)));
  }
  registerSessionRoutes(app, deps.store, guarded);
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
    throw errors.invalidRequest(`group_by must be one of ${[...GROUP_BYS, 'session'].join(', ')}`, 'group_by');
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

// ---- /spend/logs summary ----

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

// ---- small helpers ----

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
