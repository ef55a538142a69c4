/**
 * `/organization/new|info|update|delete|list|member_add|member_update|member_delete` in LiteLLM's
 * shapes (litellm/proxy/management_endpoints/organization_endpoints.py): LiteLLM_OrganizationTable
 * with `litellm_budget_table`, `members` (LiteLLM_OrganizationMembership rows) and `teams`.
 * LiteLLM's methods are kept (PATCH update / member_update, DELETE delete / member_delete); the
 * older POST forms are accepted too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../../core/errors.js';
import type { OrganizationInput, OrgRole } from '../../../policy/admin/organizations.js';
import { ORG_ROLES } from '../../../policy/admin/organizations.js';
import { withBudget } from '../../../policy/budget-links.js';
import { scopeOf } from '../../../policy/scopes.js';
import type { OrganizationRecord, OrgMembershipRecord } from '../../../policy/records.js';
import { actorOf, budgetBody, currentSpend, renderBudget } from './budgets.js';
import { bodyOf, extras, object, queryParam, str, strings, usd, type Body } from './fields.js';
import { jsonBody, requireRead, type AdminContext, type Caller } from './context.js';
import { isoOf } from './render.js';

type Json = Record<string, unknown>;

function organizationInput(b: Body): OrganizationInput {
  const models = strings(b, 'models');
  return {
    organization_id: str(b, 'organization_id') ?? undefined,
    organization_alias: str(b, 'organization_alias') ?? undefined,
    models,
    budget_id: str(b, 'budget_id') ?? undefined,
    metadata: object(b, 'metadata'),
    extra: extras(b, ['object_permission', 'model_rpm_limit', 'model_tpm_limit', 'tags', 'blocked', 'model_aliases']),
    budget: budgetBody(b),
  };
}

function role(value: unknown, field: string): OrgRole {
  if (typeof value !== 'string' || !(ORG_ROLES as readonly string[]).includes(value)) throw errors.invalidRequest(`${field}: must be one of ${ORG_ROLES.join(', ')}`, field);
  return value as OrgRole;
}

function target(b: Body): { user_id?: string | undefined; user_email?: string | undefined } {
  return { user_id: str(b, 'user_id') ?? undefined, user_email: str(b, 'user_email') ?? undefined };
}

function requiredOrgId(b: Body): string {
  const id = str(b, 'organization_id');
  if (id === undefined || id === null || id === '') throw errors.invalidRequest('organization_id: required', 'organization_id');
  return id;
}

function maxBudgetInOrg(b: Body): number | undefined {
  return usd(b, 'max_budget_in_organization') ?? undefined;
}

export function registerOrganizationRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { organizations, budgets, route, render, tenancy } = ctx;

  const renderMembership = async (m: OrgMembershipRecord, withBudgetRow: boolean): Promise<Json> => {
    const out: Json = { user_id: m.user_id, organization_id: m.organization_id, user_role: m.user_role, spend: 0, budget_id: m.budget_id, created_at: isoOf(m.created_at), updated_at: isoOf(m.updated_at) };
    if (withBudgetRow) {
      const row = m.budget_id === null ? undefined : await budgets.get(m.budget_id);
      out.litellm_budget_table = row === undefined ? null : renderBudget(row);
    }
    return out;
  };

  /** The row; `full` adds the budget row, members and teams (`include=…` in LiteLLM's queries). */
  const renderOrg = async (org: OrganizationRecord, full: boolean): Promise<Json> => {
    const row = tenancy.budgets.get(org.budget_id) ?? (await budgets.get(org.budget_id));
    const s = withBudget({ max_budget_nano: null, soft_budget_nano: null, budget_duration: null, model_max_budget: {}, tpm_limit: null, rpm_limit: null, max_parallel_requests: null }, row);
    const out: Json = {
      organization_id: org.organization_id,
      organization_alias: org.organization_alias,
      budget_id: org.budget_id,
      metadata: org.metadata,
      models: org.models,
      spend: (await currentSpend(tenancy, scopeOf('org', org.organization_id), s.budget_duration, s.firstEnd)) / 1e9,
      model_spend: {},
      object_permission_id: null,
      created_at: isoOf(org.created_at),
      created_by: org.created_by,
      updated_at: isoOf(org.updated_at),
      updated_by: org.updated_by,
      ...org.extra,
    };
    if (full) {
      out.litellm_budget_table = row === undefined ? null : renderBudget(row);
      out.members = await Promise.all((await organizations.members(org.organization_id)).map((m) => renderMembership(m, false)));
      out.teams = await Promise.all(organizations.teams(org.organization_id).map((t) => render.team(t)));
    }
    return out;
  };

  app.post('/organization/new', route('write', async (request, caller) => renderOrg(await organizations.create(organizationInput(jsonBody(request)), actorOf(caller)), false)));

  const update = route('write', async (request, caller) => {
    const b = jsonBody(request);
    return renderOrg(await organizations.update(requiredOrgId(b), organizationInput(b), actorOf(caller)), true);
  });
  app.patch('/organization/update', update);
  app.post('/organization/update', update);

  const remove = route('write', async (request) => {
    const ids = strings(jsonBody(request), 'organization_ids');
    if (ids === undefined || ids.length === 0) throw errors.invalidRequest('organization_ids: required', 'organization_ids');
    const deleted = await organizations.delete(ids);
    return Promise.all(
      deleted.map(async ({ org, members, teams }) => {
        const row = await budgets.get(org.budget_id);
        return { ...(await renderOrg(org, false)), litellm_budget_table: row === undefined ? null : renderBudget(row), members: await Promise.all(members.map((m) => renderMembership(m, false))), teams: await Promise.all(teams.map((t) => render.team(t))) };
      }),
    );
  });
  app.delete('/organization/delete', remove);
  app.post('/organization/delete', remove);

  app.get('/organization/list', route('read', async (_request, caller) => {
    const all = await organizations.list(seesAll(caller) ? undefined : (caller.principal.userId ?? null));
    return Promise.all(all.map((o) => renderOrg(o, true)));
  }));

  app.get('/organization/info', route('read', async (request, caller) => {
    requireRead(request, caller);
    const id = queryParam(request.query, 'organization_id');
    if (id === undefined) throw errors.invalidRequest('organization_id: required', 'organization_id');
    return renderOrg(await organizations.get(id), true);
  }));

  // Deprecated in LiteLLM, still served: POST {"organizations": [...]} → rows with their budget.
  app.post('/organization/info', route('read', async (request, caller) => {
    requireRead(request, caller);
    const ids = strings(jsonBody(request), 'organizations');
    if (ids === undefined || ids.length === 0) throw errors.invalidRequest(`Specify list of organization id's to query. Passed in=${JSON.stringify(ids ?? [])}`, 'organizations');
    return Promise.all(
      (await organizations.find(ids)).map(async (o) => {
        const row = await budgets.get(o.budget_id);
        return { ...(await renderOrg(o, false)), litellm_budget_table: row === undefined ? null : renderBudget(row) };
      }),
    );
  }));

  app.post('/organization/member_add', route('write', async (request, caller) => {
    const b = jsonBody(request);
    const orgId = requiredOrgId(b);
    const raw = b.member;
    if (raw === undefined || raw === null) throw errors.invalidRequest('member: required ({user_id | user_email, role} or a list of them)', 'member');
    const list = (Array.isArray(raw) ? raw : [raw]).map((m) => {
      const mb = bodyOf(m);
      return { ...target(mb), role: role(mb.role, 'member.role') };
    });
    const { users, memberships } = await organizations.addMembers(orgId, list, maxBudgetInOrg(b), actorOf(caller));
    return {
      organization_id: orgId,
      updated_users: await Promise.all(users.map((u) => render.user(u))),
      updated_organization_memberships: await Promise.all(memberships.map((m) => renderMembership(m, false))),
    };
  }));

  const memberUpdate = route('write', async (request, caller) => {
    const b = jsonBody(request);
    const r = b.role === undefined || b.role === null ? undefined : role(b.role, 'role');
    return renderMembership(await organizations.updateMember(requiredOrgId(b), target(b), r, maxBudgetInOrg(b), actorOf(caller)), true);
  });
  app.patch('/organization/member_update', memberUpdate);
  app.post('/organization/member_update', memberUpdate);

  const memberDelete = route('write', async (request: FastifyRequest, _caller: Caller, _reply: FastifyReply) => {
    const b = jsonBody(request);
    return renderMembership(await organizations.removeMember(requiredOrgId(b), target(b)), false);
  });
  app.delete('/organization/member_delete', memberDelete);
  app.post('/organization/member_delete', memberDelete);
}

/** Admins and admin viewers list every organization; others the ones they are members of. */
function seesAll(caller: Caller): boolean {
  return caller.access !== 'none';
}
