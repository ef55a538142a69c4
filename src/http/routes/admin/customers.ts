/**
 * `/customer/new`, `/customer/info`, `/customer/update`, `/customer/delete`, `/customer/list`,
 * `/customer/block`, `/customer/unblock`; LiteLLM's older `/end_user/*` names route here too.
 * Shapes are LiteLLM_EndUserTable with its `litellm_budget_table` embedded
 * (litellm/proxy/management_endpoints/customer_endpoints.py).
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../../core/errors.js';
import type { CustomerAdmin, CustomerChanges } from '../../../policy/admin/customers-models.js';
import { linkField } from '../../../policy/budget-links.js';
import type { CustomerRecord } from '../../../policy/records.js';
import { actorOf, budgetBody, renderBudget } from './budgets.js';
import { bool, extras, queryParam, requiredStr, str, strings, usd, type Body } from './fields.js';
import { jsonBody, requireRead, type AdminContext } from './context.js';

type Json = Record<string, unknown>;

const REGIONS = ['eu', 'us'];

function customerChanges(b: Body): CustomerChanges {
  const region = str(b, 'allowed_model_region');
  if (region !== undefined && region !== null && !REGIONS.includes(region)) throw errors.invalidRequest('allowed_model_region: must be "eu" or "us"', 'allowed_model_region');
  const budgetId = str(b, 'budget_id');
  return {
    alias: str(b, 'alias'),
    blocked: bool(b, 'blocked'),
    allowed_model_region: region,
    default_model: str(b, 'default_model'),
    budget_id: budgetId === '' ? null : budgetId,
    spend_nano: usd(b, 'spend') ?? undefined,
    extra: extras(b, ['object_permission']),
  };
}

/** LiteLLM_EndUserTable as Prisma returns it (`include` adds the budget row). */
async function renderCustomer(customers: CustomerAdmin, c: CustomerRecord, include = true): Promise<Json> {
  const row = await customers.budgetOf(c);
  const { budget_id: _budgetId, object_permission: permission, ...rest } = c.extra;
  const out: Json = {
    user_id: c.user_id,
    alias: c.alias,
    spend: (await customers.spendNano(c, row)) / 1e9,
    allowed_model_region: c.allowed_model_region,
    default_model: c.default_model,
    budget_id: linkField(c, 'budget_id'),
    object_permission_id: null,
    blocked: c.blocked,
    ...rest,
  };
  if (include) {
    out.litellm_budget_table = row === undefined ? null : renderBudget(row);
    out.object_permission = permission ?? null;
  }
  return out;
}

/** Pydantic's `model_dump(exclude_none=True)`: what `/customer/info` answers. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

/** Python's `str(list_of_str)`, which LiteLLM puts in its delete message. */
function pyList(items: readonly string[]): string {
  return `[${items.map((i) => `'${i.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]`;
}

export function registerCustomerRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { customers, route } = ctx;
  for (const prefix of ['/customer', '/end_user']) {
    app.post(`${prefix}/new`, route('write', async (request, caller) => {
      const b = jsonBody(request);
      return renderCustomer(customers, await customers.create(requiredStr(b, 'user_id'), customerChanges(b), budgetBody(b), actorOf(caller)));
    }));

    app.get(`${prefix}/info`, route('read', async (request, caller) => {
      requireRead(request, caller);
      const id = queryParam(request.query, 'end_user_id');
      if (id === undefined) throw errors.invalidRequest('end_user_id: required', 'end_user_id');
      return withoutNulls(await renderCustomer(customers, await customers.get(id)));
    }));

    app.post(`${prefix}/update`, route('write', async (request, caller) => {
      const b = jsonBody(request);
      return renderCustomer(customers, await customers.update(requiredStr(b, 'user_id'), customerChanges(b), budgetBody(b), actorOf(caller)));
    }));

    app.post(`${prefix}/delete`, route('write', async (request) => {
      const ids = strings(jsonBody(request), 'user_ids');
      if (ids === undefined || ids.length === 0) throw errors.invalidRequest('user_ids: required', 'user_ids');
      const deleted = await customers.delete(ids);
      return { deleted_customers: deleted.length, message: `Successfully deleted customers with ids: ${pyList(ids)}` };
    }));

    app.get(`${prefix}/list`, route('read', async (request, caller) => {
      requireRead(request, caller);
      return Promise.all((await customers.list()).map((c) => renderCustomer(customers, c)));
    }));

    // LiteLLM answers block with the upserted rows; its unblock only edits an in-memory list
    // (400 unless the enterprise blocked-user hook is on). Here unblock clears the row's flag.
    for (const [action, blocked] of [['block', true], ['unblock', false]] as const) {
      app.post(`${prefix}/${action}`, route('write', async (request, caller) => {
        const ids = strings(jsonBody(request), 'user_ids');
        if (ids === undefined || ids.length === 0) throw errors.invalidRequest('user_ids: required', 'user_ids');
        const updated = await customers.setBlocked(ids, blocked, actorOf(caller));
        const rows = await Promise.all(updated.map((c) => renderCustomer(customers, c, false)));
        return { [blocked ? 'blocked_users' : 'unblocked_users']: rows };
      }));
    }
  }
}
