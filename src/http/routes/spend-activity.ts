/**
 * LiteLLM's daily activity endpoints over its daily tables — `/user/daily/activity`,
 * `/team/daily/activity`, `/organization/daily/activity`, `/customer/daily/activity`,
 * `/tag/daily/activity` — in the shape of LiteLLM's `SpendAnalyticsPaginatedResponse`
 * (litellm/proxy/management_endpoints/common_daily_activity.py): per date, the sums and their
 * breakdown by model, model group, provider, api key and entity, plus totals and pagination.
 * Rows a LiteLLM proxy wrote into the same tables are included alike.
 */
import type { DailyEntity, DailySpendRow, SpendLogStore } from '../../accounting/spend-types.js';
import { errors } from '../../core/errors.js';

/** Which query parameter lists the entity ids, per endpoint (LiteLLM's names). */
export const DAILY_ROUTES: readonly { path: string; entity: DailyEntity; idsParam: string }[] = [
  { path: '/user/daily/activity', entity: 'user', idsParam: 'user_id' },
  { path: '/team/daily/activity', entity: 'team', idsParam: 'team_ids' },
  { path: '/organization/daily/activity', entity: 'organization', idsParam: 'organization_ids' },
  { path: '/customer/daily/activity', entity: 'end_user', idsParam: 'end_user_ids' },
  { path: '/tag/daily/activity', entity: 'tag', idsParam: 'tags' },
];

const DEFAULT_PAGE_SIZE = 1000;
const MAX_PAGE_SIZE = 10_000;

interface Metrics {
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  total_tokens: number;
  successful_requests: number;
  failed_requests: number;
  api_requests: number;
}

interface WithMetadata {
  metrics: Metrics;
  metadata: Record<string, unknown>;
}

interface Breakdown {
  models: Record<string, WithMetadata>;
  model_groups: Record<string, WithMetadata>;
  providers: Record<string, WithMetadata>;
  api_keys: Record<string, WithMetadata>;
  entities: Record<string, WithMetadata>;
}

const zero = (): Metrics => ({
  spend: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
  total_tokens: 0,
  successful_requests: 0,
  failed_requests: 0,
  api_requests: 0,
});

function add(m: Metrics, r: DailySpendRow): void {
  m.spend += r.spend;
  m.prompt_tokens += r.prompt_tokens;
  m.completion_tokens += r.completion_tokens;
  m.total_tokens += r.prompt_tokens + r.completion_tokens;
  m.cache_read_input_tokens += r.cache_read_input_tokens;
  m.cache_creation_input_tokens += r.cache_creation_input_tokens;
  m.api_requests += r.api_requests;
  m.successful_requests += r.successful_requests;
  m.failed_requests += r.failed_requests;
}

function addTo(map: Record<string, WithMetadata>, key: string, r: DailySpendRow, metadata: () => Record<string, unknown> = () => ({})): void {
  const entry = (map[key] ??= { metrics: zero(), metadata: metadata() });
  add(entry.metrics, r);
}

export type KeyFacts = (hash: string) => { key_alias: string | null; team_id: string | null } | undefined;

type Query = Record<string, unknown>;

function str(query: Query, name: string): string | undefined {
  const raw = query[name];
  const value = Array.isArray(raw) ? (raw[0] as unknown) : raw;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function day(query: Query, name: string): string {
  const value = str(query, name);
  if (value === undefined) throw errors.invalidRequest('Please provide start_date and end_date', name);
  const date = value.slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw errors.invalidRequest(`${name} must be a date (YYYY-MM-DD), got "${value}"`, name);
  return date;
}

function positive(query: Query, name: string, fallback: number, max: number): number {
  const value = str(query, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw errors.invalidRequest(`${name} must be an integer from 1 to ${max}`, name);
  return n;
}

/** One daily-activity answer. `apiKey` is already a hash. */
export async function dailyActivity(
  store: SpendLogStore,
  route: (typeof DAILY_ROUTES)[number],
  query: Query,
  apiKey: string | undefined,
  keyFacts: KeyFacts | undefined,
): Promise<unknown> {
  const startDate = day(query, 'start_date');
  const endDate = day(query, 'end_date');
  const page = positive(query, 'page', 1, Number.MAX_SAFE_INTEGER);
  const pageSize = positive(query, 'page_size', DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const ids = (str(query, route.idsParam) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const all = await store.daily({ entity: route.entity, ids, startDate, endDate, apiKey, model: str(query, 'model') });
  // LiteLLM orders by date, newest first, and pages over rows.
  all.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
  const rows = all.slice((page - 1) * pageSize, page * pageSize);
  const days = new Map<string, { metrics: Metrics; breakdown: Breakdown }>();
  const total = zero();
  for (const r of rows) {
    let d = days.get(r.date);
    if (d === undefined) days.set(r.date, (d = { metrics: zero(), breakdown: { models: {}, model_groups: {}, providers: {}, api_keys: {}, entities: {} } }));
    add(d.metrics, r);
    add(total, r);
    addTo(d.breakdown.models, r.model ?? '', r);
    if (r.model_group !== null && r.model_group !== '') addTo(d.breakdown.model_groups, r.model_group, r);
    addTo(d.breakdown.providers, r.custom_llm_provider === null || r.custom_llm_provider === '' ? 'default' : r.custom_llm_provider, r);
    addTo(d.breakdown.api_keys, r.api_key, r, () => {
      const facts = keyFacts?.(r.api_key);
      return { key_alias: facts?.key_alias ?? null, team_id: facts?.team_id ?? null };
    });
    if (r.entity_id !== null && r.entity_id !== '') addTo(d.breakdown.entities, r.entity_id, r);
  }
  return {
    results: [...days.entries()].map(([date, d]) => ({ date, metrics: d.metrics, breakdown: d.breakdown })),
    metadata: {
      total_spend: total.spend,
      total_prompt_tokens: total.prompt_tokens,
      total_completion_tokens: total.completion_tokens,
      total_tokens: total.total_tokens,
      total_api_requests: total.api_requests,
      total_successful_requests: total.successful_requests,
      total_failed_requests: total.failed_requests,
      total_cache_read_input_tokens: total.cache_read_input_tokens,
      total_cache_creation_input_tokens: total.cache_creation_input_tokens,
      page,
      total_pages: Math.max(1, Math.ceil(all.length / pageSize)),
      has_more: page * pageSize < all.length,
    },
  };
}
