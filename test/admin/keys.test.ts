/**
 * Every /key endpoint, curl-shaped, on every backend (SQLite file, SQLite :memory:, Postgres).
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../storage/backends.js';
import { bearer, MASTER } from '../policy/harness.js';
import { adminHarness, pluck, type AdminHarness } from './harness.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`/key/* on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
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

    it('POST /key/generate returns the plaintext once, with LiteLLM fields in USD and ISO times', async () => {
      const res = await h.call('POST', '/key/generate', {
        key_alias: 'ci-bot',
        duration: '30d',
        models: ['gpt-4o'],
        user_id: 'alice',
        max_budget: 12.5,
        budget_duration: '1mo',
        soft_budget: 10,
        model_max_budget: { 'gpt-4o': { budget_limit: 2, time_period: '1d' } },
        tpm_limit: 1000,
        rpm_limit: 10,
        max_parallel_requests: 2,
        metadata: { app: 'x' },
        tags: ['prod'],
        aliases: { small: 'gpt-4o-mini' },
      });
      expect(res.status).toBe(200);
      const b = res.body;
      expect(b.key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/);
      expect(b.token).toBe(sha(b.key as string));
      expect(b.token_id).toBe(b.token);
      expect(b.key_name).toBe(`sk-...${(b.key as string).slice(-4)}`);
      expect(b).toMatchObject({
        key_alias: 'ci-bot',
        models: ['gpt-4o'],
        user_id: 'alice',
        team_id: null,
        spend: 0,
        max_budget: 12.5,
        soft_budget: 10,
        budget_duration: '1mo',
        budget_reset_at: '2025-04-01T00:00:00.000Z',
        model_max_budget: { 'gpt-4o': { budget_limit: 2, time_period: '1d' } },
        tpm_limit: 1000,
        rpm_limit: 10,
        max_parallel_requests: 2,
        metadata: { app: 'x', tags: ['prod'] },
        tags: ['prod'],
        aliases: { small: 'gpt-4o-mini' },
        blocked: false,
        expires: '2025-04-09T12:00:00.000Z',
        duration: '30d',
        created_by: 'default_user_id',
      });
      expect(b.litellm_budget_table).toMatchObject({ max_budget: 12.5, soft_budget: 10 });
      expect(h.auth.authenticate(bearer(b.key as string)).keyAlias).toBe('ci-bot');
    });

    it('custom key values, unique aliases and bad input give LiteLLM-shaped errors', async () => {
      const custom = await h.call('POST', '/key/generate', { key: 'sk-my-own-key-123', key_alias: 'mine' });
      expect(custom.body.key).toBe('sk-my-own-key-123');
      const dupAlias = await h.call('POST', '/key/generate', { key_alias: 'mine' });
      expect(dupAlias.status).toBe(400);
      expect(dupAlias.body).toEqual({ error: { message: "Unique key aliases across all keys are required. Key alias 'mine' already exists.", type: 'invalid_request_error', param: 'key_alias', code: '400' } });
      expect((await h.call('POST', '/key/generate', { key: 'sk-my-own-key-123' })).status).toBe(400);
      const badDuration = await h.call('POST', '/key/generate', { budget_duration: 'fortnightly' });
      expect([badDuration.status, badDuration.body.error.param]).toEqual([400, 'budget_duration']);
      expect((await h.call('POST', '/key/generate', { max_budget: -1 })).status).toBe(400);
      expect((await h.call('POST', '/key/generate', { max_budget: '' })).body.max_budget).toBeNull();
    });

    it('GET /key/info by plaintext or token, own key without the parameter; never the token inside info', async () => {
      const { body: k } = await h.call('POST', '/key/generate', { key_alias: 'a', max_budget: 1 });
      for (const q of [k.key as string, k.token as string]) {
        const res = await h.call('GET', `/key/info?key=${q}`);
        expect(res.status).toBe(200);
        expect(res.body.key).toBe(k.token);
        expect(res.body.info).toMatchObject({ key_alias: 'a', key_name: k.key_name, spend: 0, max_budget: 1 });
        expect(res.body.info.token).toBeUndefined();
      }
      const own = await h.call('GET', '/key/info', undefined, k.key as string);
      expect([own.status, own.body.info.key_alias]).toEqual([200, 'a']);
      const { body: other } = await h.call('POST', '/key/generate', {});
      expect((await h.call('GET', `/key/info?key=${other.token as string}`, undefined, k.key as string)).status).toBe(403);
      const missing = await h.call('GET', `/key/info?key=${'0'.repeat(64)}`);
      expect([missing.status, missing.body.error.type]).toEqual([404, 'not_found_error']);
    });

    it('POST /key/update by key or by key_alias; spend can be set', async () => {
      const { body: k } = await h.call('POST', '/key/generate', { key_alias: 'old' });
      const res = await h.call('POST', '/key/update', { key: k.key, key_alias: 'new', max_budget: 3, metadata: { team: 'infra' }, spend: 1.25 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ key: k.token, key_alias: 'new', max_budget: 3, metadata: { team: 'infra' }, spend: 1.25 });
      const byAlias = await h.call('POST', '/key/update', { key_alias: 'new', rpm_limit: 7 });
      expect(byAlias.body).toMatchObject({ key_alias: 'new', rpm_limit: 7, max_budget: 3 });
      expect((await h.call('POST', '/key/update', { key_alias: 'nope', rpm_limit: 1 })).status).toBe(404);
      const cleared = await h.call('POST', '/key/update', { key: k.token, max_budget: null });
      expect(cleared.body.max_budget).toBeNull();
    });

    it('GET /key/list pages and filters; return_full_object gives objects; non-admins see their own', async () => {
      const made = [];
      for (let i = 0; i < 5; i++) {
        h.clock.advance(1000);
        made.push((await h.call('POST', '/key/generate', { key_alias: `k${i}`, user_id: i < 3 ? 'alice' : 'bob', team_id: i === 4 ? 't' : undefined })).body);
      }
      const page = await h.call('GET', '/key/list?page=2&size=2');
      expect(page.body).toEqual({ keys: [made[2].token, made[1].token], total_count: 5, current_page: 2, total_pages: 3 });
      expect((await h.call('GET', '/key/list?user_id=bob')).body.keys).toEqual([made[4].token, made[3].token]);
      expect((await h.call('GET', '/key/list?team_id=t')).body.keys).toEqual([made[4].token]);
      expect((await h.call('GET', '/key/list?key_alias=k0')).body.keys).toEqual([made[0].token]);
      const full = await h.call('GET', '/key/list?return_full_object=true&user_id=bob');
      expect(full.body.keys[0]).toMatchObject({ token: made[4].token, key_alias: 'k4', user_id: 'bob' });
      const own = await h.call('GET', '/key/list', undefined, made[3].key as string);
      expect(own.body.keys).toEqual([made[4].token, made[3].token]);
      expect((await h.call('GET', '/key/list?user_id=alice', undefined, made[3].key as string)).status).toBe(403);
      expect((await h.call('GET', '/key/list?size=101')).status).toBe(400);
    });

    it('POST /key/block and /key/unblock switch authentication off and on', async () => {
      const { body: k } = await h.call('POST', '/key/generate', {});
      const blocked = await h.call('POST', '/key/block', { key: k.key });
      expect([blocked.status, blocked.body.blocked, blocked.body.token]).toEqual([200, true, k.token]);
      expect(() => h.auth.authenticate(bearer(k.key as string))).toThrow(/blocked/);
      expect((await h.call('POST', '/key/unblock', { key: k.token })).body.blocked).toBe(false);
      expect(h.auth.authenticate(bearer(k.key as string)).keyHash).toBe(k.token);
    });

    it('POST /key/regenerate (and /key/{key}/regenerate) issues a new plaintext; the old one stops working; spend follows', async () => {
      const { body: k } = await h.call('POST', '/key/generate', { key_alias: 'rot', max_budget: 5, spend: 0.5 });
      const res = await h.call('POST', '/key/regenerate', { key: k.key, max_budget: 6 });
      expect(res.status).toBe(200);
      expect(res.body.key).not.toBe(k.key);
      expect(res.body).toMatchObject({ token: sha(res.body.key as string), key_alias: 'rot', max_budget: 6, spend: 0.5 });
      expect(() => h.auth.authenticate(bearer(k.key as string))).toThrow(/Invalid proxy server token/);
      expect(h.auth.authenticate(bearer(res.body.key as string)).keyAlias).toBe('rot');
      const viaPath = await h.call('POST', `/key/${res.body.key as string}/regenerate`, { new_key: 'sk-chosen-value' });
      expect(viaPath.body.key).toBe('sk-chosen-value');
      expect((await h.call('POST', '/key/regenerate', { key: k.key })).status).toBe(404);
    });

    it('POST /key/{key}/reset_spend sets the spend', async () => {
      const { body: k } = await h.call('POST', '/key/generate', { spend: 3 });
      const res = await h.call('POST', `/key/${k.token as string}/reset_spend`, { reset_to: 0 });
      expect([res.status, res.body.spend]).toEqual([200, 0]);
    });

    it('POST /key/delete by keys or key_aliases; POST /v2/key/info', async () => {
      const a = (await h.call('POST', '/key/generate', { key_alias: 'a' })).body;
      const b = (await h.call('POST', '/key/generate', { key_alias: 'b' })).body;
      const v2 = await h.call('POST', '/v2/key/info', { keys: [a.key, b.token] });
      expect(pluck(v2.body.info, 'key_alias').sort()).toEqual(['a', 'b']);
      expect((await h.call('POST', '/key/delete', { keys: [a.key] })).body).toEqual({ deleted_keys: [a.token] });
      expect((await h.call('POST', '/key/delete', { key_aliases: ['b'] })).body).toEqual({ deleted_keys: ['b'] });
      expect((await h.call('GET', '/key/list')).body.total_count).toBe(0);
      expect((await h.call('POST', '/key/delete', {})).status).toBe(400);
    });

    it('needs the master key or an admin: 401 without a key, LiteLLM\'s admin-only 401 for a key without a user, admins and viewers by role', async () => {
      expect((await h.call('POST', '/key/generate', {}, null)).status).toBe(401);
      const plain = (await h.call('POST', '/key/generate', {})).body.key as string;
      const denied = await h.call('POST', '/key/generate', {}, plain);
      expect([denied.status, denied.body.error.type]).toEqual([401, 'auth_error']);
      expect(denied.body.error.message).toBe('Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=/key/generate. Your role=unknown. Your user_id=unknown');
      await h.call('POST', '/user/new', { user_id: 'root', user_role: 'proxy_admin', auto_create_key: false });
      await h.call('POST', '/user/new', { user_id: 'viewer', user_role: 'proxy_admin_viewer', auto_create_key: false });
      const adminKey = (await h.call('POST', '/key/generate', { user_id: 'root' })).body.key as string;
      const viewerKey = (await h.call('POST', '/key/generate', { user_id: 'viewer' })).body.key as string;
      expect((await h.call('POST', '/key/generate', {}, adminKey)).status).toBe(200);
      expect((await h.call('GET', '/key/list', undefined, viewerKey)).status).toBe(200);
      expect((await h.call('POST', '/key/generate', {}, viewerKey)).status).toBe(403);
      expect((await h.call('GET', '/key/list', undefined, MASTER)).status).toBe(200);
    });
  });
}
