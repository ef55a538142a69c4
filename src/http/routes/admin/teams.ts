/**
 * `/team/new`, `/team/info`, `/team/update`, `/team/delete`, `/team/list`, `/team/member_add`,
 * `/team/member_delete`, `/team/member_update`, `/team/block`, `/team/unblock`.
 *
 * Proxy admins manage every team; a team's admins manage its members (LiteLLM's self-managed
 * routes); members and the team's keys may read `/team/info`.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../../core/errors.js';
import type { TeamChanges } from '../../../policy/admin/people.js';
import { canViewAll, forbidden, requireTeamAdmin } from '../../../policy/admin/roles.js';
import { bodyOf, bool, budgetChanges, extras, member, members, object, queryParam, requiredStr, str, strings, TEAM_EXTRAS, usd, type Body } from './fields.js';
import { jsonBody, requireRead, type AdminContext } from './context.js';

function teamChanges(b: Body): TeamChanges {
  return {
    ...budgetChanges(b),
    team_alias: str(b, 'team_alias'),
    models: strings(b, 'models'),
    members_with_roles: members(b),
    metadata: object(b, 'metadata'),
    tags: strings(b, 'tags'),
    blocked: bool(b, 'blocked'),
    extra: extras(b, TEAM_EXTRAS),
  };
}

export function registerTeamRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { people, keys, render, route } = ctx;
  /** LiteLLM's `team_memberships` of a team: the members that have a membership row (a budget in the team). */
  const teamMembershipsOf = (teamId: string) => async (userIds: (string | null)[]): Promise<Record<string, unknown>[]> => {
    const out: Record<string, unknown>[] = [];
    for (const id of userIds) if (id !== null) out.push(...(await ctx.memberBudgets.memberships(teamId, id)));
    return out;
  };

  app.post('/team/new', route('write', async (request, caller) => {
    const b = jsonBody(request);
    // The creator joins as an admin (LiteLLM new_team); the master key as `default_user_id`.
    return render.team(await people.createTeam(str(b, 'team_id') ?? undefined, teamChanges(b), caller.userId));
  }));

  app.get('/team/info', route('self', async (request, caller) => {
    const teamId = queryParam(request.query, 'team_id') ?? caller.principal.teamId;
    if (teamId === undefined) throw errors.invalidRequest('Malformed request. No team id passed in.', 'team_id');
    const team = await people.getTeam(teamId);
    const isMember = team.members_with_roles.some((m) => m.user_id !== null && m.user_id === caller.userId);
    // LiteLLM validate_membership: admins and viewers, the team's own keys, and its members.
    if (!canViewAll(caller.who) && !isMember && caller.principal.teamId !== teamId) {
      throw forbidden(`User=${caller.userId ?? 'None'} not authorized to access this team=${teamId}`, 'team_id');
    }
    const teamKeys = await keys.list({ teamIds: [teamId] }, { limit: 1000, offset: 0 });
    return {
      team_id: teamId,
      team_info: await render.team(team),
      keys: await Promise.all(teamKeys.keys.map((k) => render.key(k))),
      team_memberships: await teamMembershipsOf(teamId)(team.members_with_roles.map((m) => m.user_id)),
    };
  }));

  app.post('/team/update', route('write', async (request) => {
    const b = jsonBody(request);
    // Members change through /team/member_add and /team/member_delete, as in LiteLLM.
    const { members_with_roles: _members, ...changes } = teamChanges(b);
    const team = await people.updateTeam(requiredStr(b, 'team_id'), changes);
    return { team_id: team.team_id, data: await render.team(team) };
  }));

  app.post('/team/delete', route('write', async (request) => {
    const ids = strings(jsonBody(request), 'team_ids');
    if (ids === undefined || ids.length === 0) throw errors.invalidRequest('team_ids: required', 'team_ids');
    return { deleted_teams: await people.deleteTeams(ids) };
  }));

  app.get('/team/list', route('self', async (request, caller) => {
    const userId = queryParam(request.query, 'user_id') ?? (canViewAll(caller.who) ? undefined : caller.userId);
    requireRead(request, caller, userId !== undefined && userId === caller.userId);
    const teams = await people.listTeams(userId);
    return Promise.all(
      teams.map(async (t) => ({
        ...(await render.team(t)),
        keys: (await keys.list({ teamIds: [t.team_id] }, { limit: 1000, offset: 0 })).keys.map((k) => k.token),
        team_memberships: [],
      })),
    );
  }));

  app.post('/team/member_add', route('self', async (request, caller) => {
    const b = jsonBody(request);
    const raw = b.member;
    if (raw === undefined || raw === null) throw errors.invalidRequest('No member/members passed in', 'member');
    const list = (Array.isArray(raw) ? raw : [raw]).map((m) => member(bodyOf(m)));
    const maxBudget = usd(b, 'max_budget_in_team');
    const teamId = requiredStr(b, 'team_id');
    requireTeamAdmin(caller.who, await people.getTeam(teamId), '/team/member_add');
    const { team, users } = await people.addMembers(
      teamId,
      list.map((m) => ({ user_id: m.user_id ?? undefined, user_email: m.user_email ?? undefined, role: m.role })),
    );
    const memberships: Record<string, unknown>[] = [];
    for (const u of users) {
      if (maxBudget !== undefined && maxBudget !== null) await ctx.memberBudgets.setMaxBudget(teamId, u.user_id, maxBudget, caller.actor ?? '');
      memberships.push(...(await ctx.memberBudgets.memberships(teamId, u.user_id)));
    }
    return { ...(await render.team(team)), updated_users: await Promise.all(users.map((u) => render.user(u))), updated_team_memberships: memberships };
  }));

  app.post('/team/member_delete', route('self', async (request, caller) => {
    const b = jsonBody(request);
    const teamId = requiredStr(b, 'team_id');
    requireTeamAdmin(caller.who, await people.getTeam(teamId), '/team/member_delete');
    const team = await people.removeMember(teamId, { user_id: str(b, 'user_id') ?? undefined, user_email: str(b, 'user_email') ?? undefined });
    return render.team(team);
  }));

  // LiteLLM team_member_update: a member's role and its budget within the team (max_budget_in_team).
  app.post('/team/member_update', route('self', async (request, caller) => {
    const b = jsonBody(request);
    const teamId = requiredStr(b, 'team_id');
    requireTeamAdmin(caller.who, await people.getTeam(teamId), '/team/member_update');
    const role = str(b, 'role') ?? undefined;
    if (role !== undefined && role !== 'admin' && role !== 'user') throw errors.invalidRequest('role: must be "admin" or "user"', 'role');
    const maxBudget = usd(b, 'max_budget_in_team');
    const userEmail = str(b, 'user_email') ?? undefined;
    const { member: updated } = await people.updateMember(teamId, { user_id: str(b, 'user_id') ?? undefined, user_email: userEmail }, role);
    const memberId = updated.user_id ?? '';
    if (maxBudget !== undefined && maxBudget !== null) await ctx.memberBudgets.setMaxBudget(teamId, memberId, maxBudget, caller.actor ?? '');
    return { team_id: teamId, user_id: memberId, user_email: userEmail ?? null, max_budget_in_team: maxBudget === undefined || maxBudget === null ? null : maxBudget / 1e9 };
  }));

  for (const [path, blocked] of [['/team/block', true], ['/team/unblock', false]] as const) {
    app.post(path, route('write', async (request) => render.team(await people.updateTeam(requiredStr(jsonBody(request), 'team_id'), { blocked }))));
  }
}
