/**
 * The store on every backend: migrations (fresh, repeated, concurrent, reopened), the spend_logs
 * round trip with every column, filters, and the grouped sums the spend endpoints are built on.
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
      expect(await db.spendLogs.query({ requestId: row.request_id })).toHaveLength(1);
    });

    it('round-trips every column, keeping unknown token counts as null and booleans as booleans', async () => {
      const row = makeRow({
        call_type: 'anthropic_messages',
        surface: 'anthropic-messages',
        api_key: 'a'.repeat(64),
        key_alias: 'alias',
        user_id: 'u',
        team_id: 't',
        end_user: 'e',
        api_base: 'https://x',
        retries: 2,
        fallbacks: 1,
        stream: true,
        status_code: 529,
        outcome: 'failure',
        error_class: 'overloaded',
        error_message: 'Overloaded',
        input_uncached_tokens: 0,
        cache_read_tokens: 1802,
        cache_write_5m_tokens: 7,
        cache_write_1h_tokens: 8,
        cache_write_unknown_ttl_tokens: 9,
        output_tokens: 3,
        reasoning_tokens: null,
        prompt_tokens: 1826,
        completion_tokens: 3,
        total_tokens: 1829,
        // $5000 in nano-USD: beyond 32 bits, exact in a BIGINT.
        cost_nano_usd: 5_000_000_000_000,
        ttft_ms: 99,
        user_agent: 'ua',
        metadata: '{"a":1}',
        tags: '["x"]',
        client_disconnected: true,
      });
      const unpriced = makeRow({ cost_nano_usd: null });
      await db.spendLogs.insertMany([row, unpriced]);
      expect(await db.spendLogs.query({ requestId: row.request_id })).toEqual([row]);
      expect(await db.spendLogs.query({ requestId: unpriced.request_id })).toEqual([unpriced]);
    });

    it('skips a row whose request_id is already stored, so a retried batch cannot fail on itself', async () => {
      const a = makeRow();
      const b = makeRow();
      await db.spendLogs.insertMany([a]);
      await db.spendLogs.insertMany([a, b]);
      expect((await db.spendLogs.query({})).map((r) => r.request_id).sort()).toEqual([a.request_id, b.request_id].sort());
    });

    it('inserts a batch larger than one statement (chunked) atomically', async () => {
      const rows = Array.from({ length: 1203 }, (_, i) => makeRow({ start_time: MAR10 + i }));
      await db.spendLogs.insertMany(rows);
      expect(await db.spendLogs.query({})).toHaveLength(1203);
    });

    it('filters by request id, key hash, user, team, end user and a half-open time range; newest first; limit', async () => {
      const rows = [
        makeRow({ start_time: MAR10 - 1, api_key: 'k1', user_id: 'u1', team_id: 't1', end_user: 'c1' }),
        makeRow({ start_time: MAR10, api_key: 'k1', user_id: 'u2', team_id: 't1' }),
        makeRow({ start_time: MAR10 + DAY - 1, api_key: 'k2', user_id: 'u1', end_user: 'c1' }),
        makeRow({ start_time: MAR10 + DAY, api_key: 'k2', user_id: 'u1', team_id: 't2' }),
      ];
      await db.spendLogs.insertMany(rows);
      const ids = async (f: Parameters<Database['spendLogs']['query']>[0]): Promise<string[]> =>
        (await db.spendLogs.query(f)).map((r) => r.request_id);
      const [r0, r1, r2, r3] = rows.map((r) => r.request_id);
      expect(await ids({})).toEqual([r3, r2, r1, r0]);
      expect(await ids({ requestId: r2 })).toEqual([r2]);
      expect(await ids({ apiKey: 'k1' })).toEqual([r1, r0]);
      expect(await ids({ userId: 'u1' })).toEqual([r3, r2, r0]);
      expect(await ids({ teamId: 't1' })).toEqual([r1, r0]);
      expect(await ids({ endUser: 'c1' })).toEqual([r2, r0]);
      expect(await ids({ from: MAR10, to: MAR10 + DAY })).toEqual([r2, r1]);
      expect(await ids({ userId: 'u1', from: MAR10 })).toEqual([r3, r2]);
      expect(await ids({ limit: 2 })).toEqual([r3, r2]);
      expect(await ids({ requestId: 'nope' })).toEqual([]);
    });

    it('reports sums grouped by UTC day and any dimensions, counting unpriced requests apart', async () => {
      await db.spendLogs.insertMany([
        makeRow({ start_time: MAR10 + 10, team_id: 't1', cost_nano_usd: 1_500, prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 }),
        makeRow({ start_time: MAR10 + DAY - 1, team_id: 't1', cost_nano_usd: 2_500, prompt_tokens: 20, completion_tokens: 2, total_tokens: 22 }),
        makeRow({ start_time: MAR10 + 20, team_id: 't1', cost_nano_usd: null, prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 }),
        makeRow({ start_time: MAR10 + DAY, team_id: null, cost_nano_usd: 4_000_000_000_000, prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }),
        makeRow({ start_time: MAR10 - 1, team_id: 't1', cost_nano_usd: 7 }),
      ]);
      const report = await db.spendLogs.report({ from: MAR10, to: MAR10 + 2 * DAY, by: ['day', 'team_id'] });
      expect(report).toEqual([
        { keys: { day: '2025-03-10', team_id: 't1' }, requests: 3, costNanoUsd: 4_000, unpricedRequests: 1, promptTokens: 35, completionTokens: 8, totalTokens: 43 },
        { keys: { day: '2025-03-11', team_id: null }, requests: 1, costNanoUsd: 4_000_000_000_000, unpricedRequests: 0, promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      ]);
      const all = await db.spendLogs.report({ by: [] });
      expect(all).toEqual([
        { keys: {}, requests: 5, costNanoUsd: 4_000_000_004_007, unpricedRequests: 1, promptTokens: 46, completionTokens: 14, totalTokens: 60 },
      ]);
    });

    it('reports "model" as the upstream model, falling back to the requested one when no deployment answered', async () => {
      await db.spendLogs.insertMany([
        makeRow({ requested_model: 'alias', upstream_model: 'real-1', model_group: 'alias' }),
        makeRow({ requested_model: 'alias', upstream_model: null, model_group: null, cost_nano_usd: null }),
      ]);
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
      expect(raw.prepare('select count(*) as n from spend_logs').get()).toEqual({ n: 1 });
      const indexes = raw.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'spend_logs' order by name").all();
      expect(indexes.map((i) => (i as { name: string }).name)).toEqual(
        expect.arrayContaining(['spend_logs_api_key_idx', 'spend_logs_start_time_idx', 'spend_logs_team_id_idx', 'spend_logs_user_id_idx']),
      );
      raw.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
