/**
 * The tenancy stores on every backend: records round-trip through LiteLLM's tables (and
 * Tollgate's extras beside them), filters and paging, snapshots, key replacement, budget counters
 * (add, set, current, changed) and the once-only alert claim.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/ports.js';
import type { KeyRecord, TeamRecord, UserRecord } from '../../src/storage/tenancy-ports.js';
import { BACKENDS } from './backends.js';

const NOW = Date.UTC(2025, 2, 10, 12);

function key(token: string, over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    token,
    key_name: `sk-...${token.slice(-4)}`,
    key_alias: null,
    user_id: null,
    team_id: null,
    models: [],
    model_rpm_limit: {},
    model_tpm_limit: {},
    metadata: {},
    tags: [],
    blocked: false,
    expires: null,
    budget_id: null,
    organization_id: null,
    budget_reset_at: null,
    extra: {},
    max_budget_nano: null,
    soft_budget_nano: null,
    budget_duration: null,
    model_max_budget: {},
    tpm_limit: null,
    rpm_limit: null,
    max_parallel_requests: null,
    created_at: NOW,
    updated_at: NOW,
    created_by: null,
    updated_by: null,
    ...over,
  };
}

function user(id: string, over: Partial<UserRecord> = {}): UserRecord {
  return {
    user_id: id,
    user_alias: null,
    user_email: null,
    user_role: null,
    teams: [],
    models: [],
    metadata: {},
    organization_id: null,
    budget_reset_at: null,
    extra: {},
    max_budget_nano: null,
    soft_budget_nano: null,
    budget_duration: null,
    model_max_budget: {},
    tpm_limit: null,
    rpm_limit: null,
    max_parallel_requests: null,
    created_at: NOW,
    updated_at: NOW,
    ...over,
  };
}

const T = (n: number): string => n.toString(16).padStart(64, '0');

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`tenancy store on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ db, cleanup } = await backend.open());
      await db.migrate();
    });
    afterEach(async () => {
      await cleanup();
    });

    it('round-trips a key with every field, including nano-USD beyond 32 bits and nested JSON', async () => {
      const k = key(T(1), {
        key_alias: 'ci',
        user_id: 'alice',
        team_id: 't1',
        models: ['gpt-4o', 'beta-models'],
        model_rpm_limit: { 'gpt-4o': 5 },
        metadata: { app: 'x', nested: { a: [1, 2] } },
        tags: ['prod'],
        blocked: true,
        expires: NOW + 1000,
        extra: { aliases: { a: 'b' } },
        max_budget_nano: 5_000_000_000_000,
        soft_budget_nano: 1,
        budget_duration: '1mo',
        model_max_budget: { 'gpt-4o': { max_budget_nano: 7, budget_duration: '1d' } },
        tpm_limit: 100,
        rpm_limit: 10,
        max_parallel_requests: 2,
        created_by: 'admin',
      });
      expect(await db.tenancy.keys.insert(k)).toBe(true);
      expect(await db.tenancy.keys.insert(k)).toBe(false);
      expect(await db.tenancy.keys.get(k.token)).toEqual(k);
      expect(await db.tenancy.keys.get(T(99))).toBeUndefined();
    });

    it('filters keys by token, alias, user and team; pages newest first; counts', async () => {
      for (let i = 1; i <= 5; i++) await db.tenancy.keys.insert(key(T(i), { key_alias: `a${i}`, user_id: i % 2 === 0 ? 'even' : 'odd', team_id: i === 5 ? 't' : null, created_at: NOW + i }));
      const tokens = async (f: Parameters<Database['tenancy']['keys']['find']>[0], page?: { limit: number; offset: number }) => (await db.tenancy.keys.find(f, page)).map((k) => k.token);
      expect(await tokens({})).toEqual([T(5), T(4), T(3), T(2), T(1)]);
      expect(await tokens({ userIds: ['even'] })).toEqual([T(4), T(2)]);
      expect(await tokens({ aliases: ['a3', 'a1'] })).toEqual([T(3), T(1)]);
      expect(await tokens({ teamIds: ['t'] })).toEqual([T(5)]);
      expect(await tokens({ tokens: [] })).toEqual([]);
      expect(await tokens({}, { limit: 2, offset: 2 })).toEqual([T(3), T(2)]);
      expect(await db.tenancy.keys.count({ userIds: ['odd'] })).toBe(3);
    });

    it('updates, deletes, and a snapshot holds exactly what is stored', async () => {
      await db.tenancy.keys.insert(key(T(1)));
      await db.tenancy.keys.insert(key(T(2)));
      expect(await db.tenancy.keys.update(key(T(1), { blocked: true, updated_at: NOW + 10 }))).toBe(true);
      expect(await db.tenancy.keys.update(key(T(9)))).toBe(false);
      expect(await db.tenancy.keys.delete([T(2), T(9)], NOW + 20)).toEqual([T(2)]);
      const snap = await db.tenancy.snapshot();
      expect(snap.keys.map((k) => [k.token, k.blocked])).toEqual([[T(1), true]]);
      expect(snap.entitySpend).toEqual([]);
    });

    it('replaces a key atomically (regenerate) and refuses when the old one is gone', async () => {
      await db.tenancy.keys.insert(key(T(1), { key_alias: 'x' }));
      expect(await db.tenancy.keys.replace(T(1), key(T(2), { key_alias: 'x' }), NOW + 1)).toBe(true);
      expect(await db.tenancy.keys.get(T(1))).toBeUndefined();
      expect((await db.tenancy.keys.get(T(2)))?.key_alias).toBe('x');
      expect(await db.tenancy.keys.replace(T(1), key(T(3)), NOW + 2)).toBe(false);
      expect(await db.tenancy.keys.get(T(3))).toBeUndefined();
    });

    it('stores users (email search, role filter) and teams with members', async () => {
      await db.tenancy.users.insert(user('u1', { user_email: 'Alice@Example.com', user_role: 'proxy_admin' }));
      await db.tenancy.users.insert(user('u2', { user_email: 'bob@example.com', user_role: 'internal_user' }));
      expect((await db.tenancy.users.find({ email: 'alice@' })).map((u) => u.user_id)).toEqual(['u1']);
      expect((await db.tenancy.users.find({ role: 'internal_user' })).map((u) => u.user_id)).toEqual(['u2']);
      const team: TeamRecord = {
        team_id: 't1', team_alias: 'One', models: [], members_with_roles: [{ user_id: 'u1', user_email: null, role: 'admin' }], metadata: {}, tags: [], blocked: false, extra: {},
        max_budget_nano: 1, soft_budget_nano: 2, budget_duration: null, model_max_budget: {}, tpm_limit: null, rpm_limit: null, max_parallel_requests: null, created_at: NOW, updated_at: NOW,
        organization_id: null, budget_reset_at: null,
      };
      await db.tenancy.teams.insert(team);
      expect(await db.tenancy.teams.get('t1')).toEqual(team);
      expect((await db.tenancy.teams.find({ alias: 'One' })).length).toBe(1);
    });

    it('adds spend in one transaction (merging repeats), overwrites it, and lists current periods', async () => {
      const b = db.tenancy.budgets;
      await b.add([{ scope: 'key:a', period_end: 0, delta_nano: 5 }, { scope: 'key:a', period_end: 0, delta_nano: 7 }, { scope: 'user:u', period_end: NOW + 1000, delta_nano: 3 }], NOW);
      await b.add([{ scope: 'key:a', period_end: 0, delta_nano: 4_000_000_000_000 }, { scope: 'user:u', period_end: NOW - 1, delta_nano: 9 }], NOW + 5);
      const current = (await b.current(NOW)).map((r) => [r.scope, r.period_end, r.spend_nano]).sort();
      expect(current).toEqual([['key:a', 0, 4_000_000_000_012], ['user:u', NOW + 1000, 3]]);
      await b.set('user:u', NOW + 1000, 100, NOW + 6);
      expect((await b.changedSince(NOW + 6)).map((r) => [r.scope, r.spend_nano])).toEqual([['user:u', 100]]);
    });

    it('claims an alert once per scope and period', async () => {
      const b = db.tenancy.budgets;
      expect(await b.claimAlert('key:a', 5, 'soft_budget', NOW)).toBe(true);
      expect(await b.claimAlert('key:a', 5, 'soft_budget', NOW)).toBe(false);
      expect(await b.claimAlert('key:a', 6, 'soft_budget', NOW)).toBe(true);
    });
  });
}
