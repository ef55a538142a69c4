/**
 * Internal users and teams. Membership is kept on both sides, as LiteLLM does: a team's
 * `members_with_roles` and each user's `teams`. Deleting a user deletes their keys and their
 * memberships; deleting a team deletes its keys and removes it from its members.
 *
 * Membership changes are read-modify-write on two records; they run under per-record locks
 * (`KeyedLock`) so concurrent calls — parallel `/team/new` naming the same new user — create that
 * user once and lose no team from its `teams`.
 */
import { randomUUID } from 'node:crypto';
import type { RecordPage, TeamMember, TeamRecord, UserFilter, UserRecord } from '../../storage/tenancy-ports.js';
import type { Tenancy } from '../tenancy.js';
import { applyChanges, badRequest, conflict, KeyedLock, NO_BUDGET, notFound, type Changes } from './common.js';
import type { KeyAdmin } from './keys.js';

export type UserChanges = Changes<Omit<UserRecord, 'user_id' | 'created_at' | 'updated_at'>> & { spend_nano?: number | undefined };
export type TeamChanges = Changes<Omit<TeamRecord, 'team_id' | 'created_at' | 'updated_at'>> & { spend_nano?: number | undefined };

export interface MemberRef {
  user_id?: string | undefined;
  user_email?: string | undefined;
  role?: 'admin' | 'user' | undefined;
}

export class PeopleAdmin {
  private readonly userLock = new KeyedLock();
  private readonly teamLock = new KeyedLock();

  constructor(
    private readonly tenancy: Tenancy,
    private readonly keys: KeyAdmin,
  ) {}

  // ---- users ----

  async createUser(userId: string | undefined, changes: UserChanges): Promise<UserRecord> {
    const now = this.tenancy.now();
    const id = userId ?? randomUUID();
    if (changes.user_email !== undefined && changes.user_email !== null) {
      const [taken] = await this.tenancy.stores.users.find({ email: changes.user_email });
      if (taken !== undefined && taken.user_email?.toLowerCase() === changes.user_email.toLowerCase()) {
        throw conflict(`User with email ${changes.user_email} already exists`, 'user_email');
      }
    }
    const { spend_nano: spend, teams, ...fields } = changes;
    const base: UserRecord = { ...NO_BUDGET, model_max_budget: {}, user_id: id, user_alias: null, user_email: null, user_role: null, teams: [], models: [], metadata: {}, extra: {}, created_at: now, updated_at: now };
    const record = applyChanges(base, fields, now);
    if (!(await this.tenancy.stores.users.insert(record))) throw conflict(`User with id ${id} already exists`, 'user_id');
    this.tenancy.putUser(record);
    for (const teamId of teams ?? []) await this.addMembers(teamId, [{ user_id: id, role: 'user' }]);
    if (spend !== undefined && spend !== 0) await this.tenancy.setSpend('user', id, record.budget_duration, spend);
    return (await this.tenancy.stores.users.get(id)) ?? record;
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    return this.tenancy.stores.users.get(userId);
  }

  async findUser(target: { user_id?: string | undefined; user_email?: string | undefined }): Promise<UserRecord> {
    if (target.user_id !== undefined) {
      const user = await this.getUser(target.user_id);
      if (user === undefined) throw notFound(`User not found, passed user_id=${target.user_id}`, 'user_id');
      return user;
    }
    if (target.user_email !== undefined) {
      const email = target.user_email.toLowerCase();
      const user = (await this.tenancy.stores.users.find({ email })).find((u) => u.user_email?.toLowerCase() === email);
      if (user === undefined) throw notFound(`User not found, passed user_email=${target.user_email}`, 'user_email');
      return user;
    }
    throw badRequest('Either user id or user email must be provided', 'user_id');
  }

  /**
   * Updates a user. As in LiteLLM (PrismaClient.update_data on the user table is an upsert), a
   * `user_id` that does not exist yet is created with the given fields; by `user_email` alone an
   * unknown user is a 404.
   */
  async updateUser(target: { user_id?: string | undefined; user_email?: string | undefined }, changes: UserChanges): Promise<UserRecord> {
    if (target.user_id !== undefined && (await this.getUser(target.user_id)) === undefined) {
      const { teams: _teams, ...fields } = changes;
      const created = await this.userLock.run(`id:${target.user_id}`, async () => (await this.getUser(target.user_id ?? '')) ?? this.createUser(target.user_id, fields));
      return created;
    }
    const existing = await this.findUser(target);
    const { spend_nano: spend, ...fields } = changes;
    const record = applyChanges(existing, fields, this.tenancy.now());
    await this.tenancy.stores.users.update(record);
    this.tenancy.putUser(record);
    if (spend !== undefined) await this.tenancy.setSpend('user', record.user_id, record.budget_duration, spend);
    return record;
  }

  /** Deletes the users with their keys and team memberships; returns how many users were deleted. */
  async deleteUsers(userIds: readonly string[]): Promise<number> {
    const users: UserRecord[] = [];
    for (const id of userIds) {
      const user = await this.getUser(id);
      if (user === undefined) throw notFound(`User not found, passed user_id=${id}`, 'user_ids');
      users.push(user);
    }
    for (const user of users) {
      for (const teamId of user.teams) {
        const team = await this.tenancy.stores.teams.get(teamId);
        if (team !== undefined) {
          await this.teamLock.run(teamId, async () => {
            const current = (await this.tenancy.stores.teams.get(teamId)) ?? team;
            await this.saveTeam({ ...current, members_with_roles: current.members_with_roles.filter((m) => !isMember(m, user)) });
          });
        }
      }
    }
    await this.keys.deleteWhere({ userIds: [...userIds] });
    const deleted = await this.tenancy.stores.users.delete(userIds, this.tenancy.now());
    this.tenancy.drop('user', deleted);
    return deleted.length;
  }

  async listUsers(filter: UserFilter, page: RecordPage): Promise<{ users: UserRecord[]; total: number }> {
    const [users, total] = await Promise.all([this.tenancy.stores.users.find(filter, page), this.tenancy.stores.users.count(filter)]);
    return { users, total };
  }

  // ---- teams ----

  /**
   * A new team. As LiteLLM's new_team does, the creating user (`default_user_id` for the master key)
   * joins as an admin unless the members already name it.
   */
  async createTeam(teamId: string | undefined, changes: TeamChanges, creator?: string): Promise<TeamRecord> {
    const now = this.tenancy.now();
    const id = teamId ?? randomUUID();
    const { spend_nano: spend, members_with_roles: given, ...fields } = changes;
    const members = [...(given ?? [])];
    if (creator !== undefined && !members.some((m) => m.user_id === creator)) members.push({ user_id: creator, user_email: null, role: 'admin' });
    const base: TeamRecord = { ...NO_BUDGET, model_max_budget: {}, team_id: id, team_alias: null, models: [], members_with_roles: [], metadata: {}, tags: [], blocked: false, extra: {}, created_at: now, updated_at: now };
    const record = applyChanges(base, fields, now);
    if (!(await this.tenancy.stores.teams.insert(record))) throw badRequest(`Team id = ${id} already exists. Please use a different team id.`, 'team_id');
    this.tenancy.putTeam(record);
    if (members.length > 0) await this.addMembers(id, members.map((m) => ({ user_id: m.user_id ?? undefined, user_email: m.user_email ?? undefined, role: m.role })));
    if (spend !== undefined && spend !== 0) await this.tenancy.setSpend('team', id, record.budget_duration, spend);
    return (await this.tenancy.stores.teams.get(id)) ?? record;
  }

  async getTeam(teamId: string): Promise<TeamRecord> {
    const team = await this.tenancy.stores.teams.get(teamId);
    if (team === undefined) throw notFound(`Team not found, passed team_id=${teamId}`, 'team_id');
    return team;
  }

  async updateTeam(teamId: string, changes: TeamChanges): Promise<TeamRecord> {
    const { spend_nano: spend, ...fields } = changes;
    const record = await this.teamLock.run(teamId, async () => this.saveTeam(applyChanges(await this.getTeam(teamId), fields, this.tenancy.now())));
    if (spend !== undefined) await this.tenancy.setSpend('team', teamId, record.budget_duration, spend);
    return record;
  }

  /** Deletes the teams with their keys; members lose the membership. Returns the ids deleted. */
  async deleteTeams(teamIds: readonly string[]): Promise<string[]> {
    const teams = await Promise.all(teamIds.map((id) => this.getTeam(id)));
    for (const team of teams) {
      for (const member of team.members_with_roles) if (member.user_id !== null) await this.leaveTeam(member.user_id, team.team_id);
    }
    await this.keys.deleteWhere({ teamIds: [...teamIds] });
    const deleted = await this.tenancy.stores.teams.delete(teamIds, this.tenancy.now());
    this.tenancy.drop('team', deleted);
    return deleted;
  }

  async listTeams(userId: string | undefined): Promise<TeamRecord[]> {
    const teams = await this.tenancy.stores.teams.find({});
    return userId === undefined ? teams : teams.filter((t) => t.members_with_roles.some((m) => m.user_id === userId));
  }

  /** Adds members (creating users that do not exist yet, as LiteLLM does); already-members are refused. */
  async addMembers(teamId: string, members: readonly MemberRef[]): Promise<{ team: TeamRecord; users: UserRecord[] }> {
    await this.getTeam(teamId);
    const joining: { user: UserRecord; role: 'admin' | 'user'; email: string | null }[] = [];
    for (const m of members) {
      if (m.user_id === undefined && m.user_email === undefined) throw badRequest('member: Either user id or user email must be provided', 'member');
      const user = await this.ensureUser(m.user_id, m.user_email);
      joining.push({ user, role: m.role ?? 'user', email: user.user_email ?? m.user_email ?? null });
    }
    const team = await this.teamLock.run(teamId, async () => {
      const current = await this.getTeam(teamId);
      const added: TeamMember[] = [];
      for (const j of joining) {
        if ([...current.members_with_roles, ...added].some((existing) => isMember(existing, j.user))) {
          throw badRequest(`User=${j.user.user_id} already in team=${teamId}. Existing members=${JSON.stringify(current.members_with_roles.map((x) => x.user_id))}`, 'member');
        }
        added.push({ user_id: j.user.user_id, user_email: j.email, role: j.role });
      }
      return this.saveTeam({ ...current, members_with_roles: [...current.members_with_roles, ...added] });
    });
    const users: UserRecord[] = [];
    for (const j of joining) users.push(await this.joinTeam(j.user.user_id, teamId));
    return { team, users };
  }

  async removeMember(teamId: string, ref: { user_id?: string | undefined; user_email?: string | undefined }): Promise<TeamRecord> {
    if (ref.user_id === undefined && ref.user_email === undefined) throw badRequest('Either user_id or user_email needs to be passed in', 'user_id');
    const matchesRef = (m: TeamMember): boolean => (ref.user_id !== undefined && m.user_id === ref.user_id) || (ref.user_email !== undefined && m.user_email === ref.user_email);
    let removed: TeamMember[] = [];
    const team = await this.teamLock.run(teamId, async () => {
      const current = await this.getTeam(teamId);
      removed = current.members_with_roles.filter(matchesRef);
      if (removed.length === 0) throw badRequest('User not found in team', 'user_id');
      return this.saveTeam({ ...current, members_with_roles: current.members_with_roles.filter((m) => !matchesRef(m)) });
    });
    for (const m of removed) if (m.user_id !== null) await this.leaveTeam(m.user_id, teamId);
    return team;
  }

  /** `/team/member_update`: a member's role (the member is named by user_id or by user_email). */
  async updateMember(teamId: string, ref: { user_id?: string | undefined; user_email?: string | undefined }, role: 'admin' | 'user' | undefined): Promise<{ team: TeamRecord; member: TeamMember }> {
    if (ref.user_id === undefined && ref.user_email === undefined) throw badRequest('Either user_id or user_email needs to be passed in', 'user_id');
    return this.teamLock.run(teamId, async () => {
      const current = await this.getTeam(teamId);
      const index = current.members_with_roles.findIndex((m) => (ref.user_id !== undefined ? m.user_id === ref.user_id : m.user_email === ref.user_email));
      const found = current.members_with_roles[index];
      if (found === undefined || found.user_id === null) {
        throw badRequest(`User id doesn't exist in team table. Data=team_id='${teamId}' user_id=${ref.user_id === undefined ? 'None' : `'${ref.user_id}'`} user_email=${ref.user_email === undefined ? 'None' : `'${ref.user_email}'`}`, 'user_id');
      }
      if (role === undefined) return { team: current, member: found };
      const member: TeamMember = { ...found, role, user_email: ref.user_email ?? found.user_email };
      const members = [...current.members_with_roles];
      members[index] = member;
      return { team: await this.saveTeam({ ...current, members_with_roles: members }), member };
    });
  }

  /** The user named by id (or else by email), created when it does not exist; safe when called concurrently. */
  private async ensureUser(userId: string | undefined, email: string | undefined): Promise<UserRecord> {
    const lockId = userId !== undefined ? `id:${userId}` : `email:${(email ?? '').toLowerCase()}`;
    return this.userLock.run(lockId, async () => {
      const existing = userId !== undefined ? await this.getUser(userId) : await this.findUser({ user_email: email }).catch(() => undefined);
      if (existing !== undefined) return existing;
      const now = this.tenancy.now();
      const record: UserRecord = { ...NO_BUDGET, model_max_budget: {}, user_id: userId ?? randomUUID(), user_alias: null, user_email: email ?? null, user_role: 'internal_user', teams: [], models: [], metadata: {}, extra: {}, created_at: now, updated_at: now };
      // Another instance may have created it meanwhile: then that row is the user.
      if (!(await this.tenancy.stores.users.insert(record))) return (await this.getUser(record.user_id)) ?? record;
      this.tenancy.putUser(record);
      return record;
    });
  }

  private async joinTeam(userId: string, teamId: string): Promise<UserRecord> {
    return this.userLock.run(`id:${userId}`, async () => {
      const user = await this.getUser(userId);
      if (user === undefined) throw notFound(`User not found, passed user_id=${userId}`, 'user_id');
      return user.teams.includes(teamId) ? user : this.saveUser({ ...user, teams: [...user.teams, teamId] });
    });
  }

  private async leaveTeam(userId: string, teamId: string): Promise<void> {
    await this.userLock.run(`id:${userId}`, async () => {
      const user = await this.getUser(userId);
      if (user !== undefined && user.teams.includes(teamId)) await this.saveUser({ ...user, teams: user.teams.filter((t) => t !== teamId) });
    });
  }

  private async saveTeam(team: TeamRecord): Promise<TeamRecord> {
    const record = { ...team, updated_at: this.tenancy.now() };
    await this.tenancy.stores.teams.update(record);
    this.tenancy.putTeam(record);
    return record;
  }

  private async saveUser(user: UserRecord): Promise<UserRecord> {
    const record = { ...user, updated_at: this.tenancy.now() };
    await this.tenancy.stores.users.update(record);
    this.tenancy.putUser(record);
    return record;
  }
}

function isMember(m: TeamMember, user: UserRecord): boolean {
  return (m.user_id !== null && m.user_id === user.user_id) || (m.user_id === null && m.user_email !== null && m.user_email === user.user_email);
}
