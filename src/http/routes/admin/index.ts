/**
 * LiteLLM's management API: `/key/*`, `/user/*`, `/team/*`, `/customer/*` (also `/end_user/*`),
 * `/model/*`. Request and response fields are LiteLLM's, so scripts written against LiteLLM work
 * unchanged; errors use LiteLLM's envelope (`{"error": {message, type, param, code}}`).
 *
 * Access follows LiteLLM's roles (src/policy/admin/roles.ts): the master key, or a key of a
 * `proxy_admin` user, may call everything; `proxy_admin_viewer` may read; internal users manage
 * their own keys; team admins their team's keys, members and models. Without a master key the
 * gateway is open and so is this API (the startup warning says so).
 */
import type { FastifyInstance } from 'fastify';
import type { Deployment } from '../../../core/deployment.js';
import { toGatewayError } from '../../../core/errors.js';
import { encodeOpenAIError } from '../../../protocols/openai-chat/encode.js';
import { BudgetAdmin } from '../../../policy/admin/budgets.js';
import { CustomerAdmin, ModelAdmin } from '../../../policy/admin/customers-models.js';
import { KeyAdmin } from '../../../policy/admin/keys.js';
import { OrganizationAdmin } from '../../../policy/admin/organizations.js';
import { MemberBudgets } from '../../../policy/admin/member-budgets.js';
import { PeopleAdmin } from '../../../policy/admin/people.js';
import { adminOnly, callerOf, checkRoute, isProxyAdmin, viewerWrite } from '../../../policy/admin/roles.js';
import type { Tenancy } from '../../../policy/tenancy.js';
import type { VirtualKeyAuthenticator } from '../../../policy/virtual-keys.js';
import { routeOf, type AdminCheckModel, type AdminContext } from './context.js';
import { registerBudgetRoutes } from './budgets.js';
import { registerCustomerRoutes } from './customers.js';
import { registerKeyRoutes } from './keys.js';
import { registerModelRoutes } from './models.js';
import { registerOrganizationRoutes } from './organizations.js';
import { Renderer } from './render.js';
import { registerTeamRoutes } from './teams.js';
import { registerUserRoutes } from './users.js';

export type { AdminContext, AdminHandler, Caller } from './context.js';

export interface AdminDeps {
  auth: Pick<VirtualKeyAuthenticator, 'authenticate' | 'adminAccess'> & { readonly open?: boolean | undefined };
  tenancy: Tenancy;
  /** Deployments from the config file, for `/model/info`. */
  configModels: () => readonly Deployment[];
  /** `general_settings.store_model_in_db`: `/model/new` and `/model/delete` need it. */
  storeModelInDb: boolean;
  /** Why a model given to `/model/new` could not be routed (unknown provider, invalid params); undefined = fine. */
  checkModel?: AdminCheckModel | undefined;
}

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const keys = new KeyAdmin(deps.tenancy);
  const route: AdminContext['route'] = (need, handler) => async (request, reply) => {
    try {
      const principal = deps.auth.authenticate(request.headers);
      const access = deps.auth.adminAccess(principal);
      const who = callerOf(principal, deps.tenancy, deps.auth.open === true);
      const path = routeOf(request);
      // `read` routes decide themselves whether a non-admin may see what it asks for (its own key).
      if (need === 'write' && !isProxyAdmin(who)) throw who.role === 'proxy_admin_viewer' ? viewerWrite(path) : adminOnly(who, path);
      if (need === 'self') checkRoute(who, path, request.method);
      const actor = who.userId ?? principal.keyHash ?? null;
      return await handler(request, { principal, access, actor, role: who.role, userId: who.userId, who }, reply);
    } catch (err) {
      const error = toGatewayError(err);
      if (error.status >= 500) request.log.error({ err }, 'admin API error');
      if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(Math.ceil(error.retryAfterSeconds)));
      return reply.code(error.status).send(encodeOpenAIError(error));
    }
  };
  const people = new PeopleAdmin(deps.tenancy, keys);
  const budgets = new BudgetAdmin(deps.tenancy);
  const ctx: AdminContext = {
    tenancy: deps.tenancy,
    keys,
    people,
    budgets,
    organizations: new OrganizationAdmin(deps.tenancy, budgets, people, keys),
    customers: new CustomerAdmin(deps.tenancy, budgets),
    models: new ModelAdmin(deps.tenancy),
    render: new Renderer(deps.tenancy),
    configModels: deps.configModels,
    storeModelInDb: deps.storeModelInDb,
    checkModel: deps.checkModel,
    memberBudgets: new MemberBudgets(deps.tenancy, budgets),
    route,
  };
  registerKeyRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  registerTeamRoutes(app, ctx);
  registerCustomerRoutes(app, ctx);
  registerBudgetRoutes(app, ctx);
  registerOrganizationRoutes(app, ctx);
  registerModelRoutes(app, ctx);
}
