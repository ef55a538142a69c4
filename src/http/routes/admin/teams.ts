/**
 * `/team/new`, `/team/info`, `/team/update`, `/team/delete`, `/team/list`, `/team/member_add`,
 * `/team/member_delete`, `/team/block`, `/team/unblock`.
 */
import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../../../core/errors.js';
import type { TeamChanges } from '../../../policy/admin/people.js';
import { bodyOf, bool, budgetChanges, extras, member, members, object, queryParam, requiredStr, str, strings, TEAM_EXTRAS, usd, type Body } from './fields.js';
import { jsonBody, requireRead, type AdminContext } from './index.js';

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

  app.post('/team/new', route('write', async (request) => {
    const b = jsonBody(request);
    return render.team(await people.createTeam(str(b, 'team_id') ?? undefined, teamChanges(b)));
  }));

  app.get('/team/info', route('read', async (request, caller) => {
    const teamId = queryParam(request.query, 'team_id') ?? caller.principal.teamId;
    if (teamId === undefined) throw invalidRequest('Malformed request. No team id passed in.', 'team_id');
    const team = await people.getTeam(teamId);
    const isMember = team.members_with_roles.some((m) => m.user_id !== null && m.user_id === caller.principal.userId);
    requireRead(request, caller, isMember || caller.principal.teamId === teamId);
    const teamKeys = await keys.list({ teamIds: [teamId] }, { limit: 1000, offset: 0 });
    return {
      team_id: teamId,
      team_info: await render.team(team),
      keys: await Promise.all(teamKeys.keys.map((k) => render.key(k))),
      team_memberships: [],
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
    if (ids === undefined || ids.length === 0) throw invalidRequest('team_ids: required', 'team_ids');
    return { deleted_teams: await people.deleteTeams(ids) };
  }));

  app.get('/team/list', route('read', async (request, caller) => {
    const userId = queryParam(request.query, 'user_id') ?? (caller.access === 'none' ? caller.principal.userId : undefined);
    requireRead(request, caller, userId !== undefined && userId === caller.principal.userId);
    const teams = await people.listTeams(userId);
    return Promise.all(
      teams.map(async (t) => ({
        ...(await render.team(t)),
        keys: (await keys.list({ teamIds: [t.team_id] }, { limit: 1000, offset: 0 })).keys.map((k) => k.token),
        team_memberships: [],
      })),
    );
  }));

  app.post('/team/member_add', route('write', async (request) => {
    const b = jsonBody(request);
    const raw = b.member;
    const list = (Array.isArray(raw) ? raw : [raw]).map((m) => member(bodyOf(m)));
    usd(b, 'max_budget_in_team');
    const { team, users } = await people.addMembers(
      requiredStr(b, 'team_id'),
      list.map((m) => ({ user_id: m.user_id ?? undefined, user_email: m.user_email ?? undefined, role: m.role })),
    );
    return { ...(await render.team(team)), updated_users: await Promise.all(users.map((u) => render.user(u))), updated_team_memberships: [] };
  }));

  app.post('/team/member_delete', route('write', async (request) => {
    const b = jsonBody(request);
    const team = await people.removeMember(requiredStr(b, 'team_id'), { user_id: str(b, 'user_id') ?? undefined, user_email: str(b, 'user_email') ?? undefined });
    return render.team(team);
  }));

  for (const [path, blocked] of [['/team/block', true], ['/team/unblock', false]] as const) {
    app.post(path, route('write', async (request) => render.team(await people.updateTeam(requiredStr(jsonBody(request), 'team_id'), { blocked }))));
  }
}
