/**
 * Every /user and /team endpoint, curl-shaped, on every backend.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../storage/backends.js';
import { bearer } from '../policy/harness.js';
import { adminHarness, pluck, type AdminHarness } from './harness.js';

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`/user/* and /team/* on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
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

    it('POST /user/new creates the user and, by default, a key for it', async () => {
      const res = await h.call('POST', '/user/new', { user_email: 'alice@example.com', max_budget: 10, budget_duration: 'monthly', user_role: 'internal_user', key_alias: 'alice-key' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        user_email: 'alice@example.com',
        user_role: 'internal_user',
        max_budget: 10,
        budget_duration: 'monthly',
        budget_reset_at: '2025-04-01T00:00:00.000Z',
        spend: 0,
        key_alias: 'alice-key',
      });
      expect(res.body.user_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.key).toMatch(/^sk-/);
      expect(h.auth.authenticate(bearer(res.body.key as string)).userId).toBe(res.body.user_id);
      const noKey = await h.call('POST', '/user/new', { user_id: 'bob', auto_create_key: false });
      expect([noKey.body.user_id, noKey.body.key]).toEqual(['bob', null]);
      expect((await h.call('POST', '/user/new', { user_id: 'bob' })).status).toBe(409);
      const dupEmail = await h.call('POST', '/user/new', { user_email: 'ALICE@example.com' });
      expect([dupEmail.status, dupEmail.body.error.message]).toEqual([409, 'User with email ALICE@example.com already exists']);
      expect((await h.call('POST', '/user/new', { user_role: 'god' })).status).toBe(400);
    });

    it('GET /user/info shows the user, its keys and teams; a user may read itself', async () => {
      await h.call('POST', '/team/new', { team_id: 't1', team_alias: 'One' });
      const made = (await h.call('POST', '/user/new', { user_id: 'carol', teams: ['t1'], max_budget: 5 })).body;
      const res = await h.call('GET', '/user/info?user_id=carol');
      expect(res.body.user_id).toBe('carol');
      expect(res.body.user_info).toMatchObject({ user_id: 'carol', teams: ['t1'], max_budget: 5, spend: 0 });
      expect(pluck(res.body.keys, 'token')).toEqual([made.token]);
      expect(pluck(res.body.teams, 'team_id')).toEqual(['t1']);
      expect((await h.call('GET', '/user/info', undefined, made.key as string)).body.user_id).toBe('carol');
      expect((await h.call('GET', '/user/info?user_id=someone-else', undefined, made.key as string)).status).toBe(403);
      expect((await h.call('GET', '/user/info?user_id=ghost')).status).toBe(404);
    });

    it('POST /user/update by user_id or user_email answers {user_id, data}', async () => {
      await h.call('POST', '/user/new', { user_id: 'dave', user_email: 'dave@example.com', auto_create_key: false });
      const res = await h.call('POST', '/user/update', { user_id: 'dave', max_budget: 7, user_alias: 'D' });
      expect(res.body).toMatchObject({ user_id: 'dave', data: { user_id: 'dave', max_budget: 7, user_alias: 'D' } });
      const byEmail = await h.call('POST', '/user/update', { user_email: 'dave@example.com', rpm_limit: 3, spend: 2 });
      expect(byEmail.body.data).toMatchObject({ rpm_limit: 3, max_budget: 7, spend: 2 });
      expect((await h.call('POST', '/user/update', { max_budget: 1 })).status).toBe(400);
    });

    it('GET /user/list pages, filters by role, ids and email, counts keys', async () => {
      for (const [id, role] of [['u1', 'internal_user'], ['u2', 'proxy_admin'], ['u3', 'internal_user']] as const) {
        h.clock.advance(1000);
        await h.call('POST', '/user/new', { user_id: id, user_role: role, user_email: `${id}@corp.io` });
      }
      const all = await h.call('GET', '/user/list?page_size=2');
      expect(all.body).toMatchObject({ total: 3, page: 1, page_size: 2, total_pages: 2 });
      expect(pluck(all.body.users, 'user_id')).toEqual(['u3', 'u2']);
      expect(all.body.users[0].key_count).toBe(1);
      expect((await h.call('GET', '/user/list?role=internal_user')).body.total).toBe(2);
      expect((await h.call('GET', '/user/list?user_ids=u1,u3')).body.total).toBe(2);
      expect(pluck((await h.call('GET', '/user/list?user_email=U2@')).body.users, 'user_id')).toEqual(['u2']);
    });

    it('POST /user/delete removes the users, their keys and their team memberships', async () => {
      await h.call('POST', '/team/new', { team_id: 't' });
      const u = (await h.call('POST', '/user/new', { user_id: 'eve', teams: ['t'] })).body;
      const res = await h.call('POST', '/user/delete', { user_ids: ['eve'] });
      expect([res.status, res.body]).toEqual([200, 1]);
      expect(() => h.auth.authenticate(bearer(u.key as string))).toThrow(/Invalid/);
      // The master key created the team, so it joined as its admin (LiteLLM new_team).
      expect((await h.call('GET', '/team/info?team_id=t')).body.team_info.members_with_roles).toEqual([{ user_id: 'default_user_id', user_email: null, role: 'admin' }]);
      expect((await h.call('POST', '/user/delete', { user_ids: ['eve'] })).status).toBe(404);
    });

    it('POST /team/new with members; GET /team/info with keys; POST /team/update answers {team_id, data}', async () => {
      await h.call('POST', '/user/new', { user_id: 'm1', auto_create_key: false });
      const res = await h.call('POST', '/team/new', {
        team_alias: 'ML',
        models: ['gpt-4o'],
        max_budget: 100,
        budget_duration: '30d',
        tpm_limit: 5000,
        rpm_limit: 50,
        members_with_roles: [{ user_id: 'm1', role: 'admin' }, { user_email: 'new@corp.io', role: 'user' }],
        metadata: { cost_center: 'x' },
      });
      expect(res.status).toBe(200);
      const teamId = res.body.team_id as string;
      expect(res.body).toMatchObject({ team_alias: 'ML', models: ['gpt-4o'], max_budget: 100, budget_reset_at: '2025-04-01T00:00:00.000Z', tpm_limit: 5000, spend: 0, blocked: false });
      // The given members, then the creator (the master key acts as `default_user_id`) as an admin.
      expect(pluck(res.body.members_with_roles, 'user_id').slice(0, 1)).toEqual(['m1']);
      expect((res.body.members_with_roles as { user_id: string; role: string }[]).map((m) => m.role)).toEqual(['admin', 'user', 'admin']);
      expect((res.body.members_with_roles as { user_id: string }[])[2]?.user_id).toBe('default_user_id');
      expect([res.body.admins, res.body.members]).toEqual([[], []]);
      expect((await h.call('GET', '/user/info?user_id=m1')).body.user_info.teams).toEqual([teamId]);
      const key = (await h.call('POST', '/key/generate', { team_id: teamId })).body;
      const info = await h.call('GET', `/team/info?team_id=${teamId}`);
      expect(info.body).toMatchObject({ team_id: teamId, team_info: { team_alias: 'ML' }, team_memberships: [] });
      expect(pluck(info.body.keys, 'token')).toEqual([key.token]);
      const upd = await h.call('POST', '/team/update', { team_id: teamId, max_budget: 200, team_alias: 'ML2' });
      expect(upd.body).toMatchObject({ team_id: teamId, data: { max_budget: 200, team_alias: 'ML2' } });
      expect((await h.call('POST', '/team/new', { team_id: teamId })).status).toBe(400);
      expect((await h.call('GET', '/team/info?team_id=nope')).status).toBe(404);
    });

    it('POST /team/member_add and /team/member_delete keep both sides of the membership', async () => {
      await h.call('POST', '/team/new', { team_id: 't' });
      const add = await h.call('POST', '/team/member_add', { team_id: 't', member: { user_id: 'fresh', role: 'user' } });
      expect(add.status).toBe(200);
      expect(add.body.members_with_roles).toEqual([{ user_id: 'default_user_id', user_email: null, role: 'admin' }, { user_id: 'fresh', user_email: null, role: 'user' }]);
      expect((add.body.updated_users as { user_id: string; teams: string[] }[]).map((u) => [u.user_id, u.teams])).toEqual([['fresh', ['t']]]);
      expect((await h.call('POST', '/team/member_add', { team_id: 't', member: [{ user_id: 'fresh', role: 'admin' }] })).status).toBe(400);
      const del = await h.call('POST', '/team/member_delete', { team_id: 't', user_id: 'fresh' });
      expect(del.body.members_with_roles).toEqual([{ user_id: 'default_user_id', user_email: null, role: 'admin' }]);
      expect((await h.call('GET', '/user/info?user_id=fresh')).body.user_info.teams).toEqual([]);
      expect((await h.call('POST', '/team/member_delete', { team_id: 't', user_id: 'fresh' })).status).toBe(400);
    });

    it('GET /team/list (all or a user\'s); /team/block and /team/unblock; POST /team/delete removes the team keys', async () => {
      await h.call('POST', '/team/new', { team_id: 'a', members_with_roles: [{ user_id: 'x', role: 'user' }] });
      await h.call('POST', '/team/new', { team_id: 'b' });
      const list = await h.call('GET', '/team/list');
      expect(pluck(list.body, 'team_id').sort()).toEqual(['a', 'b']);
      expect(pluck((await h.call('GET', '/team/list?user_id=x')).body, 'team_id')).toEqual(['a']);
      const key = (await h.call('POST', '/key/generate', { team_id: 'a' })).body;
      expect((await h.call('POST', '/team/block', { team_id: 'a' })).body.blocked).toBe(true);
      expect(() => h.auth.authenticate(bearer(key.key as string))).toThrow(/Team=a is blocked/);
      await h.call('POST', '/team/unblock', { team_id: 'a' });
      const del = await h.call('POST', '/team/delete', { team_ids: ['a'] });
      expect(del.body).toEqual({ deleted_teams: ['a'] });
      expect(() => h.auth.authenticate(bearer(key.key as string))).toThrow(/Invalid/);
      expect((await h.call('GET', '/user/info?user_id=x')).body.user_info.teams).toEqual([]);
      expect((await h.call('POST', '/team/delete', { team_ids: ['a'] })).status).toBe(404);
    });
  });
}
