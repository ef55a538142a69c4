/**
 * The incremental refresh and this instance's own writes, on every backend: a record written here
 * while a refresh reads keeps the local copy for that refresh, and is read again on the next one,
 * so a write another tool made meanwhile is not hidden behind it for good; a refresh with nothing
 * changed leaves every record object as it was (nothing re-read, nothing re-decoded).
 */
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tenancy } from '../../src/policy/tenancy.js';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';
import type { Database } from '../../src/storage/ports.js';
import type { KeyRecord, RecordKind, TenancyChanges } from '../../src/storage/tenancy-ports.js';
import { BACKENDS } from '../storage/backends.js';

const NOW = Date.UTC(2025, 2, 10, 12);
const T = (n: number): string => n.toString(16).padStart(64, '0');

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

const raw = (db: Database): Kysely<unknown> => (db as unknown as { db: Kysely<unknown> }).db;

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`incremental tenancy refresh on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let tenancy: Tenancy;
    let state: MemorySharedState;
    /** Runs once, inside the next refresh, just before the store is read. */
    let duringRead: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ db, cleanup } = await backend.open());
      await db.migrate();
      for (let i = 1; i <= 3; i++) await db.tenancy.keys.insert(key(T(i), { key_alias: `k${i}` }));
      const real = db.tenancy.changeFeed();
      const feed = {
        next: async (recheck?: readonly { kind: RecordKind; id: string }[]): Promise<TenancyChanges> => {
          const hook = duringRead;
          duringRead = undefined;
          if (hook !== undefined) await hook();
          return real.next(recheck);
        },
      };
      const stores = new Proxy(db.tenancy, { get: (target, prop, receiver) => (prop === 'changeFeed' ? () => feed : Reflect.get(target, prop, receiver) as unknown) });
      state = new MemorySharedState({ now: () => NOW });
      tenancy = new Tenancy(stores, state, { now: () => NOW, refreshIntervalMs: 1e9, flushIntervalMs: 1e9 });
      await tenancy.start();
    });
    afterEach(async () => {
      await tenancy.close();
      await state.close();
      await cleanup();
    });

    it('an own write during the read wins that refresh; the next one reads the record again', async () => {
      duringRead = async () => {
        const mine = key(T(1), { key_alias: 'mine', updated_at: NOW + 1 });
        await db.tenancy.keys.update(mine);
        tenancy.putKey(mine);
        // Another tool, right after: a direct UPDATE that leaves updated_at alone.
        await sql`update ${sql.table('LiteLLM_VerificationToken')} set key_alias = 'theirs' where token = ${T(1)}`.execute(raw(db));
      };
      await tenancy.sync(true);
      expect(tenancy.keys.get(T(1))?.key_alias).toBe('mine');
      await tenancy.sync(true);
      expect(tenancy.keys.get(T(1))?.key_alias).toBe('theirs');
    });

    it('nothing changed: every cached record is the same object; one changed row: only that one is new', async () => {
      const before = new Map(tenancy.keys);
      await tenancy.sync(true);
      expect([...tenancy.keys].every(([id, k]) => before.get(id) === k)).toBe(true);
      await sql`update ${sql.table('LiteLLM_VerificationToken')} set blocked = ${db.dialect === 'sqlite' ? 1 : true} where token = ${T(2)}`.execute(raw(db));
      await tenancy.sync(true);
      const replaced = [...tenancy.keys].filter(([id, k]) => before.get(id) !== k).map(([id]) => id);
      expect(replaced).toEqual([T(2)]);
      expect(tenancy.keys.get(T(2))?.blocked).toBe(true);
    });
  });
}
