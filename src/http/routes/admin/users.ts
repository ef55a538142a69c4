/**
 * `/user/new`, `/user/info`, `/user/update`, `/user/delete`, `/user/list`. As in LiteLLM,
 * `/user/new` also generates a key for the new user unless `auto_create_key` is false; that answer
 * is the only one carrying the key's plaintext.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../../core/errors.js';
import type { UserChanges } from '../../../policy/admin/people.js';
import type { UserFilter } from '../../../policy/records.js';
import { bodyOf, bool, budgetChanges, expiry, extras, object, pageParams, queryParam, str, strings, USER_EXTRAS, userRole, type Body } from './fields.js';
import { canViewAll, forbidden } from '../../../policy/admin/roles.js';
import { jsonBody, pages, requireRead, type AdminContext } from './context.js';

function userChanges(b: Body): UserChanges {
  return {
    ...budgetChanges(b),
    user_email: str(b, 'user_email'),
    user_alias: str(b, 'user_alias'),
    user_role: userRole(b),
    models: strings(b, 'models'),
    metadata: object(b, 'metadata'),
    teams: teamIds(b),
    extra: extras(b, USER_EXTRAS),
  };
}

/** `teams`: team ids, or `{team_id, user_role}` objects. */
function teamIds(b: Body): string[] | undefined {
  const raw = b.teams;
  if (raw === undefined) return undefined;
  if (raw === null) return [];
  if (!Array.isArray(raw)) throw errors.invalidRequest('teams: must be a list of team ids', 'teams');
  return raw.map((t) => (typeof t === 'string' ? t : (str(bodyOf(t), 'team_id') ?? '')));
}

export function registerUserRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { people, keys, render, route } = ctx;

  app.post('/user/new', route('write', async (request, caller) => {
    const b = jsonBody(request);
    const changes = userChanges(b);
    // `team_id` joins the user to that team as a member (LiteLLM new_user → _add_user_to_team).
    const teamId = str(b, 'team_id') ?? undefined;
    if (teamId !== undefined && !(changes.teams ?? []).includes(teamId)) changes.teams = [...(changes.teams ?? []), teamId];
    // Team membership is added after the user exists (it checks the teams).
    const user = await people.createUser(str(b, 'user_id') ?? undefined, changes);
    let keyPart: Record<string, unknown> = { key: null };
    if (bool(b, 'auto_create_key') !== false) {
      const { plaintext, record } = await keys.generate(
        { user_id: user.user_id, key_alias: str(b, 'key_alias'), expires: expiry(b, ctx.tenancy.now()), team_id: str(b, 'team_id') },
        caller.actor,
      );
      keyPart = { ...(await render.key(record)), key: plaintext, token: record.token, token_id: record.token };
    }
    return { ...keyPart, ...(await render.user(user)), key: keyPart.key };
  }));

  app.get('/user/info', route('self', async (request, caller) => {
    const userId = queryParam(request.query, 'user_id') ?? caller.principal.userId;
    if (userId === undefined) throw errors.invalidRequest('user_id: required', 'user_id');
    // LiteLLM route_checks: a non-admin may read only its own user.
    if (!canViewAll(caller.who) && userId !== caller.principal.userId) {
      throw forbidden(`key not allowed to access this user's info. user_id=${userId}, key's user_id=${caller.principal.userId ?? 'None'}`, 'user_id');
    }
    const user = await people.findUser({ user_id: userId });
    const [ownKeys, teams] = await Promise.all([keys.list({ userIds: [userId] }, { limit: 1000, offset: 0 }), people.listTeams(userId)]);
    return {
      user_id: userId,
      user_info: await render.user(user),
      keys: await Promise.all(ownKeys.keys.map((k) => render.key(k))),
      // Each team with the user's membership in it (LiteLLM: budget row and spend within the team).
      teams: await Promise.all(teams.map(async (t) => ({ ...(await render.team(t)), team_memberships: await ctx.memberBudgets.memberships(t.team_id, userId) }))),
    };
  }));

  app.post('/user/update', route('write', async (request) => {
    const b = jsonBody(request);
    const { teams: _teams, ...changes } = userChanges(b);
    const user = await people.updateUser({ user_id: str(b, 'user_id') ?? undefined, user_email: str(b, 'user_email') ?? undefined }, changes);
    return { user_id: user.user_id, data: await render.user(user) };
  }));

  app.post('/user/delete', route('write', async (request) => {
    const ids = strings(jsonBody(request), 'user_ids');
    if (ids === undefined || ids.length === 0) throw errors.invalidRequest('user_ids: required', 'user_ids');
    // LiteLLM answers with the number of users deleted.
    return people.deleteUsers(ids);
  }));

  app.get('/user/list', route('read', async (request, caller) => {
    requireRead(request, caller);
    const { page, size } = pageParams(request.query, 'page_size', 25);
    const filter: UserFilter = {};
    const role = queryParam(request.query, 'role');
    const ids = queryParam(request.query, 'user_ids');
    const email = queryParam(request.query, 'user_email');
    if (role !== undefined) filter.role = role;
    if (ids !== undefined) filter.userIds = ids.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (email !== undefined) filter.email = email;
    const { users, total } = await people.listUsers(filter, { limit: size, offset: (page - 1) * size });
    const rendered = await Promise.all(
      users.map(async (u) => ({ ...(await render.user(u)), key_count: (await keys.list({ userIds: [u.user_id] }, { limit: 1, offset: 0 })).total })),
    );
    return { users: rendered, total, page, page_size: size, total_pages: pages(total, size) };
  }));
}
