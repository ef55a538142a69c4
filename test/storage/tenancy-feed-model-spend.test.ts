/**
 * LiteLLM's `model_spend` column through the tenancy change feed, on every backend: each model's
 * total is listed as the spend of `<scope>:model:<model>` (keys, users, teams, organizations), an
 * outside UPDATE of the column lists the new totals at the next read, a model that vanished from
 * it reads 0, and a deleted row's model scopes are gone with it.
 */
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/ports.js';
import type { EntitySpend } from '../../src/storage/tenancy-ports.js';
import { BACKENDS } from './backends.js';

const TOKEN = 'a'.repeat(64);
const raw = (db: Database): Kysely<unknown> => (db as unknown as { db: Kysely<unknown> }).db;
const modelScopes = (spend: readonly EntitySpend[]): EntitySpend[] => spend.filter((e) => e.scope.includes(':model:')).sort((a, b) => a.scope.localeCompare(b.scope));

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`model_spend in the change feed on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    const run = async (text: string): Promise<void> => {
      await sql.raw(text).execute(raw(db));
    };

    beforeEach(async () => {
      ({ db, cleanup } = await backend.open());
      await db.migrate();
      // Rows as LiteLLM writes them: model_spend in USD per model.
      await run(`INSERT INTO "LiteLLM_VerificationToken" (token, spend, model_spend) VALUES ('${TOKEN}', 3.5, '{"gpt-x": 1.25, "gpt-y": 0.5}')`);
      await run(`INSERT INTO "LiteLLM_TeamTable" (team_id, spend, model_spend) VALUES ('team-1', 2, '{"gpt-x": 2}')`);
      await run(`INSERT INTO "LiteLLM_UserTable" (user_id, spend) VALUES ('user-1', 0)`);
    });
    afterEach(async () => {
      await cleanup();
    });

    it('the first read lists every model total', async () => {
      const first = await db.tenancy.changeFeed().next();
      expect(modelScopes(first.entitySpend)).toEqual([
        { scope: `key:${TOKEN}:model:gpt-x`, spend_nano: 1_250_000_000, budget_reset_at: null },
        { scope: `key:${TOKEN}:model:gpt-y`, spend_nano: 500_000_000, budget_reset_at: null },
        { scope: 'team:team-1:model:gpt-x', spend_nano: 2_000_000_000, budget_reset_at: null },
      ]);
    });

    it("another tool's UPDATE of model_spend: the new totals, 0 for a model no longer there", async () => {
      const feed = db.tenancy.changeFeed();
      await feed.next();
      await run(`UPDATE "LiteLLM_VerificationToken" SET model_spend = '{"gpt-x": 4}' WHERE token = '${TOKEN}'`);
      await run(`UPDATE "LiteLLM_UserTable" SET model_spend = '{"gpt-z": 0.75}' WHERE user_id = 'user-1'`);
      const c = await feed.next();
      expect(modelScopes(c.entitySpend)).toEqual([
        { scope: `key:${TOKEN}:model:gpt-x`, spend_nano: 4_000_000_000, budget_reset_at: null },
        { scope: `key:${TOKEN}:model:gpt-y`, spend_nano: 0, budget_reset_at: null },
        { scope: 'user:user-1:model:gpt-z', spend_nano: 750_000_000, budget_reset_at: null },
      ]);
      // A reset of the whole column (LiteLLM's budget reset) reads 0 for each model it had.
      await run(`UPDATE "LiteLLM_VerificationToken" SET model_spend = '{}' WHERE token = '${TOKEN}'`);
      expect(modelScopes((await feed.next()).entitySpend)).toEqual([{ scope: `key:${TOKEN}:model:gpt-x`, spend_nano: 0, budget_reset_at: null }]);
      // Nothing listed again once it is read.
      expect((await feed.next()).entitySpend).toEqual([]);
    });

    it("a deleted row's model scopes are gone with it", async () => {
      const feed = db.tenancy.changeFeed();
      await feed.next();
      await run(`DELETE FROM "LiteLLM_TeamTable" WHERE team_id = 'team-1'`);
      expect((await feed.next()).spendGone.sort()).toEqual(['team:team-1', 'team:team-1:model:gpt-x']);
    });
  });
}
