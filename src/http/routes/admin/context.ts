/**
 * What every admin route module shares: the context it is registered with, the caller, and the
 * small request helpers. Kept apart from index.ts so route files do not import the module that
 * imports them (an import cycle the architecture test forbids).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../../core/call-record.js';
import type { Deployment } from '../../../core/deployment.js';
import { errors, type GatewayError } from '../../../core/errors.js';
import type { BudgetAdmin } from '../../../policy/admin/budgets.js';
import type { CustomerAdmin, ModelAdmin } from '../../../policy/admin/customers-models.js';
import type { KeyAdmin } from '../../../policy/admin/keys.js';
import type { MemberBudgets } from '../../../policy/admin/member-budgets.js';
import type { OrganizationAdmin } from '../../../policy/admin/organizations.js';
import type { PeopleAdmin } from '../../../policy/admin/people.js';
import { adminOnly, canViewAll, type AdminCaller, type ProxyRole } from '../../../policy/admin/roles.js';
import type { Tenancy } from '../../../policy/tenancy.js';
import type { AdminAccess } from '../../../policy/virtual-keys.js';
import { bodyOf, type Body } from './fields.js';
import type { Renderer } from './render.js';

/** Why a model given to `/model/new` could not be routed (unknown provider, invalid params); undefined = fine. */
export type AdminCheckModel = (model: { model_id: string; model_name: string; litellm_params: Record<string, unknown>; model_info: Record<string, unknown> }) => string | undefined;

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
  checkModel: AdminCheckModel | undefined;
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

export function forbidden(request: FastifyRequest): GatewayError {
  return errors.permissionDenied(
    `Only proxy admins can call ${request.routeOptions.url ?? request.url.split('?')[0] ?? ''}. Use the master key or a key of a user with user_role=proxy_admin.`,
  );
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
