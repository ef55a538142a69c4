/**
 * Spend written into LiteLLM's `spend` columns by another tool (LiteLLM's UI or reset job, a
 * LiteLLM instance beside Tollgate, an operator's UPDATE) takes effect, on every backend: on the
 * next refresh when the entity is idle, on the next flush when it is spending (the column plus this
 * instance's unflushed spend), a reset to 0 included — and Tollgate's own write-backs, another
 * instance's included, and floats that do not round-trip are never taken for one.
 */
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BudgetAdmin } from '../../src/policy/admin/budgets.js';
import { OrganizationAdmin } from '../../src/policy/admin/organizations.js';
import type { AdmitRequest } from '../../src/policy/admission.js';
import type { EntityKind } from '../../src/policy/scopes.js';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from '../storage/backends.js';
import { admitRequest, clock, flatPrice, spendOnce, stack, USD, type Stack } from './harness.js';

const TENTH = USD / 10;
const price = flatPrice(USD / 1000);
const ADOPTED = "tenancy: spend written into LiteLLM's table by another tool adopted";

/** Where each entity's spend column is, for an UPDATE as another tool would write it. */
const ROWS: Record<EntityKind, (id: string) => { table: string; where: Record<string, string> }> = {
  key: (id) => ({ table: 'LiteLLM_VerificationToken', where: { token: id } }),
  user: (id) => ({ table: 'LiteLLM_UserTable', where: { user_id: id } }),
  team: (id) => ({ table: 'LiteLLM_TeamTable', where: { team_id: id } }),
  customer: (id) => ({ table: 'LiteLLM_EndUserTable', where: { user_id: id } }),
  org: (id) => ({ table: 'LiteLLM_OrganizationTable', where: { organization_id: id } }),
  team_member: (id) => ({ table: 'LiteLLM_TeamMembership', where: { team_id: id.split('/')[0] ?? '', user_id: id.split('/')[1] ?? '' } }),
};

const raw = (db: Database): Kysely<unknown> => (db as unknown as { db: Kysely<unknown> }).db;

function whereOf(where: Record<string, string>) {
  return sql.join(Object.entries(where).map(([col, v]) => sql`${sql.ref(col)} = ${v}`), sql` and `);
}

async function writeSpend(db: Database, kind: EntityKind, id: string, usd: number): Promise<void> {
  const { table, where } = ROWS[kind](id);
  await sql`update ${sql.table(table)} set spend = ${usd} where ${whereOf(where)}`.execute(raw(db));
}

async function readSpend(db: Database, kind: EntityKind, id: string): Promise<number> {
  const { table, where } = ROWS[kind](id);
  const { rows } = await sql<{ spend: unknown }>`select spend from ${sql.table(table)} where ${whereOf(where)}`.execute(raw(db));
  return Math.round(Number(rows[0]?.spend) * 1e9);
}

const request = (st: Stack, key: string, over: Partial<AdmitRequest> = {}): AdmitRequest => admitRequest(st, key, price, over);


for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`spend written by another tool on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    /** Another connection to the same database: the other tool. */
    let other: Database;
    let reopen: () => Database;
    let cleanup: () => Promise<void>;
    let s: Stack;
    const c = clock();

    beforeEach(async () => {
      ({ db, reopen, cleanup } = await backend.open());
      await db.migrate();
      other = reopen();
      s = await stack(db, { clock: c });
    });
    afterEach(async () => {
      await s.close();
      if (other !== db) await other.close().catch(() => undefined);
      await cleanup();
    });

    it('an idle key: a raised column refuses it after a refresh, a reset to 0 serves it again and counting resumes from 0', async () => {
      const { plaintext, record } = await s.keys.generate({ max_budget_nano: USD }, null);
      await spendOnce(s, request(s, plaintext), TENTH);
      await s.tenancy.sync();
      expect(await readSpend(other, 'key', record.token)).toBe(TENTH);

      await writeSpend(other, 'key', record.token, 1.0);
      await s.tenancy.sync(true);
      expect(await s.tenancy.spendOf('key', record.token, null)).toBe(USD);
      await expect(s.policy.admit(request(s, plaintext))).rejects.toMatchObject({ code: 'budget_exceeded' });
      // Nothing this instance does writes the old total back.
      await s.tenancy.sync(true);
      expect(await readSpend(other, 'key', record.token)).toBe(USD);

      await writeSpend(other, 'key', record.token, 0);
      await s.tenancy.sync(true);
      expect(await s.tenancy.spendOf('key', record.token, null)).toBe(0);
      await spendOnce(s, request(s, plaintext), 3 * TENTH);
      await s.tenancy.sync(true);
      expect(await readSpend(other, 'key', record.token)).toBe(3 * TENTH);
      expect(await s.tenancy.spendOf('key', record.token, null)).toBe(3 * TENTH);
    });

    it('a key spending meanwhile: the column plus what this instance had not flushed yet', async () => {
      const { plaintext, record } = await s.keys.generate({ max_budget_nano: 10 * USD, budget_duration: '30d' }, null);
      await spendOnce(s, request(s, plaintext), TENTH);
      await s.tenancy.sync();
      await spendOnce(s, request(s, plaintext), 2 * TENTH); // settled, not flushed
      await writeSpend(other, 'key', record.token, 5.0);
      await s.tenancy.sync(true);
      expect(await readSpend(other, 'key', record.token)).toBe(5 * USD + 2 * TENTH);
      expect(await s.tenancy.spendOf('key', record.token, '30d')).toBe(5 * USD + 2 * TENTH);
      expect(s.logs.filter((l) => l.msg === ADOPTED)).toHaveLength(1);
    });

    it('users, teams, end users, organizations and team members alike', async () => {
      const budgets = new BudgetAdmin(s.tenancy);
      const orgs = new OrganizationAdmin(s.tenancy, budgets, s.people, s.keys);
      await orgs.create({ organization_id: 'o', organization_alias: 'O', budget: { max_budget_nano: 100 * USD } }, 'admin');
      await s.people.createUser('u', {});
      await s.people.createTeam('t', { organization_id: 'o' });
      await budgets.create('member-budget', { max_budget_nano: 100 * USD }, 'admin');
      const membership = { user_id: 'u', team_id: 't', budget_id: 'member-budget', updated_at: s.clock.now() };
      await db.tenancy.teamMemberships.insert(membership);
      s.tenancy.putTeamMembership(membership);
      await s.customers.create('acme', {}, {}, 'admin');
      const { plaintext } = await s.keys.generate({ user_id: 'u', team_id: 't' }, null);
      const entities: [EntityKind, string][] = [['user', 'u'], ['team', 't'], ['customer', 'acme'], ['org', 'o'], ['team_member', 't/u']];

      await spendOnce(s, request(s, plaintext, { endUser: 'acme' }), TENTH);
      await s.tenancy.sync(true);
      for (const [kind, id] of entities) expect([kind, await readSpend(other, kind, id)]).toEqual([kind, TENTH]);

      // Idle: adopted by the refresh.
      for (const [i, [kind, id]] of entities.entries()) await writeSpend(other, kind, id, i + 1);
      await s.tenancy.sync(true);
      for (const [i, [kind, id]] of entities.entries()) expect([kind, await s.tenancy.spendOf(kind, id, null)]).toEqual([kind, (i + 1) * USD]);

      // Spending: adopted by the flush, this call's cost on top.
      for (const [i, [kind, id]] of entities.entries()) await writeSpend(other, kind, id, 10 + i);
      await spendOnce(s, request(s, plaintext, { endUser: 'acme' }), TENTH);
      await s.tenancy.sync(true);
      for (const [i, [kind, id]] of entities.entries()) {
        expect([kind, await s.tenancy.spendOf(kind, id, null)]).toEqual([kind, (10 + i) * USD + TENTH]);
        expect([kind, await readSpend(other, kind, id)]).toEqual([kind, (10 + i) * USD + TENTH]);
      }
    });

    it("Tollgate's own write-backs are not outside writes, floats that do not round-trip included", async () => {
      const { plaintext, record } = await s.keys.generate({}, null);
      // 0.1 + 0.2 style amounts: n / 1e9 is not exact in binary.
      const costs = [100_000_001, 200_000_003, 123_456_789, 1];
      for (const cost of costs) {
        await spendOnce(s, request(s, plaintext), cost);
        await s.tenancy.sync(true);
        await s.tenancy.sync(true);
      }
      const total = costs.reduce((a, b) => a + b, 0);
      expect(await s.tenancy.spendOf('key', record.token, null)).toBe(total);
      expect(await readSpend(other, 'key', record.token)).toBe(total);
      expect(s.logs.filter((l) => l.msg === ADOPTED)).toEqual([]);
    });

  });
}

// `:memory:` is one database per connection, so it cannot be shared by two instances.
for (const backend of BACKENDS.filter((b) => b.name !== 'sqlite-memory')) {
  describe.skipIf(backend.skip !== undefined)(`two instances and another tool on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let other: Database;
    let reopen: () => Database;
    let cleanup: () => Promise<void>;
    let s: Stack;
    const c = clock();

    beforeEach(async () => {
      ({ db, reopen, cleanup } = await backend.open());
      await db.migrate();
      other = reopen();
      s = await stack(db, { clock: c });
    });
    afterEach(async () => {
      await s.close();
      await other.close().catch(() => undefined);
      await cleanup();
    });

    it('another instance on the same store: its write-backs are not outside writes, an outside write reaches both', async () => {
      const b = await stack(reopen(), { clock: c });
      try {
        const { plaintext, record } = await s.keys.generate({}, null);
        await b.tenancy.sync(true);
        for (let i = 0; i < 3; i++) {
          for (const st of [s, b]) await spendOnce(st, request(st, plaintext), 100_000_007);
          await s.tenancy.sync(true);
          await b.tenancy.sync(true);
        }
        await s.tenancy.sync(true);
        expect(await s.tenancy.spendOf('key', record.token, null)).toBe(6 * 100_000_007);
        expect(await b.tenancy.spendOf('key', record.token, null)).toBe(6 * 100_000_007);
        expect([...s.logs, ...b.logs].filter((l) => l.msg === ADOPTED)).toEqual([]);

        await writeSpend(other, 'key', record.token, 0);
        await s.tenancy.sync(true);
        await b.tenancy.sync(true);
        expect(await s.tenancy.spendOf('key', record.token, null)).toBe(0);
        expect(await b.tenancy.spendOf('key', record.token, null)).toBe(0);
      } finally {
        await b.close();
        await b.db.close().catch(() => undefined);
      }
    });
  });
}
