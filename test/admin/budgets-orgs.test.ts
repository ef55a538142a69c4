/**
 * `/budget/*`, `/customer/*` with budget tiers, and `/organization/*`, curl-shaped, on every backend:
 * LiteLLM's request and response shapes (budget_management_endpoints.py, customer_endpoints.py,
 * organization_endpoints.py), and the rows they leave in LiteLLM's tables.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from '../storage/backends.js';
import { MASTER, T0 } from '../policy/harness.js';
import { adminHarness, pluck, type AdminHarness } from './harness.js';

const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`budgets, customers and organizations on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let h: AdminHarness;
    let db: Database;
    let cleanup: () => Promise<void>;
    /** PATCH and DELETE with a JSON body, as LiteLLM's organization routes take them. */
    const send = async (method: 'PATCH' | 'DELETE', url: string, body: unknown) => {
      const res = await h.app.inject({ method, url, headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      return { status: res.statusCode, body: res.json<Record<string, unknown> & { error?: { message: string } }>() };
    };

    beforeEach(async () => {
      const opened = await backend.open();
      ({ db, cleanup } = opened);
      await db.migrate();
      h = await adminHarness(db);
    });
    afterEach(async () => {
      await h.close();
      await cleanup();
    });

    it('/budget/new answers the LiteLLM_BudgetTable row; its first reset is one duration after creation', async () => {
      const res = await h.call('POST', '/budget/new', { budget_id: 'free-tier', budget_duration: '1d', max_budget: 0.02, rpm_limit: 2, tpm_limit: 1000 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        budget_id: 'free-tier',
        max_budget: 0.02,
        soft_budget: null,
        max_parallel_requests: null,
        tpm_limit: 1000,
        rpm_limit: 2,
        model_max_budget: null,
        budget_duration: '1d',
        budget_reset_at: iso(T0 + DAY),
        allowed_models: [],
        created_at: iso(T0),
        created_by: 'default_user_id',
        updated_at: iso(T0),
        updated_by: 'default_user_id',
      });
      const dup = await h.call('POST', '/budget/new', { budget_id: 'free-tier' });
      expect([dup.status, dup.body.error.message]).toEqual([400, "Budget with id 'free-tier' already exists."]);
      const bad = await h.call('POST', '/budget/new', { max_budget: -1 });
      expect([bad.status, bad.body.error.param]).toEqual([400, 'max_budget']);
      const generated = await h.call('POST', '/budget/new', { max_budget: 5, model_max_budget: { 'gpt-4o': { max_budget: 1, budget_duration: '1h' } } });
      expect(generated.body.budget_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(generated.body.model_max_budget).toEqual({ 'gpt-4o': { max_budget: 1, budget_duration: '1h' } });
      expect(generated.body.budget_reset_at).toBeNull();

      // The row is in LiteLLM's own table, in LiteLLM's units (USD), for tools that read it directly.
      const rows = await db.tenancy.budgetTable.find({ budgetIds: ['free-tier'] });
      expect(rows.map((r) => [r.budget_id, r.max_budget_nano, r.rpm_limit])).toEqual([['free-tier', 20_000_000, 2]]);
    });

    it('/budget/update, /budget/info, /budget/list, /budget/settings, /budget/delete', async () => {
      await h.call('POST', '/budget/new', { budget_id: 'b1', max_budget: 1 });
      await h.call('POST', '/budget/new', { budget_id: 'b2', soft_budget: 2 });
      const upd = await h.call('POST', '/budget/update', { budget_id: 'b1', rpm_limit: 7 });
      expect(upd.body).toMatchObject({ budget_id: 'b1', max_budget: 1, rpm_limit: 7 });
      expect((await h.call('POST', '/budget/update', { rpm_limit: 7 })).body.error.message).toBe('budget_id is required');
      expect((await h.call('POST', '/budget/update', { budget_id: 'nope', rpm_limit: 1 })).status).toBe(404);

      expect(pluck((await h.call('POST', '/budget/info', { budgets: ['b2'] })).body, 'soft_budget')).toEqual([2]);
      const empty = await h.call('POST', '/budget/info', { budgets: [] });
      expect([empty.status, empty.body.error.message]).toEqual([400, "Specify list of budget id's to query. Passed in=[]"]);
      expect((pluck((await h.call('GET', '/budget/list')).body, 'budget_id') as string[]).sort()).toEqual(['b1', 'b2']);

      const settings = (await h.call('GET', '/budget/settings?budget_id=b1')).body as { field_name: string; field_value: unknown; field_type: string }[];
      expect(settings.map((f) => f.field_name)).toEqual(['max_budget', 'soft_budget', 'max_parallel_requests', 'tpm_limit', 'rpm_limit', 'budget_duration', 'model_max_budget']);
      expect(settings.find((f) => f.field_name === 'rpm_limit')).toMatchObject({ field_value: 7, field_type: 'Integer' });

      expect((await h.call('POST', '/budget/delete', { id: 'b1' })).body.budget_id).toBe('b1');
      expect((await h.call('POST', '/budget/delete', { id: 'b1' })).status).toBe(404);
      expect(pluck((await h.call('GET', '/budget/list')).body, 'budget_id')).toEqual(['b2']);
    });

    it('a key that is not an admin may not manage budgets (LiteLLM: 401, the route is not in its role)', async () => {
      const key = (await h.call('POST', '/key/generate', {})).body.key as string;
      expect((await h.call('POST', '/budget/new', { max_budget: 1 }, key)).status).toBe(401);
      expect((await h.call('GET', '/budget/list', undefined, key)).status).toBe(401);
      expect((await h.call('GET', '/budget/list')).status).toBe(200);
    });

    it('/customer/new with budget_id links the tier and embeds it; budget fields make a row of its own', async () => {
      await h.call('POST', '/budget/new', { budget_id: 'free-tier', rpm_limit: 2, max_budget: 3 });
      const linked = await h.call('POST', '/customer/new', { user_id: 'acme', budget_id: 'free-tier', allowed_model_region: 'eu' });
      expect(linked.status).toBe(200);
      expect(linked.body).toMatchObject({ user_id: 'acme', alias: null, spend: 0, allowed_model_region: 'eu', default_model: null, budget_id: 'free-tier', blocked: false, litellm_budget_table: { budget_id: 'free-tier', rpm_limit: 2, max_budget: 3 } });

      const own = await h.call('POST', '/customer/new', { user_id: 'solo', max_budget: 20, budget_duration: '1d' });
      const ownBudget = own.body.budget_id as string;
      expect(ownBudget).toMatch(/^[0-9a-f-]{36}$/);
      expect(own.body.litellm_budget_table).toMatchObject({ budget_id: ownBudget, max_budget: 20, budget_duration: '1d', budget_reset_at: iso(T0 + DAY) });

      const both = await h.call('POST', '/customer/new', { user_id: 'x', budget_id: 'free-tier', max_budget: 1 });
      expect([both.status, both.body.error.message]).toEqual([400, "Set either 'max_budget' or 'budget_id', not both."]);
      const unknown = await h.call('POST', '/customer/new', { user_id: 'y', budget_id: 'no-such-tier' });
      expect([unknown.status, unknown.body.error.param]).toEqual([400, 'budget_id']);
      const dup = await h.call('POST', '/customer/new', { user_id: 'acme' });
      expect([dup.status, dup.body.error.message]).toEqual([400, 'Customer already exists, passed user_id=acme. Please pass a new user_id.']);

      // /customer/info leaves out what is null (LiteLLM's exclude_none).
      const info = await h.call('GET', '/customer/info?end_user_id=acme');
      expect(info.body).toEqual({ user_id: 'acme', spend: 0, allowed_model_region: 'eu', budget_id: 'free-tier', blocked: false, litellm_budget_table: expect.objectContaining({ budget_id: 'free-tier', rpm_limit: 2 }) as unknown });
      expect('alias' in info.body).toBe(false);

      // Relinking, and budget fields on an end user with a tier change that tier's row.
      await h.call('POST', '/budget/new', { budget_id: 'paid-tier', rpm_limit: 100 });
      expect((await h.call('POST', '/customer/update', { user_id: 'acme', budget_id: 'paid-tier' })).body.litellm_budget_table.rpm_limit).toBe(100);
      await h.call('POST', '/customer/update', { user_id: 'solo', max_budget: 30 });
      expect((await h.call('POST', '/budget/info', { budgets: [ownBudget] })).body[0].max_budget).toBe(30);
      expect((await h.call('POST', '/customer/update', { user_id: 'ghost', alias: 'x' })).status).toBe(404);

      // The customer row in LiteLLM_EndUserTable points at the tier.
      expect((await db.tenancy.customers.get('acme'))?.budget_id).toBe('paid-tier');
    });

    it('/customer/list, /customer/block (upserts), /customer/unblock, /customer/delete; /end_user/* are the same routes', async () => {
      await h.call('POST', '/customer/new', { user_id: 'c1' });
      await h.call('POST', '/end_user/new', { user_id: 'c2' });
      expect((pluck((await h.call('GET', '/customer/list')).body, 'user_id') as string[]).sort()).toEqual(['c1', 'c2']);
      const blocked = await h.call('POST', '/customer/block', { user_ids: ['c1', 'c3'] });
      expect(pluck(blocked.body.blocked_users, 'user_id')).toEqual(['c1', 'c3']);
      expect(pluck(blocked.body.blocked_users, 'blocked')).toEqual([true, true]);
      expect((await h.call('GET', '/end_user/info?end_user_id=c3')).body.blocked).toBe(true);
      expect(pluck((await h.call('POST', '/customer/unblock', { user_ids: ['c1'] })).body.unblocked_users, 'blocked')).toEqual([false]);
      const del = await h.call('POST', '/customer/delete', { user_ids: ['c1', 'c2'] });
      expect(del.body).toEqual({ deleted_customers: 2, message: "Successfully deleted customers with ids: ['c1', 'c2']" });
      const again = await h.call('POST', '/customer/delete', { user_ids: ['c1'] });
      expect([again.status, again.body.error.message]).toEqual([404, 'End User Id(s)=c1 do not exist in db']);
    });

    it('/organization/new makes a budget row from the budget fields; list, info, update and delete', async () => {
      const created = await h.call('POST', '/organization/new', { organization_alias: 'Acme Corp', models: ['gpt-4o'], max_budget: 50, rpm_limit: 10 });
      expect(created.status).toBe(200);
      const org = created.body as { organization_id: string; budget_id: string };
      expect(created.body).toMatchObject({ organization_alias: 'Acme Corp', models: ['gpt-4o'], spend: 0, metadata: {}, created_by: 'default_user_id' });
      const row = await db.tenancy.budgetTable.get(org.budget_id);
      expect([row?.max_budget_nano, row?.rpm_limit]).toEqual([50_000_000_000, 10]);
      expect((await h.call('POST', '/organization/new', { models: [] })).body.error.param).toBe('organization_alias');

      const list = (await h.call('GET', '/organization/list')).body as Record<string, unknown>[];
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ organization_id: org.organization_id, litellm_budget_table: { budget_id: org.budget_id, max_budget: 50 }, members: [], teams: [] });

      const info = await h.call('GET', `/organization/info?organization_id=${org.organization_id}`);
      expect(info.body).toMatchObject({ organization_alias: 'Acme Corp', litellm_budget_table: { rpm_limit: 10 } });
      expect((await h.call('GET', '/organization/info?organization_id=nope')).status).toBe(404);
      expect(pluck((await h.call('POST', '/organization/info', { organizations: [org.organization_id] })).body, 'organization_alias')).toEqual(['Acme Corp']);

      const upd = await send('PATCH', '/organization/update', { organization_id: org.organization_id, organization_alias: 'Acme Inc', max_budget: 75 });
      expect(upd.body).toMatchObject({ organization_alias: 'Acme Inc', litellm_budget_table: { max_budget: 75 } });

      // A team and a key of the organization go with it (LiteLLM deletes them too).
      await h.call('POST', '/team/new', { team_id: 'org-team', organization_id: org.organization_id });
      expect(pluck((await h.call('GET', `/organization/info?organization_id=${org.organization_id}`)).body.teams, 'team_id')).toEqual(['org-team']);
      const del = await send('DELETE', '/organization/delete', { organization_ids: [org.organization_id] });
      expect(del.status).toBe(200);
      expect(pluck(del.body, 'organization_alias')).toEqual(['Acme Inc']);
      expect((await h.call('GET', '/organization/list')).body).toEqual([]);
      expect((await h.call('GET', '/team/info?team_id=org-team')).status).toBe(404);
      expect((await send('DELETE', '/organization/delete', { organization_ids: [org.organization_id] })).status).toBe(404);
    });

    it('/organization/member_add creates missing users; member_update changes role and budget; member_delete', async () => {
      const org = (await h.call('POST', '/organization/new', { organization_alias: 'Org', models: [] })).body as { organization_id: string };
      const user = (await h.call('POST', '/user/new', { user_email: 'ann@example.com' })).body as { user_id: string };
      const added = await h.call('POST', '/organization/member_add', { organization_id: org.organization_id, member: [{ user_id: user.user_id, role: 'internal_user' }, { user_email: 'new@example.com', role: 'internal_user_viewer' }] });
      expect(added.status).toBe(200);
      expect(added.body.organization_id).toBe(org.organization_id);
      expect(pluck(added.body.updated_users, 'user_email')).toEqual(['ann@example.com', 'new@example.com']);
      expect(pluck(added.body.updated_organization_memberships, 'user_role')).toEqual(['internal_user', 'internal_user_viewer']);
      const newUserId = (added.body.updated_users as { user_id: string }[])[1]!.user_id;
      expect((await h.call('GET', `/user/info?user_id=${newUserId}`)).status).toBe(200);

      const again = await h.call('POST', '/organization/member_add', { organization_id: org.organization_id, member: { user_id: user.user_id, role: 'internal_user' } });
      expect(again.status).toBe(400);
      const badRole = await h.call('POST', '/organization/member_add', { organization_id: org.organization_id, member: { user_id: 'z', role: 'admin' } });
      expect([badRole.status, badRole.body.error.param]).toEqual([400, 'member.role']);
      expect((await h.call('POST', '/organization/member_add', { organization_id: 'nope', member: { user_id: 'z', role: 'internal_user' } })).status).toBe(404);

      const members = (await h.call('GET', '/organization/list')).body[0].members as { user_id: string }[];
      expect(members.map((m) => m.user_id).sort()).toEqual([user.user_id, newUserId].sort());

      const upd = await send('PATCH', '/organization/member_update', { organization_id: org.organization_id, user_id: user.user_id, role: 'org_admin', max_budget_in_organization: 5 });
      expect(upd.status).toBe(200);
      expect(upd.body).toMatchObject({ user_id: user.user_id, organization_id: org.organization_id, user_role: 'org_admin', litellm_budget_table: { max_budget: 5 } });
      expect((await send('PATCH', '/organization/member_update', { organization_id: org.organization_id, user_id: 'stranger', role: 'org_admin' })).status).toBe(404);
      expect((await send('PATCH', '/organization/member_update', { organization_id: 'nope', user_id: user.user_id })).status).toBe(400);

      const removed = await send('DELETE', '/organization/member_delete', { organization_id: org.organization_id, user_email: 'ann@example.com' });
      expect([removed.status, removed.body.user_id]).toEqual([200, user.user_id]);
      expect(pluck((await h.call('GET', '/organization/list')).body[0].members, 'user_id')).toEqual([newUserId]);
    });
  });
}
