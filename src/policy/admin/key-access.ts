/**
 * Who may generate, change, delete and read which key (litellm/proxy/management_endpoints/
 * key_management_endpoints.py: `_is_allowed_to_make_key_request`, `key_generation_check`,
 * `can_delete_verification_token`, `_can_user_query_key_info`, `validate_key_team_change`, and
 * TeamMemberPermissionChecks). Proxy admins pass every check; these are for everyone else.
 *
 * Two deliberate differences from LiteLLM, both closing holes: a non-member cannot change or
 * regenerate a team key that has no user (LiteLLM lets it through), and nobody but its owner (or a
 * proxy admin) can regenerate a personal key. A team admin may change the team's keys of other
 * members (LiteLLM's user-id assertion refuses that although its docs say team admins manage keys).
 */
import type { KeyRecord, TeamRecord } from '../../storage/tenancy-ports.js';
import type { Tenancy } from '../tenancy.js';
import { badRequest, notFound } from './common.js';
import { canViewAll, checkTeamMemberPermission, forbidden, isProxyAdmin, isTeamAdmin, memberOf, requireTeamKeyOperation, type AdminCaller } from './roles.js';

export type KeyRoute = '/key/update' | '/key/regenerate' | '/key/block' | '/key/unblock' | '/key/delete';

export class KeyAccess {
  constructor(private readonly tenancy: Tenancy) {}

  private team(teamId: string): Promise<TeamRecord | undefined> {
    return this.tenancy.stores.teams.get(teamId);
  }

  /**
   * Checks a `/key/generate` by a non-admin and returns the user the key belongs to: a personal key
   * of an internal user is theirs even when `user_id` is not given.
   */
  async checkGenerate(caller: AdminCaller, userId: string | null | undefined, teamId: string | null | undefined): Promise<string | null | undefined> {
    if (isProxyAdmin(caller)) return userId;
    if (userId !== undefined && userId !== null && userId !== caller.userId) {
      throw forbidden(`User can only create keys for themselves. Got user_id=${userId}, Your ID=${caller.userId ?? 'None'}`, 'user_id');
    }
    if (teamId === undefined || teamId === null) return userId ?? caller.userId ?? null;
    const team = await this.team(teamId);
    // LiteLLM lets a key name a team that is not stored ("assigning team_id without using the team table").
    if (team === undefined) return userId;
    if (userId !== undefined && userId !== null && memberOf(team, userId) === undefined) {
      throw badRequest(`User=${userId} not assigned to team=${team.team_id}`, 'user_id');
    }
    requireTeamKeyOperation(caller, team, '/key/generate');
    return userId;
  }

  /** `/key/update`, `/key/regenerate`, `/key/block`, `/key/unblock` on an existing key. */
  async checkModify(caller: AdminCaller, key: KeyRecord, route: KeyRoute, changes: { user_id?: string | null | undefined; team_id?: string | null | undefined } = {}): Promise<void> {
    if (isProxyAdmin(caller)) return;
    if (changes.user_id !== undefined && changes.user_id !== key.user_id) {
      throw forbidden(`User=${changes.user_id ?? 'None'} is not allowed to update key=${key.token} to belong to user=${key.user_id ?? 'None'}`, 'user_id');
    }
    if (key.team_id !== null) {
      const team = await this.team(key.team_id);
      if (team !== undefined) {
        const member = memberOf(team, caller.userId);
        if (member === undefined) throw forbidden(`User=${caller.userId ?? 'None'} is not a member of the team=${team.team_id} this key belongs to.`, 'key');
        checkTeamMemberPermission(team, member, route);
      } else if (key.user_id !== caller.userId) {
        throw forbidden(`User can only create keys for themselves. Got user_id=${key.user_id ?? 'None'}, Your ID=${caller.userId ?? 'None'}`, 'key');
      }
    } else if (key.user_id === null || key.user_id !== caller.userId) {
      throw forbidden(`User can only create keys for themselves. Got user_id=${key.user_id ?? 'None'}, Your ID=${caller.userId ?? 'None'}`, 'key');
    }
    if (changes.team_id !== undefined && changes.team_id !== null && changes.team_id !== key.team_id) await this.checkTeamChange(caller, key, changes.team_id);
  }

  /** LiteLLM `validate_key_team_change`: the key's user must be in the new team, the caller allowed there. */
  private async checkTeamChange(caller: AdminCaller, key: KeyRecord, teamId: string): Promise<void> {
    const team = await this.team(teamId);
    if (team === undefined) throw notFound(`Team not found, passed team_id=${teamId}`, 'team_id');
    if (key.user_id !== null && memberOf(team, key.user_id) === undefined) {
      throw forbidden(`User=${key.user_id} is not a member of the team=${team.team_id}. Check team members via \`/team/info\`.`, 'team_id');
    }
    const member = memberOf(team, caller.userId);
    if (isTeamAdmin(team, caller.userId)) return;
    if (member !== undefined) {
      checkTeamMemberPermission(team, member, '/key/update');
      return;
    }
    throw forbidden(`User=${caller.userId ?? 'None'} is not a Proxy Admin or Team Admin for team=${team.team_id}. Please ask your Proxy Admin to allow this action under 'Member Permissions' for this team.`, 'team_id');
  }

  /** LiteLLM `can_delete_verification_token`. */
  async checkDelete(caller: AdminCaller, key: KeyRecord): Promise<void> {
    if (isProxyAdmin(caller)) return;
    if (key.team_id !== null) {
      const team = await this.team(key.team_id);
      if (team === undefined) throw notFound(`Team not found in db, and user not proxy admin. Team id = ${key.team_id}`, 'keys');
      requireTeamKeyOperation(caller, team, '/key/delete');
      return;
    }
    if (key.user_id !== null && key.user_id === caller.userId) return;
    throw forbidden('You are not authorized to delete this key', 'keys');
  }

  /** LiteLLM `_can_user_query_key_info`, plus team members with `/key/info` on the team's keys. */
  async canRead(caller: AdminCaller, key: KeyRecord): Promise<boolean> {
    if (canViewAll(caller)) return true;
    if (caller.principal.keyHash === key.token) return true;
    if (key.user_id !== null && key.user_id === caller.userId) return true;
    if (key.team_id === null) return false;
    const team = await this.team(key.team_id);
    const member = team === undefined ? undefined : memberOf(team, caller.userId);
    if (team === undefined || member === undefined) return false;
    try {
      checkTeamMemberPermission(team, member, '/key/info');
      return true;
    } catch {
      return false;
    }
  }

  async requireRead(caller: AdminCaller, key: KeyRecord): Promise<void> {
    if (!(await this.canRead(caller, key))) throw forbidden(`You are not allowed to access this key's info. Your role=${caller.role ?? 'None'}`, 'key');
  }
}
