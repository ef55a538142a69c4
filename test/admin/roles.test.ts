/**
 * LiteLLM's roles on the management API: internal users manage their own keys, team members what
 * the team's member permissions allow, team admins their team's members; statuses, error types and
 * wording as litellm/proxy/auth/route_checks.py and key_management_endpoints.py give them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../storage/backends.js';
import { adminHarness, pluck, type AdminHarness } from './harness.js';

const [first] = BACKENDS;
if (first === undefined) throw new Error('no storage backend');

for (const backend of [first]) {
  describe(`roles on ${backend.name}`, () => {
    let h: AdminHarness;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      const opened = await backend.open();
      cleanup = opened.cleanup;
      await opened.db.migrate();
      h = await adminHarness(opened.db);
    });
    afterEach(async () => {
      await h.close();
      await cleanup();
    });

    /** A user (role as given) and a key of theirs. */
    async function userWithKey(userId: string, extra: Record<string, unknown> = {}): Promise<string> {
      const res = await h.call('POST', '/user/new', { user_id: userId, ...extra });
      expect(res.status).toBe(200);
      return res.body.key as string;
    }

    it('an internal user generates, updates and deletes its own keys, and not another user\'s', async () => {
      const alice = await userWithKey('alice');
      const bob = await userWithKey('bob');
      const own = await h.call('POST', '/key/generate', { key_alias: 'mine' }, alice);
      expect([own.status, own.body.user_id, own.body.created_by]).toEqual([200, 'alice', 'alice']);
      const forBob = await h.call('POST', '/key/generate', { user_id: 'bob' }, alice);
      expect([forBob.status, forBob.body.error.message]).toEqual([403, 'User can only create keys for themselves. Got user_id=bob, Your ID=alice']);

      expect((await h.call('POST', '/key/update', { key: own.body.key, metadata: { a: 1 } }, alice)).status).toBe(200);
      const steal = await h.call('POST', '/key/update', { key: own.body.key, user_id: 'bob' }, alice);
      expect([steal.status, steal.body.error.message]).toEqual([403, `User=bob is not allowed to update key=${own.body.token as string} to belong to user=alice`]);
      expect((await h.call('POST', '/key/update', { key: own.body.key, metadata: {} }, bob)).status).toBe(403);
      expect((await h.call('POST', '/key/delete', { keys: [own.body.key] }, bob)).body.error.message).toBe('You are not authorized to delete this key');
      expect((await h.call('GET', `/key/info?key=${own.body.key as string}`, undefined, bob)).status).toBe(403);
      expect((await h.call('GET', `/key/info?key=${own.body.key as string}`, undefined, alice)).status).toBe(200);
      // An unknown key is a 404 for anyone, not a permission error.
      expect((await h.call('GET', '/key/info?key=sk-does-not-exist', undefined, alice)).status).toBe(404);
      const regen = await h.call('POST', '/key/regenerate', { key: own.body.key }, alice);
      expect(regen.status).toBe(200);
      expect((await h.call('POST', '/key/delete', { keys: [regen.body.key] }, alice)).body).toEqual({ deleted_keys: [regen.body.token] });
      // Internal users list only their own keys.
      expect((await h.call('GET', '/key/list?user_id=bob', undefined, alice)).status).toBe(403);
      expect((await h.call('GET', '/key/list', undefined, alice)).body.keys).toHaveLength(1);
    });

    it('routes outside a role are LiteLLM\'s admin-only 401; viewers read but may not write', async () => {
      const alice = await userWithKey('alice');
      const denied = await h.call('POST', '/team/new', {}, alice);
      expect([denied.status, denied.body.error.type]).toEqual([401, 'auth_error']);
      expect(denied.body.error.message).toBe('Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=/team/new. Your role=internal_user. Your user_id=*****');
      const watcher = await userWithKey('watcher-0001', { user_role: 'internal_user_viewer' });
      expect((await h.call('POST', '/key/generate', {}, watcher)).status).toBe(401);
      const viewer = await userWithKey('viewer', { user_role: 'proxy_admin_viewer' });
      expect((await h.call('GET', '/user/list', undefined, viewer)).status).toBe(200);
      const write = await h.call('POST', '/key/generate', {}, viewer);
      expect([write.status, write.body.error.message]).toEqual([403, 'user not allowed to access this route, role= proxy_admin_viewer. Trying to access: /key/generate']);
      expect((await h.call('GET', '/user/info?user_id=viewer', undefined, alice)).body.error.message).toBe("key not allowed to access this user's info. user_id=viewer, key's user_id=alice");
    });

    it('team members: the default permissions allow /key/info only; 401 team_member_permission_error otherwise', async () => {
      const team = (await h.call('POST', '/team/new', {})).body.team_id as string;
      const teamKey = (await h.call('POST', '/key/generate', { team_id: team })).body;
      const member = await userWithKey('member', { team_id: team });
      expect((await h.call('GET', `/team/info?team_id=${team}`)).body.team_info.members_with_roles).toContainEqual({ user_id: 'member', user_email: null, role: 'user' });
      const expected = `Team member does not have permissions for endpoint: /key/generate. You only have access to the following endpoints: ['/key/info', '/key/health'] for team ${team}. To create keys for this team, please ask your proxy admin to check the team member permission settings and update the settings to allow team member users to create keys.`;
      const generate = await h.call('POST', '/key/generate', { team_id: team }, member);
      expect([generate.status, generate.body.error.type, generate.body.error.message]).toEqual([401, 'team_member_permission_error', expected]);
      for (const [url, body] of [
        ['/key/update', { key: teamKey.key, team_id: 'ATTACKER_TEAM_ID' }],
        ['/key/delete', { keys: [teamKey.key] }],
        ['/key/regenerate', { key: teamKey.key }],
      ] as const) {
        const res = await h.call('POST', url, body, member);
        expect([url, res.status, res.body.error.type]).toEqual([url, 401, 'team_member_permission_error']);
      }
      expect((await h.call('GET', `/key/info?key=${teamKey.key as string}`, undefined, member)).status).toBe(200);
      // Someone outside the team gets LiteLLM's 400.
      const outsider = await userWithKey('outsider');
      const out = await h.call('POST', '/key/generate', { team_id: team }, outsider);
      expect([out.status, out.body.error.message]).toEqual([400, `User=outsider not assigned to team=${team}`]);
    });

    it('team_member_permissions grant what they list; team admins may do everything on the team', async () => {
      const team = (await h.call('POST', '/team/new', { team_member_permissions: ['/key/update', '/key/delete'] })).body.team_id as string;
      const member = await userWithKey('m', { team_id: team });
      const k1 = (await h.call('POST', '/key/generate', { team_id: team })).body;
      expect((await h.call('POST', '/key/update', { key: k1.key, metadata: { x: 1 }, team_id: team }, member)).status).toBe(200);
      expect((await h.call('POST', '/key/regenerate', { key: k1.key }, member)).status).toBe(401);
      expect((await h.call('POST', '/key/delete', { keys: [k1.key] }, member)).status).toBe(200);
      expect((await h.call('POST', '/key/generate', { team_id: team }, member)).status).toBe(401);

      const boss = await userWithKey('boss');
      expect((await h.call('POST', '/team/member_add', { team_id: team, member: { user_id: 'boss', role: 'admin' } })).status).toBe(200);
      const made = await h.call('POST', '/key/generate', { team_id: team }, boss);
      expect([made.status, made.body.team_id]).toEqual([200, team]);
      // Team admins add, change and remove members; plain members may not.
      expect((await h.call('POST', '/team/member_add', { team_id: team, member: { user_id: 'newbie', role: 'user' } }, boss)).status).toBe(200);
      const refused = await h.call('POST', '/team/member_add', { team_id: team, member: { user_id: 'other', role: 'user' } }, member);
      expect([refused.status, refused.body.error.message]).toEqual([403, `Call not allowed. User not proxy admin OR team admin. route=/team/member_add, team_id=${team}`]);
      const promoted = await h.call('POST', '/team/member_update', { team_id: team, user_id: 'newbie', role: 'admin' }, boss);
      expect(promoted.body).toEqual({ team_id: team, user_id: 'newbie', user_email: null, max_budget_in_team: null });
      const roles = (await h.call('GET', `/team/info?team_id=${team}`)).body.team_info.members_with_roles as { user_id: string; role: string }[];
      expect(roles.find((r) => r.user_id === 'newbie')?.role).toBe('admin');
      expect((await h.call('POST', '/team/member_delete', { team_id: team, user_id: 'newbie' }, boss)).status).toBe(200);
      expect((await h.call('POST', '/team/member_update', { team_id: team, user_id: 'ghost', role: 'admin' })).status).toBe(400);
    });

    it('/team/member_update max_budget_in_team gives the member a budget row, shown in /user/info and /team/info team_memberships', async () => {
      const team = (await h.call('POST', '/team/new', {})).body.team_id as string;
      await userWithKey('spender', { team_id: team });
      const res = await h.call('POST', '/team/member_update', { team_id: team, user_id: 'spender', max_budget_in_team: 0.25 });
      expect(res.body).toEqual({ team_id: team, user_id: 'spender', user_email: null, max_budget_in_team: 0.25 });
      const info = (await h.call('GET', '/user/info?user_id=spender')).body;
      const membership = (info.teams as { team_id: string; team_memberships: { spend: number; litellm_budget_table: { max_budget: number } }[] }[])[0]?.team_memberships[0];
      expect([membership?.spend, membership?.litellm_budget_table.max_budget]).toEqual([0, 0.25]);
      await h.call('POST', '/team/member_update', { team_id: team, user_id: 'spender', max_budget_in_team: 1 });
      const teamInfo = (await h.call('GET', `/team/info?team_id=${team}`)).body;
      expect(pluck(teamInfo.team_memberships, 'user_id')).toEqual(['spender']);
      expect((teamInfo.team_memberships as { litellm_budget_table: { max_budget: number } }[])[0]?.litellm_budget_table.max_budget).toBe(1);
    });

    it('POST /user/update of an unknown user_id creates it (LiteLLM upserts); by email alone it is a 404', async () => {
      const res = await h.call('POST', '/user/update', { user_id: 'litellm-proxy-budget', spend: 0, max_budget: 5 });
      expect([res.status, res.body.user_id, res.body.data.max_budget]).toEqual([200, 'litellm-proxy-budget', 5]);
      expect((await h.call('GET', '/user/info?user_id=litellm-proxy-budget')).status).toBe(200);
      expect((await h.call('POST', '/user/update', { user_email: 'nobody@x.io', max_budget: 1 })).status).toBe(404);
    });

    it('parallel /team/new naming a member that does not exist yet: all succeed, the user exists once with every team', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => h.call('POST', '/team/new', { team_alias: 'par', members_with_roles: [{ role: 'user', user_id: 'brand-new' }] })));
      expect(results.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
      const user = (await h.call('GET', '/user/info?user_id=brand-new')).body;
      expect((user.user_info.teams as string[]).sort()).toEqual(pluck(results.map((r): unknown => r.body), 'team_id').sort());
      expect((await h.call('GET', '/user/list?user_ids=brand-new')).body.total).toBe(1);
    });
  });
}
