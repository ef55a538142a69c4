/**
 * Budget periods that come from a budget tier (LiteLLM_BudgetTable.budget_duration, reached by a
 * key, end user, organization or team membership through `budget_id`), kept in LiteLLM's columns
 * as LiteLLM's reset job (reset_budget_job.py `reset_budget_for_litellm_budget_table`) keeps them:
 * when the tier's period rolls over, the tier row's `budget_reset_at` moves to the new period's end
 * and the `spend` of the rows linked to it goes to 0 (keys only when they have no budget_duration
 * of their own: those reset on their own schedule). The key row's own `budget_reset_at` is left
 * alone, as LiteLLM leaves it. And an ended period's spend in a linked row is never carried into
 * the next period, after a refresh or a restart. On every backend.
 */
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BudgetAdmin } from '../../src/policy/admin/budgets.js';
import { OrganizationAdmin } from '../../src/policy/admin/organizations.js';
import type { AdmitRequest } from '../../src/policy/admission.js';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from '../storage/backends.js';
import { admitRequest, clock, flatPrice, spendOnce, stack, T0, USD, type Stack } from './harness.js';

const TENTH = USD / 10;
const HOUR = 3_600_000;
const price = flatPrice(USD / 1000); // 50 + 50 tokens: a worst case of $0.10
/** The tier is made at T0 (Monday 12:00 UTC), so its first period ends 24 h later … */
const FIRST_END = T0 + 24 * HOUR;
/** … and the second is a calendar day: it ends at the following midnight, Wednesday 00:00 UTC. */
const SECOND_END = T0 + 36 * HOUR;

const raw = (db: Database): Kysely<unknown> => (db as unknown as { db: Kysely<unknown> }).db;

/** A column as epoch ms (both databases hand back a Date or an ISO string). */
function ms(value: unknown): number | null {
  if (value instanceof Date) return value.getTime();
  return typeof value === 'string' ? Date.parse(value) : null;
}

async function tierResetAt(db: Database, budgetId: string): Promise<number | null> {
  const { rows } = await sql<{ r: unknown }>`select budget_reset_at as r from ${sql.table('LiteLLM_BudgetTable')} where budget_id = ${budgetId}`.execute(raw(db));
  return ms(rows[0]?.r);
}

async function keyRow(db: Database, token: string): Promise<{ spend: number; resetAt: number | null }> {
  const { rows } = await sql<{ spend: unknown; r: unknown }>`select spend, budget_reset_at as r from ${sql.table('LiteLLM_VerificationToken')} where token = ${token}`.execute(raw(db));
  return { spend: Math.round(Number(rows[0]?.spend) * 1e9), resetAt: ms(rows[0]?.r) };
}

async function spendColumn(db: Database, table: string, where: Record<string, string>): Promise<number> {
  const cond = sql.join(Object.entries(where).map(([c, v]) => sql`${sql.ref(c)} = ${v}`), sql` and `);
  const { rows } = await sql<{ spend: unknown }>`select spend from ${sql.table(table)} where ${cond}`.execute(raw(db));
  return Math.round(Number(rows[0]?.spend) * 1e9);
}

const request = (st: Stack, key: string, over: Partial<AdmitRequest> = {}): AdmitRequest => admitRequest(st, key, price, over);


for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`budget periods from a tier on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let reopen: () => Database;
    let cleanup: () => Promise<void>;
    let s: Stack;
    let budgets: BudgetAdmin;
    const c = clock();

    beforeEach(async () => {
      c.set(T0);
      ({ db, reopen, cleanup } = await backend.open());
      await db.migrate();
      s = await stack(db, { clock: c });
      budgets = new BudgetAdmin(s.tenancy);
    });
    afterEach(async () => {
      await s.close();
      await cleanup();
    });

    it("the first flush of a new period moves the tier's budget_reset_at to its end and zeroes the linked keys; a key's own budget_reset_at stays unset", async () => {
      await budgets.create('daily', { max_budget_nano: 3 * TENTH, budget_duration: '1d' }, 'admin');
      expect(await tierResetAt(db, 'daily')).toBe(FIRST_END);
      const a = await s.keys.generate({ budget_id: 'daily' }, null);
      const b = await s.keys.generate({ budget_id: 'daily' }, null);
      // A key with a budget_duration of its own keeps its own budget_reset_at; the tier's roll leaves it (as LiteLLM's job does).
      const own = await s.keys.generate({ budget_id: 'daily', budget_duration: '30d' }, null);
      await spendOnce(s, request(s, a.plaintext), TENTH);
      await spendOnce(s, request(s, b.plaintext), 2 * TENTH);
      await spendOnce(s, request(s, own.plaintext), TENTH);
      await s.tenancy.sync();
      expect(await keyRow(db, a.record.token)).toEqual({ spend: TENTH, resetAt: null });
      expect(await keyRow(db, b.record.token)).toEqual({ spend: 2 * TENTH, resetAt: null });
      expect(await tierResetAt(db, 'daily')).toBe(FIRST_END);

      c.set(FIRST_END + HOUR);
      await spendOnce(s, request(s, a.plaintext), TENTH / 2);
      await s.tenancy.sync();
      expect(await tierResetAt(db, 'daily')).toBe(SECOND_END);
      expect(await keyRow(db, a.record.token)).toEqual({ spend: TENTH / 2, resetAt: null });
      expect(await keyRow(db, b.record.token)).toEqual({ spend: 0, resetAt: null });
      expect((await keyRow(db, own.record.token)).spend).toBe(TENTH);
      // The zeroed key is not taken for spend written by another tool: it counts from 0.
      await s.tenancy.sync(true);
      await spendOnce(s, request(s, b.plaintext), TENTH);
      await s.tenancy.sync(true);
      expect(await keyRow(db, b.record.token)).toEqual({ spend: TENTH, resetAt: null });
    });

    it('an idle key on the tier starts the new period at 0 after a refresh, and after a restart', async () => {
      await budgets.create('daily', { max_budget_nano: 3 * TENTH, budget_duration: '1d' }, 'admin');
      const k = await s.keys.generate({ budget_id: 'daily' }, null);
      await spendOnce(s, request(s, k.plaintext), 3 * TENTH); // all of the $0.30
      await s.tenancy.sync();
      await expect(s.policy.admit(request(s, k.plaintext))).rejects.toMatchObject({ code: 'budget_exceeded' });

      c.set(FIRST_END + HOUR);
      await s.tenancy.sync(true);
      // The new period starts at $0: served.
      await spendOnce(s, request(s, k.plaintext), TENTH);
      await s.tenancy.sync();
      expect((await keyRow(db, k.record.token)).spend).toBe(TENTH);

      // A restart in the third period, the row holding the second period's $0.10: not carried over.
      c.set(SECOND_END + HOUR);
      await s.close();
      const again = reopen();
      s = await stack(again, { clock: c });
      await spendOnce(s, request(s, k.plaintext), TENTH);
      await spendOnce(s, request(s, k.plaintext), TENTH);
      await s.tenancy.sync();
      expect((await keyRow(again, k.record.token)).spend).toBe(2 * TENTH);
      if (again !== db) await again.close();
    });

    it("spend of the ended period flushed together with the new period's: the row and the tier end up in the new period", async () => {
      await budgets.create('daily', { max_budget_nano: USD, budget_duration: '1d' }, 'admin');
      const a = await s.keys.generate({ budget_id: 'daily' }, null);
      const b = await s.keys.generate({ budget_id: 'daily' }, null);
      await spendOnce(s, request(s, a.plaintext), TENTH);
      await s.tenancy.sync();
      await spendOnce(s, request(s, a.plaintext), 2 * TENTH); // settled in the first period, not flushed
      c.set(FIRST_END + HOUR);
      await spendOnce(s, request(s, b.plaintext), TENTH);
      await s.tenancy.sync();
      expect(await tierResetAt(db, 'daily')).toBe(SECOND_END);
      // Whichever is written first, the first period's $0.30 is not left in the row in the second.
      expect(await keyRow(db, a.record.token)).toEqual({ spend: 0, resetAt: null });
      expect(await keyRow(db, b.record.token)).toEqual({ spend: TENTH, resetAt: null });
    });

    it("a flush that writes the new period first and the ended one after leaves the ended period's total out of the row", async () => {
      await budgets.create('daily', { max_budget_nano: USD, budget_duration: '1d' }, 'admin');
      const a = await s.keys.generate({ budget_id: 'daily' }, null);
      const b = await s.keys.generate({ budget_id: 'daily' }, null);
      // The store's own order: b's second-period delta, then a's (late) first-period one.
      await db.tenancy.budgets.add(
        [
          { scope: `key:${b.record.token}`, period_end: SECOND_END, delta_nano: TENTH },
          { scope: `key:${a.record.token}`, period_end: FIRST_END, delta_nano: 2 * TENTH },
        ],
        FIRST_END + HOUR,
      );
      expect(await tierResetAt(db, 'daily')).toBe(SECOND_END);
      expect(await keyRow(db, b.record.token)).toEqual({ spend: TENTH, resetAt: null });
      expect(await keyRow(db, a.record.token)).toEqual({ spend: 0, resetAt: null });
    });

    it('end users, organizations and team members on the tier are zeroed with it', async () => {
      await budgets.create('daily', { max_budget_nano: 10 * USD, budget_duration: '1d' }, 'admin');
      const orgs = new OrganizationAdmin(s.tenancy, budgets, s.people, s.keys);
      await orgs.create({ organization_id: 'o', organization_alias: 'O', budget_id: 'daily', budget: {} }, 'admin');
      await s.customers.create('acme', { budget_id: 'daily' }, {}, 'admin');
      await s.people.createUser('u', {});
      await s.people.createTeam('t', {});
      const membership = { user_id: 'u', team_id: 't', budget_id: 'daily', updated_at: c.now() };
      await db.tenancy.teamMemberships.insert(membership);
      s.tenancy.putTeamMembership(membership);
      const orgKey = await s.keys.generate({ organization_id: 'o' }, null);
      const memberKey = await s.keys.generate({ user_id: 'u', team_id: 't' }, null);
      const plain = await s.keys.generate({}, null);
      await spendOnce(s, request(s, orgKey.plaintext), TENTH);
      await spendOnce(s, request(s, memberKey.plaintext), 2 * TENTH);
      await spendOnce(s, request(s, plain.plaintext, { endUser: 'acme' }), 3 * TENTH);
      await s.tenancy.sync();
      const columns = async () => [
        await spendColumn(db, 'LiteLLM_OrganizationTable', { organization_id: 'o' }),
        await spendColumn(db, 'LiteLLM_TeamMembership', { team_id: 't', user_id: 'u' }),
        await spendColumn(db, 'LiteLLM_EndUserTable', { user_id: 'acme' }),
      ];
      expect(await columns()).toEqual([TENTH, 2 * TENTH, 3 * TENTH]);

      // A refresh in the new period, before anything is spent in it: nothing is carried over.
      c.set(FIRST_END + HOUR);
      await s.tenancy.sync(true);
      expect([await s.tenancy.spendOf('org', 'o', '1d'), await s.tenancy.spendOf('team_member', 't/u', '1d'), await s.tenancy.spendOf('customer', 'acme', '1d')]).toEqual([0, 0, 0]);
      // The new period's first spend is the end user's: the others are zeroed with the tier.
      await spendOnce(s, request(s, plain.plaintext, { endUser: 'acme' }), TENTH);
      await s.tenancy.sync();
      expect(await tierResetAt(db, 'daily')).toBe(SECOND_END);
      expect(await columns()).toEqual([0, 0, TENTH]);
    });
  });
}
