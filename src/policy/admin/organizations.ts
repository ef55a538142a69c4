/**
 * Organizations (LiteLLM_OrganizationTable) and their members (LiteLLM_OrganizationMembership),
 * as litellm/proxy/management_endpoints/organization_endpoints.py keeps them: every organization
 * has a budget row (created from the request's budget fields when no `budget_id` is given); members
 * are users (created when they do not exist yet) with an organization role and an optional budget;
 * deleting an organization deletes its teams, keys and memberships.
 */
import { randomUUID } from 'node:crypto';
import type { TeamRecord, UserRecord } from '../../storage/tenancy-ports.js';
import type { OrganizationRecord, OrgMembershipRecord } from '../../storage/tenancy-ports-budgets.js';
import { linkField } from '../budget-links.js';
import type { Tenancy } from '../tenancy.js';
import { type BudgetAdmin, type BudgetChanges, hasBudgetFields } from './budgets.js';
import { badRequest, notFound } from './common.js';
import type { KeyAdmin } from './keys.js';
import type { PeopleAdmin } from './people.js';

export const ORG_ROLES = ['org_admin', 'internal_user', 'internal_user_viewer'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export interface OrganizationInput {
  organization_id?: string | undefined;
  organization_alias?: string | undefined;
  models?: string[] | undefined;
  budget_id?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  extra?: Record<string, unknown> | undefined;
  budget: BudgetChanges;
}

export interface MemberTarget {
  user_id?: string | undefined;
  user_email?: string | undefined;
}

export class OrganizationAdmin {
  constructor(
    private readonly tenancy: Tenancy,
    private readonly budgets: BudgetAdmin,
    private readonly people: PeopleAdmin,
    private readonly keys: KeyAdmin,
  ) {}

  async create(input: OrganizationInput, actor: string): Promise<OrganizationRecord> {
    const alias = input.organization_alias;
    if (alias === undefined || alias === '') throw badRequest('organization_alias: required', 'organization_alias');
    const id = input.organization_id ?? randomUUID();
    if ((await this.tenancy.stores.organizations.get(id)) !== undefined) throw badRequest(`Organization with id=${id} already exists`, 'organization_id');
    let budgetId: string;
    if (input.budget_id !== undefined) budgetId = (await this.budgets.requireLink(input.budget_id)).budget_id;
    // LiteLLM builds the organization's row with LiteLLM_BudgetTable(...) and stores no reset
    // instant, so its reset job (budget_reset_at <= now) never resets it; here a row with a
    // budget_duration first resets one duration after creation, like every other budget row.
    else budgetId = (await this.budgets.create(undefined, input.budget, actor)).budget_id;
    const now = this.tenancy.now();
    const record: OrganizationRecord = {
      organization_id: id,
      organization_alias: alias,
      budget_id: budgetId,
      metadata: input.metadata ?? {},
      models: input.models ?? [],
      extra: input.extra ?? {},
      created_at: now,
      created_by: actor,
      updated_at: now,
      updated_by: actor,
    };
    if (!(await this.tenancy.stores.organizations.insert(record))) throw badRequest(`Organization with id=${id} already exists`, 'organization_id');
    this.tenancy.putOrganization(record);
    return record;
  }

  async get(organizationId: string): Promise<OrganizationRecord> {
    const org = await this.tenancy.stores.organizations.get(organizationId);
    if (org === undefined) throw notFound(`Organization not found for organization_id=${organizationId}`, 'organization_id');
    return org;
  }

  async find(organizationIds: readonly string[]): Promise<OrganizationRecord[]> {
    return this.tenancy.stores.organizations.find({ organizationIds });
  }

  /** All organizations, or (for a caller that is not an admin) those the user is a member of. */
  async list(memberOf: string | null | undefined): Promise<OrganizationRecord[]> {
    if (memberOf === undefined) return this.tenancy.stores.organizations.find({});
    if (memberOf === null) return [];
    const ids = (await this.tenancy.stores.orgMemberships.find({ userIds: [memberOf] })).map((m) => m.organization_id);
    return ids.length === 0 ? [] : this.find(ids);
  }

  /** Changes the organization; budget fields change its budget row. */
  async update(organizationId: string, input: OrganizationInput, actor: string): Promise<OrganizationRecord> {
    const existing = await this.get(organizationId);
    const next: OrganizationRecord = {
      ...existing,
      organization_alias: input.organization_alias ?? existing.organization_alias,
      models: input.models ?? existing.models,
      metadata: input.metadata ?? existing.metadata,
      extra: { ...existing.extra, ...input.extra },
      updated_at: this.tenancy.now(),
      updated_by: actor,
    };
    if (input.budget_id !== undefined) next.budget_id = (await this.budgets.requireLink(input.budget_id)).budget_id;
    if (hasBudgetFields(input.budget)) {
      if ((await this.budgets.get(next.budget_id)) === undefined) next.budget_id = (await this.budgets.create(next.budget_id, input.budget, actor)).budget_id;
      else await this.budgets.update(next.budget_id, input.budget, actor);
    }
    await this.tenancy.stores.organizations.update(next);
    this.tenancy.putOrganization(next);
    return next;
  }

  /** Deletes the organizations with their teams, keys and memberships; returns them as they were. */
  async delete(organizationIds: readonly string[]): Promise<{ org: OrganizationRecord; members: OrgMembershipRecord[]; teams: TeamRecord[] }[]> {
    const out = [];
    for (const id of organizationIds) out.push({ org: await this.get(id), members: await this.members(id), teams: this.teams(id) });
    for (const { org, members, teams } of out) {
      if (teams.length > 0) await this.people.deleteTeams(teams.map((t) => t.team_id));
      const tokens = [...this.tenancy.keys.values()].filter((k) => linkField(k, 'organization_id') === org.organization_id).map((k) => k.token);
      if (tokens.length > 0) await this.keys.delete(tokens, []);
      const at = this.tenancy.now();
      await this.tenancy.stores.orgMemberships.delete(members.map((m) => ({ groupId: m.organization_id, userId: m.user_id })), at);
      await this.tenancy.stores.organizations.delete([org.organization_id], at);
      this.tenancy.drop('organization', [org.organization_id]);
    }
    return out;
  }

  async members(organizationId: string): Promise<OrgMembershipRecord[]> {
    return this.tenancy.stores.orgMemberships.find({ groupIds: [organizationId] });
  }

  /** The teams that belong to the organization (from the in-process records). */
  teams(organizationId: string): TeamRecord[] {
    return [...this.tenancy.teams.values()].filter((t) => linkField(t, 'organization_id') === organizationId).sort((a, b) => a.created_at - b.created_at);
  }

  /**
   * Adds members, creating users that do not exist yet (as internal users), each with its
   * organization role; `max_budget_in_organization` gives each membership a budget row.
   */
  async addMembers(organizationId: string, members: readonly (MemberTarget & { role: OrgRole })[], maxBudgetNano: number | undefined, actor: string): Promise<{ users: UserRecord[]; memberships: OrgMembershipRecord[] }> {
    await this.get(organizationId);
    const users: UserRecord[] = [];
    const memberships: OrgMembershipRecord[] = [];
    for (const m of members) {
      if (m.user_id === undefined && m.user_email === undefined) throw badRequest('member: Either user id or user email must be provided', 'member');
      const user = (await this.existingUser(m)) ?? (await this.people.createUser(m.user_id, { user_email: m.user_email ?? null, user_role: 'internal_user' }));
      if ((await this.tenancy.stores.orgMemberships.get(organizationId, user.user_id)) !== undefined) {
        throw badRequest(`User=${user.user_id} is already a member of organization=${organizationId}`, 'member');
      }
      const budgetId = maxBudgetNano === undefined ? null : (await this.budgets.create(undefined, { max_budget_nano: maxBudgetNano }, actor)).budget_id;
      const now = this.tenancy.now();
      const membership: OrgMembershipRecord = { user_id: user.user_id, organization_id: organizationId, user_role: m.role, budget_id: budgetId, created_at: now, updated_at: now };
      if (!(await this.tenancy.stores.orgMemberships.insert(membership))) throw badRequest(`User=${user.user_id} is already a member of organization=${organizationId}`, 'member');
      users.push(user);
      memberships.push(membership);
    }
    return { users, memberships };
  }

  /** A member's role and budget in the organization (LiteLLM answers 400 for an unknown organization here). */
  async updateMember(organizationId: string, target: MemberTarget, role: OrgRole | undefined, maxBudgetNano: number | undefined, actor: string): Promise<OrgMembershipRecord> {
    if ((await this.tenancy.stores.organizations.get(organizationId)) === undefined) throw badRequest(`Organization not found for organization_id=${organizationId}`, 'organization_id');
    const userId = await this.memberId(target);
    const existing = await this.tenancy.stores.orgMemberships.get(organizationId, userId);
    if (existing === undefined) throw notFound(`Member not found in organization for user_id=${userId}`, 'user_id');
    const next: OrgMembershipRecord = { ...existing, user_role: role ?? existing.user_role, updated_at: this.tenancy.now() };
    if (maxBudgetNano !== undefined) {
      if (existing.budget_id !== null && (await this.budgets.get(existing.budget_id)) !== undefined) await this.budgets.update(existing.budget_id, { max_budget_nano: maxBudgetNano }, actor);
      else next.budget_id = (await this.budgets.create(undefined, { max_budget_nano: maxBudgetNano }, actor)).budget_id;
    }
    await this.tenancy.stores.orgMemberships.update(next);
    return next;
  }

  async removeMember(organizationId: string, target: MemberTarget): Promise<OrgMembershipRecord> {
    const userId = await this.memberId(target);
    const existing = await this.tenancy.stores.orgMemberships.get(organizationId, userId);
    if (existing === undefined) throw notFound(`Member not found in organization=${organizationId} for user_id=${userId}`, 'user_id');
    await this.tenancy.stores.orgMemberships.delete([{ groupId: organizationId, userId }], this.tenancy.now());
    return existing;
  }

  private async existingUser(m: MemberTarget): Promise<UserRecord | undefined> {
    if (m.user_id !== undefined) {
      const byId = await this.people.getUser(m.user_id);
      if (byId !== undefined) return byId;
    }
    if (m.user_email === undefined) return undefined;
    return this.people.findUser({ user_email: m.user_email }).catch(() => undefined);
  }

  private async memberId(target: MemberTarget): Promise<string> {
    if (target.user_id !== undefined) return target.user_id;
    if (target.user_email !== undefined) {
      const user = await this.people.findUser({ user_email: target.user_email }).catch(() => undefined);
      if (user === undefined) throw badRequest(`Unique user not found for user_email=${target.user_email}. Potential duplicate OR non-existent user_email in LiteLLM_UserTable. Use 'user_id' instead.`, 'user_email');
      return user.user_id;
    }
    throw badRequest('Either user_id or user_email must be provided', 'user_id');
  }
}
