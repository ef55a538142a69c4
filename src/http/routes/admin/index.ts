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
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../../core/call-record.js';
import type { Deployment } from '../../../core/deployment.js';
import { GatewayError, toGatewayError } from '../../../core/errors.js';
import { encodeOpenAIError } from '../../../protocols/openai-chat/encode.js';
import { BudgetAdmin } from '../../../policy/admin/budgets.js';
import { CustomerAdmin, ModelAdmin } from '../../../policy/admin/customers-models.js';
import { KeyAdmin } from '../../../policy/admin/keys.js';
import { OrganizationAdmin } from '../../../policy/admin/organizations.js';
import { MemberBudgets } from '../../../policy/admin/member-budgets.js';
import { PeopleAdmin } from '../../../policy/admin/people.js';
import { adminOnly, callerOf, canViewAll, checkRoute, isProxyAdmin, viewerWrite, type AdminCaller, type ProxyRole } from '../../../policy/admin/roles.js';
import type { Tenancy } from '../../../policy/tenancy.js';
import type { AdminAccess, VirtualKeyAuthenticator } from '../../../policy/virtual-keys.js';
import { registerBudgetRoutes } from './budgets.js';
import { registerCustomerRoutes } from './customers.js';
import { registerKeyRoutes } from './keys.js';
import { registerModelRoutes } from './models.js';
import { registerOrganizationRoutes } from './organizations.js';
import { bodyOf, type Body } from './fields.js';
import { Renderer } from './render.js';
import { registerTeamRoutes } from './teams.js';
import { registerUserRoutes } from './users.js';

export interface AdminDeps {
  auth: Pick<VirtualKeyAuthenticator, 'authenticate' | 'adminAccess'> & { readonly open?: boolean | undefined };
  tenancy: Tenancy;
  /** Deployments from the config file, for `/model/info`. */
  configModels: () => readonly Deployment[];
  /** `general_settings.store_model_in_db`: `/model/new` and `/model/delete` need it. */
  storeModelInDb: boolean;
  /** Why a model given to `/model/new` could not be routed (unknown provider, invalid params); undefined = fine. */
  checkModel?: ((model: { model_id: string; model_name: string; litellm_params: Record<string, unknown>; model_info: Record<string, unknown> }) => string | undefined) | undefined;
}

/** What every route module gets. */
export interface AdminContext {
  tenancy: Tenancy;
  keys: KeyAdmin;
  people: PeopleAdmin;
  customers: CustomerAdmin;
  models: ModelAdmin;
  /** Budget tiers (LiteLLM_BudgetTable); `/budget/*` and the rows end users, orgs and members link to. */
  budgets: BudgetAdmin;
  organizations: OrganizationAdmin;
  render: Renderer;
  configModels: () => readonly Deployment[];
  storeModelInDb: boolean;
  checkModel: AdminDeps['checkModel'];
  /** A team member's budget within the team (`/team/member_update` `max_budget_in_team`). */
  memberBudgets: MemberBudgets;
  /**
   * Wraps a handler with authentication, the access check and LiteLLM-shaped errors. `write`: proxy
   * admins only; `read`: the handler calls `requireRead`; `self`: every caller whose role includes the
   * route (LiteLLM's route lists), the handler checking whose object it is.
   */
  route: (need: Exclude<AdminAccess, 'none'> | 'self', handler: AdminHandler) => (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

export interface Caller {
  principal: Principal;
  access: AdminAccess;
  /** For created_by / updated_by: the caller's user id (`default_user_id` for the master key, as LiteLLM). */
  actor: string | null;
  /** LiteLLM role and user id of the caller. */
  role: ProxyRole | null;
  userId: string | undefined;
  who: AdminCaller;
}

export type AdminHandler = (request: FastifyRequest, caller: Caller, reply: FastifyReply) => Promise<unknown>;

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

export function forbidden(request: FastifyRequest): GatewayError {
  return new GatewayError({
    code: 'permission_denied',
    status: 403,
    message: `Only proxy admins can call ${request.routeOptions.url ?? request.url.split('?')[0] ?? ''}. Use the master key or a key of a user with user_role=proxy_admin.`,
  });
}

/** The route pattern (`/key/:key/regenerate`), as LiteLLM's route lists name routes. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0] ?? '';
}

/** Read routes: admins and viewers see everything; others only what `own` allows (else LiteLLM's admin-only 401). */
export function requireRead(request: FastifyRequest, caller: Caller, own = false): void {
  if (!canViewAll(caller.who) && !own) throw adminOnly(caller.who, routeOf(request));
}

/** The JSON body, whether the app's byte-keeping parser (`{raw, json}`) or fastify's own read it. */
export function jsonBody(request: FastifyRequest): Body {
  const body: unknown = request.body;
  if (body === undefined || body === null) return {};
  if (typeof body === 'object' && 'raw' in body && Buffer.isBuffer(body.raw)) {
    const json = 'json' in body ? body.json : undefined;
    return json === undefined ? {} : bodyOf(json);
  }
  return bodyOf(body);
}

export function pages(total: number, size: number): number {
  return Math.ceil(total / size);
}
