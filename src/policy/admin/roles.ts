/**
 * LiteLLM's roles and who may call which management route (litellm/proxy/auth/route_checks.py
 * `non_proxy_admin_allowed_routes_check`, the LiteLLMRoutes lists in litellm/proxy/_types.py, and
 * litellm/proxy/management_helpers/team_member_permission_checks.py).
 *
 * - `proxy_admin` (the master key, or a key of a user with that role, or anyone when no master key
 *   is set) may call everything.
 * - `proxy_admin_viewer` may read everything (GET) and write nothing.
 * - `internal_user` may call the key-management routes; the handlers then scope them to the
 *   caller's own keys and to teams where the caller's member permissions allow it.
 * - `internal_user_viewer` may read its own keys, user and teams.
 * - Team `admin`s manage their team's keys, members and team models; team `user`s may do what the
 *   team's `team_member_permissions` list (default `/key/info`, `/key/health`) names.
 *
 * Errors are LiteLLM's: a route outside the caller's role is a 401 (`auth_error`) naming the route
 * and the caller's role; a missing team-member permission is a 401 `team_member_permission_error`.
 */
import type { Principal } from '../../core/call-record.js';
import { errors, type GatewayError } from '../../core/errors.js';
import type { TeamMember, TeamRecord } from '../../storage/tenancy-ports.js';
import type { Tenancy } from '../tenancy.js';
import { MASTER_KEY_USER_ID } from '../virtual-keys.js';

export type ProxyRole = 'proxy_admin' | 'proxy_admin_viewer' | 'internal_user' | 'internal_user_viewer';

/** The user id LiteLLM gives the master key (`LITELLM_PROXY_ADMIN_NAME`): `created_by` of what it creates. */
export const MASTER_USER_ID = MASTER_KEY_USER_ID;

export interface AdminCaller {
  principal: Principal;
  /** null: a key without a user (or whose user is not stored). */
  role: ProxyRole | null;
  /** The caller's user id; `default_user_id` for the master key. */
  userId: string | undefined;
}

const ROLES: readonly string[] = ['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer'];

/**
 * A stored user's effective role. LiteLLM's `_get_user_role` maps a missing or unknown role of an
 * existing user to `internal_user` (users made by `/user/new` without `user_role` can manage their keys).
 */
export function callerOf(principal: Principal, tenancy: Tenancy, open: boolean): AdminCaller {
  if (principal.isMaster || open) return { principal, role: 'proxy_admin', userId: principal.userId ?? MASTER_USER_ID };
  const userId = principal.userId;
  const user = userId === undefined ? undefined : tenancy.users.get(userId);
  if (user === undefined) return { principal, role: null, userId };
  const role = user.user_role !== null && ROLES.includes(user.user_role) ? (user.user_role as ProxyRole) : 'internal_user';
  return { principal, role, userId };
}

export const isProxyAdmin = (c: AdminCaller): boolean => c.role === 'proxy_admin';
export const canViewAll = (c: AdminCaller): boolean => c.role === 'proxy_admin' || c.role === 'proxy_admin_viewer';

/** LiteLLM's `_mask_user_id`: first six and last two characters. */
function maskUserId(userId: string | undefined): string {
  if (userId === undefined || userId.length <= 4) return '***';
  if (userId.length <= 8) return '*'.repeat(userId.length);
  return `${userId.slice(0, 6)}${'*'.repeat(userId.length - 8)}${userId.slice(-2)}`;
}

/** The refusal for a route the caller's role does not include (LiteLLM `_raise_admin_only_route_exception`). */
export function adminOnly(caller: AdminCaller, route: string): GatewayError {
  const role = caller.role ?? 'unknown';
  return errors.authentication(
    `Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=${route}. Your role=${role}. Your user_id=${caller.role === null && caller.userId === undefined ? 'unknown' : maskUserId(caller.userId)}`,
    { type: 'auth_error' },
  );
}

/** proxy_admin_viewer on a write (LiteLLM `_check_proxy_admin_viewer_access`). */
export function viewerWrite(route: string): GatewayError {
  return errors.permissionDenied(`user not allowed to access this route, role= proxy_admin_viewer. Trying to access: ${route}`);
}

export function forbidden(message: string, param?: string): GatewayError {
  return errors.permissionDenied(message, { param });
}

/** LiteLLM's `key_management_routes`: what `internal_user` may call (handlers scope them further). */
const KEY_ROUTES = new Set([
  '/key/generate', '/key/update', '/key/delete', '/key/info', '/key/regenerate', '/key/:key/regenerate', '/key/list',
  '/key/block', '/key/unblock', '/key/:key/reset_spend', '/spend/logs',
]);
/** Routes every key may call; the handler shows only what the caller may see. */
const INFO_ROUTES = new Set([
  '/key/info', '/key/health', '/team/info', '/team/list', '/user/info', '/model/info', '/v1/model/info', '/v2/model/info',
  '/v2/key/info', '/model_group/info', '/key/list', '/models', '/v1/models',
]);
/** LiteLLM's `self_managed_routes`: the handler checks team admins itself. */
const SELF_MANAGED = new Set(['/team/member_add', '/team/member_delete', '/team/member_update', '/model/new', '/model/update', '/model/delete']);

/**
 * Throws unless the caller's role may call `route` (the fastify route pattern). Object-level checks
 * (whose key, which team) are the handler's.
 */
export function checkRoute(caller: AdminCaller, route: string, method: string): void {
  if (caller.role === 'proxy_admin') return;
  if (INFO_ROUTES.has(route) || SELF_MANAGED.has(route)) return;
  if (caller.role === 'proxy_admin_viewer') {
    if (method === 'GET' || method === 'HEAD') return;
    throw viewerWrite(route);
  }
  if (caller.role === 'internal_user' && KEY_ROUTES.has(route)) return;
  throw adminOnly(caller, route);
}

// ---- teams ----

/** The member entry of `userId` in `team` (LiteLLM `_get_user_in_team`). */
export function memberOf(team: TeamRecord, userId: string | undefined): TeamMember | undefined {
  if (userId === undefined) return undefined;
  return team.members_with_roles.find((m) => m.user_id === userId);
}

export function isTeamAdmin(team: TeamRecord, userId: string | undefined): boolean {
  return memberOf(team, userId)?.role === 'admin';
}

/** LiteLLM's DEFAULT_TEAM_MEMBER_PERMISSIONS. */
export const DEFAULT_TEAM_MEMBER_PERMISSIONS = ['/key/info', '/key/health'];

/** `team_member_permissions` (kept in the team's `extra`), or LiteLLM's default. */
export function teamMemberPermissions(team: TeamRecord): string[] {
  const list = team.extra.team_member_permissions;
  if (Array.isArray(list) && list.length > 0) return list.filter((p): p is string => typeof p === 'string');
  return [...DEFAULT_TEAM_MEMBER_PERMISSIONS];
}

function pyList(list: readonly string[]): string {
  return `[${list.map((m) => `'${m}'`).join(', ')}]`;
}

/**
 * LiteLLM `does_team_member_have_permissions_for_endpoint`: admins may do everything; members what
 * the team's permissions list; the refusal is a 401 `team_member_permission_error`.
 */
export function checkTeamMemberPermission(team: TeamRecord, member: TeamMember, route: string): void {
  if (member.role === 'admin') return;
  const allowed = teamMemberPermissions(team);
  if (allowed.includes(route)) return;
  throw errors.authentication(
    `Team member does not have permissions for endpoint: ${route}. You only have access to the following endpoints: ${pyList(allowed)} for team ${team.team_id}. To create keys for this team, please ask your proxy admin to check the team member permission settings and update the settings to allow team member users to create keys.`,
    { type: 'team_member_permission_error', param: route },
  );
}

/** LiteLLM `_team_key_operation_team_member_check`: the caller must be a member with the permission. */
export function requireTeamKeyOperation(caller: AdminCaller, team: TeamRecord, route: string): void {
  if (isProxyAdmin(caller)) return;
  const member = memberOf(team, caller.userId);
  if (member === undefined) {
    throw errors.invalidRequest(`User=${caller.userId ?? 'None'} not assigned to team=${team.team_id}`, 'team_id');
  }
  checkTeamMemberPermission(team, member, route);
}

/** Proxy admins and the team's admins (LiteLLM's check in /team/member_* and team models). */
export function requireTeamAdmin(caller: AdminCaller, team: TeamRecord, route: string): void {
  if (isProxyAdmin(caller) || isTeamAdmin(team, caller.userId)) return;
  throw forbidden(`Call not allowed. User not proxy admin OR team admin. route=${route}, team_id=${team.team_id}`, 'team_id');
}
