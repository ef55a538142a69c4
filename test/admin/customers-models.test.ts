/**
 * Every /customer (and /end_user) and /model endpoint, curl-shaped, on every backend.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from '../storage/backends.js';
import { adminHarness, pluck, type AdminHarness } from './harness.js';

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`/customer/* and /model/* on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let h: AdminHarness;
    let db: Database;
    let cleanup: () => Promise<void>;

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

    it('POST /customer/new, GET /customer/info, POST /customer/update', async () => {
      const res = await h.call('POST', '/customer/new', { user_id: 'acme-42', alias: 'Acme', max_budget: 20, budget_duration: '1d', allowed_model_region: 'eu', rpm_limit: 5 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        user_id: 'acme-42',
        alias: 'Acme',
        spend: 0,
        allowed_model_region: 'eu',
        blocked: false,
        // Budget fields make a LiteLLM_BudgetTable row of the customer's own; its first reset is a day after creation.
        litellm_budget_table: { max_budget: 20, budget_duration: '1d', rpm_limit: 5, budget_reset_at: '2025-03-11T12:00:00.000Z' },
      });
      expect((await h.call('POST', '/customer/new', { user_id: 'acme-42' })).status).toBe(400);
      expect((await h.call('POST', '/customer/new', { user_id: 'x', allowed_model_region: 'mars' })).status).toBe(400);
      expect((await h.call('GET', '/customer/info?end_user_id=acme-42')).body.alias).toBe('Acme');
      const missing = await h.call('GET', '/customer/info?end_user_id=nope');
      expect([missing.status, missing.body.error.message]).toEqual([404, 'End User Id=nope does not exist in db']);
      const upd = await h.call('POST', '/customer/update', { user_id: 'acme-42', max_budget: 30, alias: 'ACME' });
      expect(upd.body).toMatchObject({ alias: 'ACME', litellm_budget_table: { max_budget: 30 } });
    });

    it('GET /customer/list; POST /customer/block and /unblock; POST /customer/delete; /end_user/* aliases', async () => {
      await h.call('POST', '/customer/new', { user_id: 'c1' });
      await h.call('POST', '/end_user/new', { user_id: 'c2' });
      expect(pluck((await h.call('GET', '/customer/list')).body, 'user_id').sort()).toEqual(['c1', 'c2']);
      expect(pluck((await h.call('POST', '/customer/block', { user_ids: ['c1', 'c3'] })).body.blocked_users, 'user_id')).toEqual(['c1', 'c3']);
      expect((await h.call('GET', '/end_user/info?end_user_id=c3')).body.blocked).toBe(true);
      expect(pluck((await h.call('POST', '/customer/unblock', { user_ids: ['c1'] })).body.unblocked_users, 'user_id')).toEqual(['c1']);
      const del = await h.call('POST', '/customer/delete', { user_ids: ['c1', 'c2'] });
      expect(del.body).toEqual({ deleted_customers: 2, message: "Successfully deleted customers with ids: ['c1', 'c2']" });
      expect((await h.call('POST', '/customer/delete', { user_ids: ['c1'] })).status).toBe(404);
    });

    it('POST /model/new stores a deployment; GET /model/info lists config and stored ones without credentials; POST /model/delete', async () => {
      const res = await h.call('POST', '/model/new', { model_name: 'my-llama', litellm_params: { model: 'openai/llama-3', api_base: 'http://vllm:8000/v1', api_key: 'sk-upstream-hidden' }, model_info: { id: 'llama-1', access_groups: ['beta'] } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ model_id: 'llama-1', model_name: 'my-llama', litellm_params: { model: 'openai/llama-3', api_base: 'http://vllm:8000/v1' }, model_info: { id: 'llama-1', db_model: true, access_groups: ['beta'] } });
      expect(res.body.litellm_params.api_key).toBeUndefined();
      const info = await h.call('GET', '/model/info');
      expect((info.body.data as { model_name: string; model_info: { db_model: boolean } }[]).map((m) => [m.model_name, m.model_info.db_model])).toEqual([['gpt-4o', false], ['my-llama', true]]);
      expect(info.text).not.toContain('sk-upstream');
      expect((await h.call('GET', '/v1/model/info?litellm_model_id=llama-1')).body.data).toHaveLength(1);
      expect((await h.call('POST', '/model/new', { model_name: 'x', litellm_params: {} })).status).toBe(400);
      expect((await h.call('POST', '/model/delete', { id: 'llama-1' })).body).toEqual({ message: 'Model: llama-1 deleted successfully' });
      expect((await h.call('POST', '/model/delete', { id: 'llama-1' })).status).toBe(404);
    });

    it('without store_model_in_db, /model/new and /model/delete say how to turn it on', async () => {
      const off = await adminHarness(db, { storeModelInDb: false });
      const res = await off.call('POST', '/model/new', { model_name: 'x', litellm_params: { model: 'openai/x' } });
      expect([res.status, res.body.error.message]).toEqual([400, expect.stringContaining('store_model_in_db: true')]);
      await off.close();
    });
  });
}
