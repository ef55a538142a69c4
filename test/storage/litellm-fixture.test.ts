/**
 * A database LiteLLM made, served as it is. On Postgres the fixture is built the way LiteLLM's
 * startup builds it: its migration.sql files (test/fixtures/litellm-schema, see SOURCE.md) applied
 * in order to a fresh database; then rows inserted as LiteLLM writes them (key hashed sha256 hex,
 * USD spend, a budget_id link, a team, a user, an end user). Tollgate migrates it without touching
 * any existing column, serves the key with its settings and current spend, writes settled spend
 * back into the key's `spend`, and picks up rows other tools write directly. The same on SQLite,
 * with Tollgate's own migrations creating the schema.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { Tenancy } from '../../src/policy/tenancy.js';
import { openDatabase } from '../../src/storage/database.js';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';
import type { Database } from '../../src/storage/ports.js';
import { createLiteLLMPostgres, fixtureDirectories, LITELLM_FIXTURE, SKIPPED_MIGRATIONS, type LiteLLMPostgres } from './litellm-fixture-db.js';

const PLAINTEXT = 'sk-litellm-made-key-0001';
const TOKEN = createHash('sha256').update(PLAINTEXT).digest('hex');
const FUTURE = '2099-01-01 00:00:00';

type Raw = (text: string) => Promise<unknown[]>;

/** Rows as LiteLLM's proxy writes them (`/budget/new`, `/team/new`, `/user/new`, `/key/generate`, `/customer/new`). */
async function insertLiteLLMRows(run: Raw, t: (v: boolean) => string, list: (v: string[]) => string): Promise<void> {
  await run(`INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, rpm_limit, created_by, updated_by) VALUES ('tier-1', 10.0, 7, 'admin', 'admin')`);
  await run(`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, models, max_budget, spend) VALUES ('team-1', 'Team One', ${list(['gpt-x'])}, 50.0, 1.5)`);
  await run(`INSERT INTO "LiteLLM_UserTable" (user_id, user_email, user_role, spend) VALUES ('user-1', 'u@example.com', 'internal_user', 0.25)`);
  await run(
    `INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, spend, expires, models, user_id, team_id, max_budget, tpm_limit, rpm_limit, max_parallel_requests, budget_id, blocked, metadata)
     VALUES ('${TOKEN}', 'sk-...0001', 'made-by-litellm', 3.2, '${FUTURE}', ${list(['gpt-x', 'gpt-y'])}, 'user-1', 'team-1', 5.0, 1000, 60, 3, 'tier-1', ${t(false)}, '{"model_rpm_limit": {"gpt-x": 2}, "tags": ["prod"]}')`,
  );
  await run(`INSERT INTO "LiteLLM_EndUserTable" (user_id, alias, spend, budget_id, blocked) VALUES ('acme', 'Acme', 0.5, 'tier-1', ${t(false)})`);
}

async function checkServed(db: Database, run: Raw, t: (v: boolean) => string): Promise<void> {
  const state = new MemorySharedState();
  const tenancy = new Tenancy(db.tenancy, state, { refreshIntervalMs: 1000, flushIntervalMs: 60_000 });
  await tenancy.start();
  try {
    const key = tenancy.keys.get(TOKEN);
    expect(key).toBeDefined();
    expect([key?.key_alias, key?.models, key?.max_budget_nano, key?.tpm_limit, key?.rpm_limit, key?.max_parallel_requests, key?.budget_id, key?.blocked]).toEqual([
      'made-by-litellm',
      ['gpt-x', 'gpt-y'],
      5_000_000_000,
      1000,
      60,
      3,
      'tier-1',
      false,
    ]);
    expect(key?.expires).toBe(Date.UTC(2099, 0, 1));
    expect([key?.tags, key?.model_rpm_limit]).toEqual([['prod'], { 'gpt-x': 2 }]);
    expect(tenancy.budgets.get('tier-1')?.max_budget_nano).toBe(10_000_000_000);
    expect(tenancy.teams.get('team-1')?.max_budget_nano).toBe(50_000_000_000);
    expect(tenancy.customers.get('acme')?.budget_id).toBe('tier-1');
    // LiteLLM's spend column is the current spend.
    expect(await tenancy.spendOf('key', TOKEN, null)).toBe(3_200_000_000);
    expect(await tenancy.spendOf('team', 'team-1', null)).toBe(1_500_000_000);
    expect(await tenancy.spendOf('user', 'user-1', null)).toBe(250_000_000);

    // Spend Tollgate settles grows the key's (and team's) spend column.
    tenancy.ledger.add(`key:${TOKEN}`, 0, 1_000_000_000);
    tenancy.ledger.add('team:team-1', 0, 1_000_000_000);
    tenancy.ledger.add(`key:${TOKEN}:model:gpt-x`, 0, 250_000_000);
    await tenancy.sync();
    const [row] = (await run(`SELECT spend, model_spend FROM "LiteLLM_VerificationToken" WHERE token = '${TOKEN}'`)) as { spend: number; model_spend: unknown }[];
    expect(Number(row?.spend)).toBeCloseTo(4.2, 9);
    const modelSpend = typeof row?.model_spend === 'string' ? (JSON.parse(row.model_spend) as unknown) : row?.model_spend;
    expect(modelSpend).toEqual({ 'gpt-x': 0.25 });
    const [team] = (await run(`SELECT spend FROM "LiteLLM_TeamTable" WHERE team_id = 'team-1'`)) as { spend: number }[];
    expect(Number(team?.spend)).toBeCloseTo(2.5, 9);

    // Direct writes by other tools show after a refresh, without a restart.
    await run(`UPDATE "LiteLLM_EndUserTable" SET blocked = ${t(true)} WHERE user_id = 'acme'`);
    await run(`INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, tpm_limit, created_by, updated_by) VALUES ('tier-2', 1.0, 99, 'ops', 'ops')`);
    await run(`UPDATE "LiteLLM_VerificationToken" SET budget_id = 'tier-2' WHERE token = '${TOKEN}'`);
    await run(`INSERT INTO "LiteLLM_EndUserTable" (user_id, spend) VALUES ('newco', 0.75)`);
    expect(tenancy.customers.get('acme')?.blocked).toBe(false);
    await tenancy.sync(true);
    expect(tenancy.customers.get('acme')?.blocked).toBe(true);
    expect(tenancy.budgets.get('tier-2')?.tpm_limit).toBe(99);
    expect(tenancy.keys.get(TOKEN)?.budget_id).toBe('tier-2');
    expect(await tenancy.spendOf('customer', 'newco', null)).toBe(750_000_000);
    // The key's counter was not re-seeded from its column (4.2 stays 4.2, not 7.4).
    expect(await tenancy.spendOf('key', TOKEN, null)).toBe(4_200_000_000);
  } finally {
    await tenancy.close();
  }
}

describe('a LiteLLM-made Postgres database (every LiteLLM migration.sql applied in order)', () => {
  let made: LiteLLMPostgres | undefined;
  afterAll(async () => {
    await made?.drop();
  });

  it('the fixture holds every upstream directory; each one not applied has its reason', () => {
    const dirs = fixtureDirectories();
    expect(dirs.length).toBeGreaterThanOrEqual(88);
    expect(dirs).toContain('20250326162113_baseline');
    expect(dirs).toContain('20260213105436_add_managed_vector_store_table');
    for (const skipped of Object.keys(SKIPPED_MIGRATIONS)) expect(dirs).toContain(skipped);
    const source = readFileSync(join(LITELLM_FIXTURE, 'SOURCE.md'), 'utf8');
    for (const dir of dirs) expect(source, dir).toContain(`| ${dir} |`);
  });

  it('is served as is: no existing column touched, the key with its settings and spend, spend written back, direct writes picked up', async () => {
    made = await createLiteLLMPostgres('a1b_fixture');
    const c = made.client;
    const run: Raw = async (text) => (await c.query(text)).rows as unknown[];
    await insertLiteLLMRows(run, (v) => String(v), (v) => `ARRAY[${v.map((x) => `'${x}'`).join(',')}]::TEXT[]`);
    const columns = async (): Promise<string[]> =>
      ((await c.query(`SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') AS d FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`)).rows as Record<string, string>[]).map(
        (r) => `${r.table_name}.${r.column_name} ${r.data_type} ${r.is_nullable} ${r.d}`,
      );
    const indexes = async (): Promise<string[]> =>
      ((await c.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)).rows as { indexdef: string }[]).map((r) => r.indexdef);
    const constraints = async (): Promise<string[]> =>
      ((await c.query(`SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1`)).rows as { d: string }[]).map((r) => r.d);
    const before = { columns: await columns(), indexes: await indexes(), constraints: await constraints() };
    // LiteLLM's newest schema, as its migrations leave it.
    expect(before.columns).toContain('LiteLLM_TeamTable.soft_budget double precision YES ');
    expect(before.columns).toContain('LiteLLM_VerificationToken.router_settings jsonb YES \'{}\'::jsonb');
    expect(before.columns).toContain('LiteLLM_DailyUserSpend.endpoint text YES ');

    const db = openDatabase(made.url, '/tmp');
    try {
      await db.migrate();
      const after = { columns: await columns(), indexes: await indexes(), constraints: await constraints() };
      // Every column, index and constraint LiteLLM made is there unchanged; Tollgate only added.
      expect(after.columns.filter((col) => before.columns.includes(col))).toEqual(before.columns);
      expect(after.indexes.filter((i) => before.indexes.includes(i))).toEqual(before.indexes);
      expect(after.constraints.filter((k) => before.constraints.includes(k))).toEqual(before.constraints);
      // What Tollgate added to LiteLLM's own tables: only columns newer than these migrations, all nullable or defaulted.
      const added = after.columns.filter((col) => col.startsWith('LiteLLM_') && !before.columns.includes(col));
      for (const col of added) expect(col, col).toMatch(/ YES |NO .+$/);
      await checkServed(db, run, (v) => String(v));
    } finally {
      await db.close();
    }
  });
});

describe('the same schema on SQLite, created by Tollgate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-litellm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the LiteLLM tables, serves LiteLLM-shaped rows, writes spend back and picks up direct writes', async () => {
    const db = openDatabase(join(dir, 'tollgate.db'), dir);
    try {
      await db.migrate();
      // The store's own connection, for writing rows as another tool would.
      const kysely = (db as unknown as { db: Kysely<unknown> }).db;
      const run: Raw = async (text) => (await sql.raw(text).execute(kysely)).rows;
      const tables = ((await run(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'LiteLLM_%' ORDER BY name`)) as { name: string }[]).map((r) => r.name);
      expect(tables).toEqual([
        'LiteLLM_BudgetTable',
        'LiteLLM_DailyAgentSpend',
        'LiteLLM_DailyEndUserSpend',
        'LiteLLM_DailyOrganizationSpend',
        'LiteLLM_DailyTagSpend',
        'LiteLLM_DailyTeamSpend',
        'LiteLLM_DailyUserSpend',
        'LiteLLM_EndUserTable',
        'LiteLLM_OrganizationMembership',
        'LiteLLM_OrganizationTable',
        'LiteLLM_ProxyModelTable',
        'LiteLLM_SpendLogs',
        'LiteLLM_TeamMembership',
        'LiteLLM_TeamTable',
        'LiteLLM_UserTable',
        'LiteLLM_VerificationToken',
      ]);
      await insertLiteLLMRows(run, (v) => (v ? '1' : '0'), (v) => `'${JSON.stringify(v)}'`);
      // SQLite keeps times as ISO text; LiteLLM's 'YYYY-MM-DD HH:MM:SS' form is read as UTC too.
      await checkServed(db, run, (v) => (v ? '1' : '0'));
    } finally {
      await db.close();
    }
  });
});
