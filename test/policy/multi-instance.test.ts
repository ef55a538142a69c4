/**
 * Two gateway instances on one store (a SQLite file, and the real Postgres): admin writes and
 * spend on one become visible to the other after a refresh; spend survives a restart; a soft
 * budget crossed on both instances is still counted once. (`:memory:` is one database per
 * connection, so it cannot be shared and is left out.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from '../storage/backends.js';
import { bearer, callFor, clock, flatPrice, settled, stack, USD, type Stack } from './harness.js';

const TENTH = USD / 10;
const price = flatPrice(USD / 1000);

for (const backend of BACKENDS.filter((b) => b.name !== 'sqlite-memory')) {
  describe.skipIf(backend.skip !== undefined)(`two instances on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let dbA: Database;
    let dbB: Database;
    let reopen: () => Database;
    let cleanup: () => Promise<void>;
    let a: Stack;
    let b: Stack;
    const c = clock();

    beforeEach(async () => {
      ({ db: dbA, reopen, cleanup } = await backend.open());
      await dbA.migrate();
      dbB = reopen();
      a = await stack(dbA, { clock: c });
      b = await stack(dbB, { clock: c });
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      if (dbB !== dbA) await dbB.close().catch(() => undefined);
      await cleanup();
    });

    const admit = (s: Stack, key: string) => s.policy.admit({ principal: s.auth.authenticate(bearer(key)), requestedModel: 'gpt-4o', estimatedInputTokens: 50, maxOutputTokens: 50, priceNano: price });

    it('a key made on A authenticates on B after a refresh; a block on A takes effect on B', async () => {
      const { plaintext } = await a.keys.generate({ key_alias: 'shared' }, null);
      expect(() => b.auth.authenticate(bearer(plaintext))).toThrow(GatewayError);
      await b.tenancy.sync(true);
      expect(b.auth.authenticate(bearer(plaintext)).keyAlias).toBe('shared');
      await a.keys.setBlocked(plaintext, true, null);
      await b.tenancy.sync(true);
      expect(() => b.auth.authenticate(bearer(plaintext))).toThrow(/blocked/);
      await a.keys.delete([plaintext], []);
      await b.tenancy.sync(true);
      expect(() => b.auth.authenticate(bearer(plaintext))).toThrow(/Invalid proxy server token/);
    });

    it('spend settled on A counts on B after A flushes and B refreshes', async () => {
      const { plaintext, record } = await a.keys.generate({ max_budget_nano: 2 * TENTH }, null);
      await b.tenancy.sync(true);
      for (const s of [a, b]) {
        const adm = await admit(s, plaintext);
        s.policy.settle(adm, callFor(adm, TENTH));
      }
      await settled();
      await a.tenancy.sync();
      await b.tenancy.sync(true);
      expect(await b.tenancy.spendOf('key', record.token, null)).toBe(2 * TENTH);
      await expect(admit(b, plaintext)).rejects.toMatchObject({ code: 'budget_exceeded' });
      await a.tenancy.sync(true);
      await expect(admit(a, plaintext)).rejects.toMatchObject({ code: 'budget_exceeded' });
    });

    it('spend survives a restart', async () => {
      const { plaintext, record } = await a.keys.generate({ max_budget_nano: TENTH, budget_duration: '1mo' }, null);
      const adm = await admit(a, plaintext);
      a.policy.settle(adm, callFor(adm, TENTH));
      await settled();
      await a.close();
      a = await stack(dbA, { clock: c });
      expect(await a.tenancy.spendOf('key', record.token, '1mo')).toBe(TENTH);
      await expect(admit(a, plaintext)).rejects.toMatchObject({ code: 'budget_exceeded' });
    });

    it('a soft budget crossed on both instances is counted once', async () => {
      const { plaintext } = await a.keys.generate({ soft_budget_nano: TENTH / 2 }, null);
      await b.tenancy.sync(true);
      for (const s of [a, b]) {
        const adm = await admit(s, plaintext);
        s.policy.settle(adm, callFor(adm, TENTH));
      }
      await settled();
      await a.tenancy.sync();
      await b.tenancy.sync();
      expect(a.tenancy.softBudgetAlerts + b.tenancy.softBudgetAlerts).toBe(1);
    });
  });
}
