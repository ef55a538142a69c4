/**
 * The tenancy change feed on every backend: the first read lists everything, a read with nothing
 * changed lists nothing, and a direct write by another tool (no `updated_at`, a table that has
 * none, an extras doc alone, a composite key, a delete, another connection) lists exactly the rows
 * it touched, with their spend; a recheck reads a record again whether or not it changed.
 */
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/ports.js';
import type { CustomerRecord, KeyRecord, TenancyChanges } from '../../src/storage/tenancy-ports.js';
import { BACKENDS } from './backends.js';

const NOW = Date.UTC(2025, 2, 10, 12);
const T = (n: number): string => n.toString(16).padStart(64, '0');

const settings = { max_budget_nano: null, soft_budget_nano: null, budget_duration: null, model_max_budget: {}, tpm_limit: null, rpm_limit: null, max_parallel_requests: null };

function key(token: string, over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    ...settings,
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
    created_at: NOW,
    updated_at: NOW,
    created_by: null,
    updated_by: null,
    ...over,
  };
}

function customer(id: string, over: Partial<CustomerRecord> = {}): CustomerRecord {
  return { ...settings, user_id: id, alias: null, blocked: false, allowed_model_region: null, default_model: null, budget_id: null, extra: {}, created_at: NOW, updated_at: NOW, ...over };
}

const raw = (db: Database): Kysely<unknown> => (db as unknown as { db: Kysely<unknown> }).db;

/** Every record id a read listed, by kind, and the ids it says are gone. */
function listed(c: TenancyChanges): Record<string, string[]> {
  return {
    keys: c.keys.put.map((k) => k.token),
    customers: c.customers.put.map((x) => x.user_id),
    memberships: c.teamMemberships.put.map((m) => `${m.team_id}:${m.user_id}`),
    goneKeys: c.keys.gone,
    goneMemberships: c.teamMemberships.gone,
  };
}

const NOTHING = { keys: [], customers: [], memberships: [], goneKeys: [], goneMemberships: [] };

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`tenancy change feed on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let reopen: () => Database;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ db, reopen, cleanup } = await backend.open());
      await db.migrate();
      for (let i = 1; i <= 5; i++) await db.tenancy.keys.insert(key(T(i), { key_alias: `k${i}` }));
      await db.tenancy.customers.insert(customer('acme'));
      await db.tenancy.customers.insert(customer('globex'));
      await sql`insert into ${sql.table('LiteLLM_TeamMembership')} (user_id, team_id, spend, total_spend) values ('bob', 't1', 0, 0), ('eve', 't1', 0, 0)`.execute(raw(db));
    });
    afterEach(async () => {
      await cleanup();
    });

    it('lists everything first, then nothing while nothing changes', async () => {
      const feed = db.tenancy.changeFeed();
      const first = await feed.next();
      expect(first.full).toBe(true);
      expect(listed(first)).toEqual({ ...NOTHING, keys: expect.arrayContaining([T(1), T(2), T(3), T(4), T(5)]) as unknown, customers: expect.arrayContaining(['acme', 'globex']) as unknown, memberships: expect.arrayContaining(['t1:bob', 't1:eve']) as unknown });
      expect(first.keys.put).toHaveLength(5);
      const second = await feed.next();
      expect(second.full).toBe(false);
      expect(listed(second)).toEqual(NOTHING);
      expect(second.entitySpend).toEqual([]);
    });

    it("another tool's UPDATE, INSERT and DELETE: exactly the rows touched, spend included", async () => {
      const feed = db.tenancy.changeFeed();
      await feed.next();
      // LiteLLM_EndUserTable has no updated_at at all; the key's is left as it was.
      await sql`update ${sql.table('LiteLLM_EndUserTable')} set blocked = ${db.dialect === 'sqlite' ? 1 : true} where user_id = 'acme'`.execute(raw(db));
      await sql`update ${sql.table('LiteLLM_VerificationToken')} set spend = 2.5 where token = ${T(2)}`.execute(raw(db));
      await sql`delete from ${sql.table('LiteLLM_VerificationToken')} where token = ${T(3)}`.execute(raw(db));
      await sql`update ${sql.table('LiteLLM_TeamMembership')} set budget_id = 'tier' where team_id = 't1' and user_id = 'eve'`.execute(raw(db));
      const c = await feed.next();
      expect(listed(c)).toEqual({ ...NOTHING, keys: [T(2)], customers: ['acme'], memberships: ['t1:eve'], goneKeys: [T(3)] });
      expect(c.customers.put[0]?.blocked).toBe(true);
      expect(c.teamMemberships.put[0]?.budget_id).toBe('tier');
      expect(c.entitySpend).toEqual(
        expect.arrayContaining([
          { scope: `key:${T(2)}`, spend_nano: 2_500_000_000, budget_reset_at: null },
          { scope: 'customer:acme', spend_nano: 0, budget_reset_at: null },
          { scope: 'team_member:t1/eve', spend_nano: 0, budget_reset_at: null },
        ]),
      );
      expect(c.entitySpend).toHaveLength(3);
      expect(c.spendGone).toEqual([`key:${T(3)}`]);
      expect(listed(await feed.next())).toEqual(NOTHING);
      // A reset to 0 is a change like any other.
      await sql`update ${sql.table('LiteLLM_VerificationToken')} set spend = 0 where token = ${T(2)}`.execute(raw(db));
      expect((await feed.next()).entitySpend).toEqual([{ scope: `key:${T(2)}`, spend_nano: 0, budget_reset_at: null }]);
    });

    it('an extras doc changed alone re-reads its record; a recheck reads a record that did not change', async () => {
      const feed = db.tenancy.changeFeed();
      await feed.next();
      // An end user's limits live only in Tollgate's extras doc, its LiteLLM row stays the same.
      await db.tenancy.customers.update(customer('globex', { rpm_limit: 7 }));
      const c = await feed.next([{ kind: 'key', id: T(4) }]);
      expect(listed(c)).toEqual({ ...NOTHING, keys: [T(4)], customers: ['globex'] });
      expect(c.customers.put[0]?.rpm_limit).toBe(7);
      const m = await feed.next([{ kind: 'team_membership', id: 't1:bob' }]);
      expect(listed(m)).toEqual({ ...NOTHING, memberships: ['t1:bob'] });
      // A membership this instance made and the store never had (its key never read back).
      const unknown = await feed.next([{ kind: 'team_membership', id: 't9:zed' }]);
      expect(listed(unknown)).toEqual({ ...NOTHING, goneMemberships: ['t9:zed'] });
      expect(unknown.spendGone).toEqual(['team_member:t9/zed']);
    });

    it('a write through another connection to the same database', async () => {
      const feed = db.tenancy.changeFeed();
      await feed.next();
      const other = reopen();
      await other.tenancy.keys.update(key(T(5), { key_alias: 'renamed', updated_at: NOW + 1 }));
      await other.tenancy.keys.insert(key(T(6)));
      const c = await feed.next();
      expect(listed(c)).toEqual({ ...NOTHING, keys: expect.arrayContaining([T(5), T(6)]) as unknown });
      expect(c.keys.put.map((k) => [k.token, k.key_alias]).sort()).toEqual([
        [T(5), 'renamed'],
        [T(6), null],
      ]);
    });
  });
}
