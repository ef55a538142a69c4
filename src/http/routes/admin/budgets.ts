/**
 * `/budget/new`, `/budget/update`, `/budget/info`, `/budget/list`, `/budget/settings`,
 * `/budget/delete` in LiteLLM's shapes (budget_management_endpoints.py): the request is
 * BudgetNewRequest, the answer the LiteLLM_BudgetTable row. Also the row renderer and body parser
 * the end-user and organization routes embed as `litellm_budget_table`.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../../core/errors.js';
import type { BudgetChanges } from '../../../policy/admin/budgets.js';
import { spendCounter } from '../../../policy/scopes.js';
import type { Tenancy } from '../../../policy/tenancy.js';
import type { BudgetRecord, ModelBudget } from '../../../policy/records.js';
import { duration, int, modelBudgets, queryParam, str, strings, usd, type Body } from './fields.js';
import { jsonBody, requireRead, type AdminContext, type Caller } from './context.js';
import { isoOf, usdOf } from './render.js';

type Json = Record<string, unknown>;

/**
 * The actor LiteLLM stamps into created_by / updated_by: the caller's user id, else
 * `litellm_proxy_admin_name`, which is "default_user_id" (the master key has no user of its own).
 */
export function actorOf(caller: Caller): string {
  if (caller.principal.isMaster) return 'default_user_id';
  return caller.principal.userId ?? caller.actor ?? 'default_user_id';
}

/** An ISO-8601 time (or epoch seconds) → epoch ms; a 400 naming the field otherwise. */
export function time(b: Body, field: string): number | null | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (v === null) return null;
  const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw errors.invalidRequest(`${field}: must be an ISO-8601 date-time`, field);
  return ms;
}

/** BudgetNewRequest's fields (money in USD → nano-USD, durations checked). */
export function budgetBody(b: Body): BudgetChanges {
  return {
    max_budget_nano: usd(b, 'max_budget'),
    soft_budget_nano: usd(b, 'soft_budget'),
    budget_duration: duration(b, 'budget_duration'),
    model_max_budget: modelBudgets(b),
    tpm_limit: int(b, 'tpm_limit'),
    rpm_limit: int(b, 'rpm_limit'),
    max_parallel_requests: int(b, 'max_parallel_requests'),
    budget_reset_at: time(b, 'budget_reset_at'),
    allowed_models: strings(b, 'allowed_models'),
  };
}

/** A budget row's `model_max_budget` in BudgetConfig's words (`max_budget`, `budget_duration`). */
function modelBudgetsJson(budgets: Record<string, ModelBudget>): Json | null {
  const entries = Object.entries(budgets);
  if (entries.length === 0) return null;
  return Object.fromEntries(entries.map(([model, b]) => [model, { max_budget: b.max_budget_nano / 1e9, budget_duration: b.budget_duration }]));
}

/** LiteLLM_BudgetTable as Prisma returns it. */
export function renderBudget(row: BudgetRecord): Json {
  return {
    budget_id: row.budget_id,
    max_budget: usdOf(row.max_budget_nano),
    soft_budget: usdOf(row.soft_budget_nano),
    max_parallel_requests: row.max_parallel_requests,
    tpm_limit: row.tpm_limit,
    rpm_limit: row.rpm_limit,
    model_max_budget: modelBudgetsJson(row.model_max_budget),
    budget_duration: row.budget_duration,
    budget_reset_at: isoOf(row.budget_reset_at),
    allowed_models: row.allowed_models,
    created_at: isoOf(row.created_at),
    created_by: row.created_by,
    updated_at: isoOf(row.updated_at),
    updated_by: row.updated_by,
  };
}

/** Current-period spend (nano-USD) of a scope whose period may start at a row's stored reset instant. */
export async function currentSpend(tenancy: Tenancy, scope: string, budgetDuration: string | null, firstEnd: number | null): Promise<number> {
  const end = tenancy.clock.end(budgetDuration, tenancy.now(), firstEnd);
  const [value] = await tenancy.state.get([spendCounter(scope, end)]);
  return value ?? 0;
}

/** BudgetNewRequest's fields `/budget/settings` lists, with LiteLLM's descriptions. */
const SETTINGS: [name: string, type: string, description: string][] = [
  ['max_budget', 'Float', 'Requests will fail if this budget (in USD) is exceeded.'],
  ['soft_budget', 'Float', 'Requests will NOT fail if this is exceeded. Will fire alerting though.'],
  ['max_parallel_requests', 'Integer', 'Max concurrent requests allowed for this budget id.'],
  ['tpm_limit', 'Integer', 'Max tokens per minute, allowed for this budget id.'],
  ['rpm_limit', 'Integer', 'Max requests per minute, allowed for this budget id.'],
  ['budget_duration', 'String', "Max duration budget should be set for (e.g. '1hr', '1d', '28d')"],
  ['model_max_budget', 'Object', "Max budget for each model (e.g. {'gpt-4o': {'max_budget': '0.0000001', 'budget_duration': '1d', 'tpm_limit': 1000, 'rpm_limit': 1000}})"],
];

export function registerBudgetRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { budgets, route } = ctx;

  app.post('/budget/new', route('write', async (request, caller) => {
    const b = jsonBody(request);
    const id = str(b, 'budget_id') ?? undefined;
    return renderBudget(await budgets.create(id === '' ? undefined : id, budgetBody(b), actorOf(caller)));
  }));

  app.post('/budget/update', route('write', async (request, caller) => {
    const b = jsonBody(request);
    const id = str(b, 'budget_id');
    if (id === undefined || id === null || id === '') throw errors.invalidRequest('budget_id is required', 'budget_id');
    return renderBudget(await budgets.update(id, budgetBody(b), actorOf(caller)));
  }));

  app.post('/budget/info', route('read', async (request, caller) => {
    requireRead(request, caller);
    const ids = strings(jsonBody(request), 'budgets');
    if (ids === undefined || ids.length === 0) throw errors.invalidRequest(`Specify list of budget id's to query. Passed in=${JSON.stringify(ids ?? [])}`, 'budgets');
    return (await budgets.find(ids)).map(renderBudget);
  }));

  app.get('/budget/list', route('read', async (request, caller) => {
    requireRead(request, caller);
    return (await budgets.list()).map(renderBudget);
  }));

  app.get('/budget/settings', route('read', async (request, caller) => {
    requireRead(request, caller);
    const id = queryParam(request.query, 'budget_id');
    if (id === undefined) throw errors.invalidRequest('budget_id: required', 'budget_id');
    const row = await budgets.get(id);
    const shown = row === undefined ? {} : renderBudget(row);
    return SETTINGS.map(([name, type, description]) => ({
      field_name: name,
      field_type: type,
      field_description: description,
      field_value: shown[name] ?? null,
      stored_in_db: true,
      field_default_value: null,
      premium_field: false,
      nested_fields: null,
    }));
  }));

  app.post('/budget/delete', route('write', async (request) => {
    const id = str(jsonBody(request), 'id');
    if (id === undefined || id === null || id === '') throw errors.invalidRequest('id: required (the budget_id to delete)', 'id');
    return renderBudget(await budgets.delete(id));
  }));
}
