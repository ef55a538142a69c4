/**
 * `/customer/new`, `/customer/info`, `/customer/update`, `/customer/delete`, `/customer/list`,
 * `/customer/block`, `/customer/unblock`; LiteLLM's older `/end_user/*` names route here too.
 */
import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../../../core/errors.js';
import type { CustomerChanges } from '../../../policy/admin/customers-models.js';
import { bool, budgetChanges, CUSTOMER_EXTRAS, extras, queryParam, requiredStr, str, strings, type Body } from './fields.js';
import { jsonBody, requireRead, type AdminContext } from './index.js';

const REGIONS = ['eu', 'us'];

function customerChanges(b: Body): CustomerChanges {
  const region = str(b, 'allowed_model_region');
  if (region !== undefined && region !== null && !REGIONS.includes(region)) throw invalidRequest('allowed_model_region: must be "eu" or "us"', 'allowed_model_region');
  return {
    ...budgetChanges(b),
    alias: str(b, 'alias'),
    blocked: bool(b, 'blocked'),
    allowed_model_region: region,
    default_model: str(b, 'default_model'),
    extra: extras(b, CUSTOMER_EXTRAS),
  };
}

export function registerCustomerRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { customers, render, route } = ctx;
  for (const prefix of ['/customer', '/end_user']) {
    app.post(`${prefix}/new`, route('write', async (request) => {
      const b = jsonBody(request);
      return render.customer(await customers.create(requiredStr(b, 'user_id'), customerChanges(b)));
    }));

    app.get(`${prefix}/info`, route('read', async (request, caller) => {
      requireRead(request, caller);
      const id = queryParam(request.query, 'end_user_id');
      if (id === undefined) throw invalidRequest('end_user_id: required', 'end_user_id');
      return render.customer(await customers.get(id));
    }));

    app.post(`${prefix}/update`, route('write', async (request) => {
      const b = jsonBody(request);
      return render.customer(await customers.update(requiredStr(b, 'user_id'), customerChanges(b)));
    }));

    app.post(`${prefix}/delete`, route('write', async (request) => {
      const ids = strings(jsonBody(request), 'user_ids');
      if (ids === undefined || ids.length === 0) throw invalidRequest('user_ids: required', 'user_ids');
      const deleted = await customers.delete(ids);
      return { deleted_customers: deleted.length, message: `Successfully deleted customers with ids: ${JSON.stringify(deleted)}` };
    }));

    app.get(`${prefix}/list`, route('read', async (request, caller) => {
      requireRead(request, caller);
      return Promise.all((await customers.list()).map((c) => render.customer(c)));
    }));

    for (const [action, blocked] of [['block', true], ['unblock', false]] as const) {
      app.post(`${prefix}/${action}`, route('write', async (request) => {
        const ids = strings(jsonBody(request), 'user_ids');
        if (ids === undefined || ids.length === 0) throw invalidRequest('user_ids: required', 'user_ids');
        const updated = await customers.setBlocked(ids, blocked);
        return { [blocked ? 'blocked_users' : 'unblocked_users']: updated.map((c) => c.user_id) };
      }));
    }
  }
}
