/**
 * A budget-counter flush whose commit happened but whose answer was lost (the connection dropped
 * after COMMIT) is retried as the same batch, and the store applies it once: the spend in the
 * store is exactly the settled spend, never doubled — on every backend. Spend settled while the
 * outcome was unknown follows in a batch of its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from '../storage/backends.js';
import { bearer, callFor, flatPrice, settled, stack, USD, type Stack } from './harness.js';

describe.each(BACKENDS.filter((b) => b.skip === undefined))('a flush retried after a lost commit answer ($name)', (backend) => {
  let s: Stack;
  let db: Database;
  let cleanup: () => Promise<void>;
  afterEach(async () => {
    await s.close();
    await cleanup();
  });

  it('counts the batch once, and what was settled meanwhile too', async () => {
    const opened = await backend.open();
    db = opened.db;
    cleanup = opened.cleanup;
    await db.migrate();
    s = await stack(db);
    const budgets = db.tenancy.budgets;
    const realAdd = budgets.add.bind(budgets);
    let loseNextAnswer = true;
    // The write commits, then the caller hears an error: exactly what a dropped connection does.
    budgets.add = async (deltas, at, batchId) => {
      const totals = await realAdd(deltas, at, batchId);
      if (loseNextAnswer) {
        loseNextAnswer = false;
        throw new Error('connection terminated after COMMIT');
      }
      return totals;
    };
    const { plaintext, record } = await s.keys.generate({}, null);
    const spend = async (nano: number): Promise<void> => {
      const a = await s.policy.admit({ principal: s.auth.authenticate(bearer(plaintext)), requestedModel: 'gpt-4o', estimatedInputTokens: 10, maxOutputTokens: 10, priceNano: flatPrice(0) });
      s.policy.settle(a, callFor(a, nano));
      await settled();
    };
    const stored = async (): Promise<number> => (await budgets.current(s.clock.now())).filter((r) => r.scope === `key:${record.token}`).reduce((sum, r) => sum + r.spend_nano, 0);

    await spend(3 * USD);
    await s.tenancy.sync();
    expect(s.logs.some((l) => l.level === 'error' && l.msg.includes('store sync failed'))).toBe(true);
    expect(await stored()).toBe(3 * USD);
    await spend(2 * USD);
    await s.tenancy.sync();
    expect(await stored()).toBe(5 * USD);
    // Nothing left to write, and the ledger agrees.
    expect(s.tenancy.ledger.size).toBe(0);
    expect(await s.tenancy.spendOf('key', record.token, null)).toBe(5 * USD);
  });
});
