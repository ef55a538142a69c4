/**
 * The store on every backend: migrations (fresh, repeated, concurrent, reopened), the spend log
 * round trip (LiteLLM_SpendLogs + tollgate_call_details), filters, and the grouped sums the spend endpoints are built on.
 */
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isPostgresUrl, openDatabase, sqlitePath } from '../../src/storage/database.js';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from './backends.js';
import { DAY, MAR10, makeRow } from './calls.js';

const K1 = '1'.repeat(64);
const K2 = '2'.repeat(64);

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`store on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let reopen: () => Database;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ db, reopen, cleanup } = await backend.open());
      await db.migrate();
    });
    afterEach(async () => {
      await cleanup();
    });

    it('migrations are idempotent: again on the same handle, on a reopened one, and concurrently', async () => {
      await db.migrate();
      const again = reopen();
      await Promise.all([again.migrate(), reopen().migrate()]);
      const row = makeRow();
      await again.spendLogs.insertMany([row]);
      expect(await db.spendLogs.query({ requestId: row.log.request_id })).toHaveLength(1);
    });

    it('round-trips the LiteLLM row and the details, keeping unknown token counts null and booleans booleans', async () => {
      const row = makeRow({ apiKey: K1, user: 'u', team: 't', endUser: 'e', tags: ['x'], nano: 5_000_000_000_000 });
      const unpriced = makeRow({ nano: null });
      await db.spendLogs.insertMany([row, unpriced]);
      expect(await db.spendLogs.query({ requestId: row.log.request_id })).toEqual([{ log: row.log, details: row.details }]);
      expect(await db.spendLogs.query({ requestId: unpriced.log.request_id })).toEqual([{ log: unpriced.log, details: unpriced.details }]);
      // $5000 in nano-USD: beyond 32 bits, exact in the details' BIGINT; USD in LiteLLM's column.
      expect(row.details.cost_nano_usd).toBe(5_000_000_000_000);
      expect(row.log.spend).toBe(5000);
    });

    it('skips a call already stored, so a retried batch cannot fail on itself', async () => {
      const a = makeRow();
      const b = makeRow();
      await db.spendLogs.insertMany([a]);
      await db.spendLogs.insertMany([a, b]);
      expect((await db.spendLogs.query({})).map((r) => r.log.request_id).sort()).toEqual([a.log.request_id, b.log.request_id].sort());
    });

    it('inserts a batch larger than one statement (chunked) atomically', async () => {
      const rows = Array.from({ length: 1203 }, (_, i) => makeRow({ start: MAR10 + i }));
      await db.spendLogs.insertMany(rows);
      expect(await db.spendLogs.query({})).toHaveLength(1203);
      const [total] = await db.spendLogs.report({ by: [] });
      expect(total?.requests).toBe(1203);
    });

    it('filters by request id, key hash, user, team, end user, session and a half-open time range; newest first; limit and offset', async () => {
      const rows = [
        makeRow({ start: MAR10 - 1, apiKey: K1, user: 'u1', team: 't1', endUser: 'c1' }),
        makeRow({ start: MAR10, apiKey: K1, user: 'u2', team: 't1' }),
        makeRow({ start: MAR10 + DAY - 1, apiKey: K2, user: 'u1', endUser: 'c1' }),
        makeRow({ start: MAR10 + DAY, apiKey: K2, user: 'u1', team: 't2' }),
      ];
      await db.spendLogs.insertMany(rows);
      const ids = async (f: Parameters<Database['spendLogs']['query']>[0]): Promise<string[]> =>
        (await db.spendLogs.query(f)).map((r) => r.log.request_id);
      const [r0, r1, r2, r3] = rows.map((r) => r.log.request_id);
      expect(await ids({})).toEqual([r3, r2, r1, r0]);
      expect(await ids({ requestId: r2 })).toEqual([r2]);
      expect(await ids({ apiKey: K1 })).toEqual([r1, r0]);
      expect(await ids({ userId: 'u1' })).toEqual([r3, r2, r0]);
      expect(await ids({ teamId: 't1' })).toEqual([r1, r0]);
      expect(await ids({ endUser: 'c1' })).toEqual([r2, r0]);
      expect(await ids({ sessionId: rows[1]!.log.session_id ?? '' })).toEqual([r1]);
      expect(await ids({ from: MAR10, to: MAR10 + DAY })).toEqual([r2, r1]);
      expect(await ids({ userId: 'u1', from: MAR10 })).toEqual([r3, r2]);
      expect(await ids({ limit: 2 })).toEqual([r3, r2]);
      expect(await ids({ limit: 2, offset: 1 })).toEqual([r2, r1]);
      expect(await ids({ requestId: 'nope' })).toEqual([]);
    });

    it('reports sums grouped by UTC day and any dimensions, counting unpriced requests apart', async () => {
      await db.spendLogs.insertMany([
        makeRow({ start: MAR10 + 10, team: 't1', nano: 1_500_000, uncached: 10, output: 1 }),
        makeRow({ start: MAR10 + DAY - 1, team: 't1', nano: 2_500_000, uncached: 20, output: 2 }),
        makeRow({ start: MAR10 + 20, team: 't1', nano: null, uncached: 5, output: 5 }),
        makeRow({ start: MAR10 + DAY, nano: 4_000_000_000_000, uncached: 1, output: 1 }),
        makeRow({ start: MAR10 - 1, team: 't1', nano: 7 }),
      ]);
      const report = await db.spendLogs.report({ from: MAR10, to: MAR10 + 2 * DAY, by: ['day', 'team_id'] });
      expect(report).toEqual([
        { keys: { day: '2025-03-10', team_id: 't1' }, requests: 3, spendUsd: 0.004, unpricedRequests: 1, promptTokens: 35, completionTokens: 8, totalTokens: 43 },
        // LiteLLM stores "no team" as "".
        { keys: { day: '2025-03-11', team_id: '' }, requests: 1, spendUsd: 4000, unpricedRequests: 0, promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      ]);
      const [all] = await db.spendLogs.report({ by: [] });
      expect(all).toMatchObject({ keys: {}, requests: 5, unpricedRequests: 1, promptTokens: 46, completionTokens: 14, totalTokens: 60 });
      expect(all?.spendUsd).toBeCloseTo(4000.004000007, 9);
    });

    it('reports "model" as the upstream model, falling back to the requested one when no deployment answered', async () => {
      await db.spendLogs.insertMany([makeRow({ model: 'real-1', group: 'alias' }), makeRow({ model: null, group: 'alias', nano: null })]);
      const report = await db.spendLogs.report({ by: ['model', 'model_group'] });
      expect(report.map((r) => [r.keys.model, r.keys.model_group, r.requests])).toEqual([
        ['alias', 'alias', 1],
        ['real-1', 'alias', 1],
      ]);
    });
  });
}

describe('openDatabase', () => {
  it('chooses Postgres only for postgres:// and postgresql:// URLs', () => {
    expect(isPostgresUrl('postgres://u@h/db')).toBe(true);
    expect(isPostgresUrl('postgresql://u@h/db')).toBe(true);
    expect(isPostgresUrl('./data/x.db')).toBe(false);
    expect(isPostgresUrl(undefined)).toBe(false);
    expect(sqlitePath(undefined, '/srv/data')).toBe('/srv/data/tollgate.db');
    expect(sqlitePath('sqlite:///var/t.db', '/d')).toBe('/var/t.db');
    expect(sqlitePath('file::memory:', '/d')).toBe(':memory:');
  });

  it('defaults to <dataDir>/tollgate.db, creating the directory, in WAL mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-default-'));
    const dataDir = join(dir, 'data');
    try {
      const db = openDatabase(undefined, dataDir);
      expect(db.dialect).toBe('sqlite');
      await db.migrate();
      await db.spendLogs.insertMany([makeRow()]);
      await db.close();
      const file = join(dataDir, 'tollgate.db');
      expect(existsSync(file)).toBe(true);
      const raw = new BetterSqlite3(file, { readonly: true });
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare('select count(*) as n from "LiteLLM_SpendLogs"').get()).toEqual({ n: 1 });
      expect(raw.prepare('select count(*) as n from tollgate_call_details').get()).toEqual({ n: 1 });
      const indexes = raw.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'tollgate_call_details' order by name").all();
      expect(indexes.map((i) => (i as { name: string }).name)).toEqual(
        expect.arrayContaining(['tollgate_call_details_request_id_idx', 'tollgate_call_details_litellm_call_id_idx', 'tollgate_call_details_start_time_idx']),
      );
      raw.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
