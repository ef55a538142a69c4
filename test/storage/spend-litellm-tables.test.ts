/**
 * Spend lands where LiteLLM's UI and reports read it, on SQLite and Postgres, checked with raw SQL
 * against the tables themselves: one call → one `LiteLLM_SpendLogs` row with LiteLLM's column
 * values (worked out by hand below from the usage and the price), Tollgate's exact detail beside it,
 * LiteLLM's daily tables summed across calls, models and days, a retried batch never counted twice,
 * a client-reused request id kept, and rows LiteLLM itself wrote read and added to alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spendLogRow } from '../../src/accounting/spend-writer.js';
import { costFromTable, type PriceTable } from '../../src/accounting/pricing.js';
import { hashKey } from '../../src/policy/auth.js';
import { openDatabase } from '../../src/storage/database.js';
import type { Database, SpendLogRow } from '../../src/storage/ports.js';
import { BACKENDS, POSTGRES_URL } from './backends.js';
import { makeCall, uniqueId } from './calls.js';

type Raw = (query: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

interface Opened {
  db: Database;
  raw: Raw;
  dialect: 'sqlite' | 'postgres';
  close: () => Promise<void>;
}

const pgSkip = BACKENDS.find((b) => b.name === 'postgres')?.skip;

async function openSqlite(): Promise<Opened> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-spend-'));
  const path = join(dir, 'tollgate.db');
  const db = openDatabase(path, dir);
  await db.migrate();
  const conn = new BetterSqlite3(path);
  return {
    db,
    dialect: 'sqlite',
    raw: (q, params = []) => {
      const stmt = conn.prepare(q.replace(/\$(\d+)/g, '?$1'));
      // ?N parameters take an object keyed by their numbers.
      const args = params.length === 0 ? [] : [Object.fromEntries(params.map((v, i) => [i + 1, v]))];
      if (!stmt.reader) {
        stmt.run(...args);
        return Promise.resolve([]);
      }
      return Promise.resolve(stmt.all(...args) as Record<string, unknown>[]);
    },
    close: async () => {
      conn.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(): Promise<Opened> {
  const schema = `tg_spend_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const url = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const db = openDatabase(url, tmpdir());
  await db.migrate();
  const conn = new pg.Client({ connectionString: url });
  await conn.connect();
  // Read timestamps as the text the column holds, so the test sees exactly what is stored.
  conn.setTypeParser(1114, (v: string) => v);
  conn.setTypeParser(20, (v: string) => Number(v));
  return {
    db,
    dialect: 'postgres',
    raw: async (q, params = []) => (await conn.query(q, params)).rows as Record<string, unknown>[],
    close: async () => {
      await conn.end();
      await db.close();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

const KEY = 'sk-litellm-migrated-key-0001';
const KEY_HASH = hashKey(KEY);
/** $/token: Claude Sonnet's published rates, given by hand so the expected cost is worked out here. */
const TABLE: PriceTable = {
  base: { input: 3e-6, output: 15e-6, cacheRead: 0.3e-6, cacheWrite5m: 3.75e-6, cacheWrite1h: 6e-6 },
  tiers: [],
  source: 'config',
  model: 'claude-sonnet-4-5',
};
const T0 = Date.UTC(2025, 2, 10, 8, 30, 0, 123);

const backends: { name: string; skip: string | undefined; open: () => Promise<Opened> }[] = [
  { name: 'sqlite', skip: undefined, open: openSqlite },
  { name: 'postgres', skip: pgSkip, open: openPostgres },
];

/** Parsed JSON whether the driver gave JSONB (object) or TEXT. */
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
/** A stored DateTime as ISO-8601 UTC, whichever encoding the dialect uses. */
const iso = (v: unknown): string => new Date(String(v).includes('T') ? String(v) : `${String(v).replace(' ', 'T')}Z`).toISOString();

for (const backend of backends) {
  describe.skipIf(backend.skip !== undefined)(`spend in LiteLLM's tables on ${backend.name}`, () => {
    let o: Opened;
    beforeEach(async () => {
      o = await backend.open();
    });
    afterEach(async () => {
      await o.close();
    });

    it('one call is one LiteLLM_SpendLogs row with the values LiteLLM writes, and its exact detail beside it', async () => {
      const usage = { inputUncached: 100, cacheRead: 1000, cacheWrite5m: 200, cacheWrite1h: 50, output: 40, reasoning: undefined };
      const cost = costFromTable(usage, TABLE);
      // 100×3 + 1000×0.30 + 200×3.75 + 50×6 + 40×15 = 2250 $/Mtok-units → $0.00225.
      expect(cost.nanoUsd).toBe(2_250_000);
      const call = makeCall({
        requestId: 'chatcmpl-fixture-1',
        startedAt: T0,
        endedAt: T0 + 1500,
        durationMs: 1500,
        timeToFirstTokenMs: 320,
        upstreamMs: 1450,
        principal: { isMaster: false, keyHash: KEY_HASH, keyAlias: 'migrated', userId: 'alice', teamId: 'team-a', endUser: 'cust-1' },
        usage,
        costNanoUsd: cost.nanoUsd,
        metadata: { tags: ['prod', 'batch'], spend_logs_metadata: { ticket: 'T-9' }, litellm_session_id: 'sess-1' },
      });
      await o.db.spendLogs.insertMany([spendLogRow(call, { teamAlias: 'Team A', organizationId: 'org-1' })]);

      const rows = await o.raw('select * from "LiteLLM_SpendLogs"');
      expect(rows).toHaveLength(1);
      const r = rows[0]!;
      expect({ ...r, startTime: iso(r.startTime), endTime: iso(r.endTime), completionStartTime: iso(r.completionStartTime), metadata: undefined, request_tags: undefined, messages: undefined, response: undefined, proxy_server_request: undefined }).toEqual({
        request_id: 'chatcmpl-fixture-1',
        call_type: 'anthropic_messages',
        api_key: KEY_HASH,
        spend: 0.00225,
        total_tokens: 1390,
        prompt_tokens: 1350,
        completion_tokens: 40,
        startTime: '2025-03-10T08:30:00.123Z',
        endTime: '2025-03-10T08:30:01.623Z',
        request_duration_ms: 1500,
        completionStartTime: '2025-03-10T08:30:00.443Z',
        model: 'claude-sonnet-4-5',
        model_id: 'dep-1',
        model_group: 'claude-sonnet',
        custom_llm_provider: 'anthropic',
        api_base: 'https://api.anthropic.com',
        user: 'alice',
        metadata: undefined,
        cache_hit: 'False',
        cache_key: 'Cache OFF',
        request_tags: undefined,
        team_id: 'team-a',
        organization_id: 'org-1',
        end_user: 'cust-1',
        requester_ip_address: null,
        messages: undefined,
        response: undefined,
        session_id: 'sess-1',
        status: 'success',
        mcp_namespaced_tool_name: null,
        agent_id: null,
        proxy_server_request: undefined,
      });
      expect(json(r.request_tags)).toEqual(['prod', 'batch']);
      expect(json(r.messages)).toEqual({});
      expect(json(r.response)).toEqual({});
      expect(json(r.metadata)).toMatchObject({
        user_api_key: KEY_HASH,
        user_api_key_alias: 'migrated',
        user_api_key_team_id: 'team-a',
        user_api_key_team_alias: 'Team A',
        user_api_key_org_id: 'org-1',
        user_api_key_user_id: 'alice',
        spend_logs_metadata: { ticket: 'T-9' },
        status: 'success',
        error_information: null,
        litellm_overhead_time_ms: 50,
        usage_object: {
          prompt_tokens: 1350,
          completion_tokens: 40,
          total_tokens: 1390,
          cache_read_input_tokens: 1000,
          cache_creation_input_tokens: 250,
          prompt_tokens_details: { cached_tokens: 1000, cache_creation_tokens: 250, cache_creation_token_details: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 50 } },
        },
      });

      const [d] = await o.raw('select * from tollgate_call_details');
      expect(d).toMatchObject({
        call_id: call.callId,
        request_id: 'chatcmpl-fixture-1',
        input_uncached_tokens: 100,
        cache_read_tokens: 1000,
        cache_write_5m_tokens: 200,
        cache_write_1h_tokens: 50,
        cache_write_unknown_ttl_tokens: null,
        output_tokens: 40,
        reasoning_tokens: null,
        cost_nano_usd: 2_250_000,
        ttft_ms: 320,
        retries: 0,
        fallbacks: 0,
        outcome: 'success',
      });
    });

    it('adds each batch to the daily tables: per entity, UTC day, key, model and provider, with success and failure counts', async () => {
      const D1 = Date.UTC(2025, 2, 10, 23, 59, 59, 999);
      const D2 = Date.UTC(2025, 2, 11, 0, 0, 0, 0);
      const call = (start: number, model: string, nano: number | null, extra: Parameters<typeof makeCall>[0] = {}): SpendLogRow =>
        spendLogRow(
          makeCall({
            startedAt: start,
            endedAt: start + 10,
            deployment: { id: `dep-${model}`, modelGroup: 'g', provider: 'anthropic', model },
            upstreamModel: model,
            modelGroup: 'g',
            usage: { inputUncached: 10, cacheRead: 100, cacheWrite5m: 4, output: 2 },
            costNanoUsd: nano,
            principal: { isMaster: false, keyHash: KEY_HASH, userId: 'alice', teamId: 'team-a', endUser: 'cust-1' },
            metadata: { tags: ['prod'] },
            ...extra,
          }),
          { organizationId: 'org-1' },
        );
      // prompt = 10 + 100 + 4 = 114 per call, completion 2, cache read 100, cache creation 4.
      await o.db.spendLogs.insertMany([call(D1, 'm1', 1_000_000), call(D1 - 1000, 'm1', 2_000_000), call(D1, 'm2', 500_000)]);
      await o.db.spendLogs.insertMany([
        call(D2, 'm1', 4_000_000),
        call(D2 + 5, 'm1', null, { outcome: 'failure', httpStatus: 500, error: { code: 'upstream_error', message: 'boom' }, principal: { isMaster: false, keyHash: KEY_HASH, userId: 'alice' }, metadata: undefined }),
      ]);
      const users = await o.raw(
        'select user_id, date, api_key, model, model_group, custom_llm_provider, mcp_namespaced_tool_name, endpoint, prompt_tokens, completion_tokens, cache_read_input_tokens, cache_creation_input_tokens, spend, api_requests, successful_requests, failed_requests from "LiteLLM_DailyUserSpend" order by date, model',
      );
      const n = (rows: Record<string, unknown>[]) =>
        rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) && k !== 'date' && k !== 'api_key' ? Number(v) : v])));
      const base = { user_id: 'alice', api_key: KEY_HASH, model_group: 'g', custom_llm_provider: 'anthropic', mcp_namespaced_tool_name: '', endpoint: '/v1/messages' };
      expect(n(users)).toEqual([
        { ...base, date: '2025-03-10', model: 'm1', prompt_tokens: 228, completion_tokens: 4, cache_read_input_tokens: 200, cache_creation_input_tokens: 8, spend: 0.003, api_requests: 2, successful_requests: 2, failed_requests: 0 },
        { ...base, date: '2025-03-10', model: 'm2', prompt_tokens: 114, completion_tokens: 2, cache_read_input_tokens: 100, cache_creation_input_tokens: 4, spend: 0.0005, api_requests: 1, successful_requests: 1, failed_requests: 0 },
        { ...base, date: '2025-03-11', model: 'm1', prompt_tokens: 228, completion_tokens: 4, cache_read_input_tokens: 200, cache_creation_input_tokens: 8, spend: 0.004, api_requests: 2, successful_requests: 1, failed_requests: 1 },
      ]);
      // The failed call had no team, end user or tags: it counts only for the user (and the org it was given).
      const team = n(await o.raw('select team_id, date, model, spend, api_requests, failed_requests from "LiteLLM_DailyTeamSpend" order by date, model'));
      expect(team).toEqual([
        { team_id: 'team-a', date: '2025-03-10', model: 'm1', spend: 0.003, api_requests: 2, failed_requests: 0 },
        { team_id: 'team-a', date: '2025-03-10', model: 'm2', spend: 0.0005, api_requests: 1, failed_requests: 0 },
        { team_id: 'team-a', date: '2025-03-11', model: 'm1', spend: 0.004, api_requests: 1, failed_requests: 0 },
      ]);
      const tags = n(await o.raw('select tag, date, model, api_requests, request_id from "LiteLLM_DailyTagSpend" order by date, model'));
      expect(tags.map(({ request_id, ...t }) => ({ ...t, has_request: typeof request_id === 'string' }))).toEqual([
        { tag: 'prod', date: '2025-03-10', model: 'm1', api_requests: 2, has_request: true },
        { tag: 'prod', date: '2025-03-10', model: 'm2', api_requests: 1, has_request: true },
        { tag: 'prod', date: '2025-03-11', model: 'm1', api_requests: 1, has_request: true },
      ]);
      expect(n(await o.raw('select end_user_id, count(*) as c, sum(api_requests) as r from "LiteLLM_DailyEndUserSpend" group by end_user_id'))).toEqual([{ end_user_id: 'cust-1', c: 3, r: 4 }]);
      expect(n(await o.raw('select organization_id, sum(api_requests) as r from "LiteLLM_DailyOrganizationSpend" group by organization_id'))).toEqual([{ organization_id: 'org-1', r: 5 }]);
      // Every daily row has LiteLLM's client-side id and updated_at.
      for (const t of ['User', 'Team', 'Tag', 'EndUser', 'Organization']) {
        expect(await o.raw(`select id from "LiteLLM_Daily${t}Spend" where id is null or updated_at is null`)).toEqual([]);
      }
      // The store reads them back for /…/daily/activity.
      const daily = await o.db.spendLogs.daily({ entity: 'user', startDate: '2025-03-11', endDate: '2025-03-11' });
      expect(daily.map((r) => [r.entity_id, r.model, r.api_requests, r.failed_requests])).toEqual([['alice', 'm1', 2, 1]]);
    });

    it('a retried batch (its acknowledgement lost) counts nothing twice; a mixed retry adds only the new call', async () => {
      const a = spendLogRow(makeCall({ costNanoUsd: 1_000_000_000 }));
      const b = spendLogRow(makeCall({ costNanoUsd: 2_000_000_000 }));
      await o.db.spendLogs.insertMany([a]);
      await o.db.spendLogs.insertMany([a]);
      await o.db.spendLogs.insertMany([a, b]);
      expect(await o.raw('select count(*) as c from "LiteLLM_SpendLogs"')).toEqual([{ c: 2 }]);
      expect(await o.raw('select count(*) as c from tollgate_call_details')).toEqual([{ c: 2 }]);
      const [user] = await o.raw('select spend, api_requests from "LiteLLM_DailyUserSpend"');
      expect(Number(user!.spend)).toBe(3);
      expect(Number(user!.api_requests)).toBe(2);
    });

    it('a request id a client sent twice keeps both calls: the later row is keyed by its call id', async () => {
      const first = spendLogRow(makeCall({ requestId: 'client-chosen-id', costNanoUsd: 1_000_000 }));
      const second = spendLogRow(makeCall({ requestId: 'client-chosen-id', costNanoUsd: 2_000_000 }));
      const third = spendLogRow(makeCall({ requestId: 'client-chosen-id', costNanoUsd: 4_000_000 }));
      await o.db.spendLogs.insertMany([first]);
      await o.db.spendLogs.insertMany([second, third]);
      const ids = (await o.raw('select request_id from "LiteLLM_SpendLogs" order by spend')).map((r) => r.request_id);
      expect(ids).toEqual(['client-chosen-id', second.details.call_id, third.details.call_id]);
      const [user] = await o.raw('select spend, api_requests from "LiteLLM_DailyUserSpend"');
      expect(Number(user!.spend)).toBeCloseTo(0.007, 12);
      expect(Number(user!.api_requests)).toBe(3);
      // Looking the id up finds every call the client sent under it.
      expect((await o.db.spendLogs.query({ requestId: 'client-chosen-id' })).map((r) => r.details?.call_id).sort()).toEqual(
        [first.details.call_id, second.details.call_id, third.details.call_id].sort(),
      );
    });

    it('reads and adds to rows LiteLLM itself wrote (no Tollgate details; NULL where LiteLLM left NULL)', async () => {
      const start = o.dialect === 'sqlite' ? '2025-03-10T09:00:00.000Z' : '2025-03-10 09:00:00';
      await o.raw(
        `insert into "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, "startTime", "endTime", model, "user", metadata, request_tags, team_id, end_user, status)
         values ('litellm-row-1', 'acompletion', $1, 0.5, 30, 20, 10, $2, $2, 'gpt-4o', 'alice', '{"user_api_key_alias":"old"}', '["legacy"]', 'team-a', '', 'success')`,
        [KEY_HASH, start],
      );
      await o.raw(
        `insert into "LiteLLM_DailyUserSpend" (id, user_id, date, api_key, model, custom_llm_provider, mcp_namespaced_tool_name, endpoint, prompt_tokens, completion_tokens, spend, api_requests, successful_requests, failed_requests, updated_at)
         values ('litellm-daily-1', 'alice', '2025-03-10', $1, 'gpt-4o', NULL, NULL, NULL, 20, 10, 0.5, 1, 1, 0, $2)`,
        [KEY_HASH, start],
      );
      const [stored] = await o.db.spendLogs.query({ requestId: 'litellm-row-1' });
      expect(stored?.details).toBeNull();
      expect(stored?.log).toMatchObject({ request_id: 'litellm-row-1', spend: 0.5, startTime: Date.parse('2025-03-10T09:00:00Z'), request_tags: ['legacy'], metadata: { user_api_key_alias: 'old' } });
      // A Tollgate call for the same user, day, key and model, with no provider or route LiteLLM would have written: added to LiteLLM's row.
      const ours = spendLogRow(
        makeCall({
          startedAt: Date.parse('2025-03-10T10:00:00Z'),
          route: '',
          deployment: undefined,
          upstreamModel: 'gpt-4o',
          principal: { isMaster: false, keyHash: KEY_HASH, userId: 'alice' },
          costNanoUsd: 250_000_000,
          usage: { inputUncached: 4, output: 1 },
        }),
      );
      await o.db.spendLogs.insertMany([ours]);
      const daily = await o.raw('select id, spend, prompt_tokens, api_requests from "LiteLLM_DailyUserSpend"');
      expect(daily.map((r) => [r.id, Number(r.spend), Number(r.prompt_tokens), Number(r.api_requests)])).toEqual([['litellm-daily-1', 0.75, 24, 2]]);
      const [report] = await o.db.spendLogs.report({ by: ['user_id'] });
      expect(report).toMatchObject({ keys: { user_id: 'alice' }, requests: 2, spendUsd: 0.75, unpricedRequests: 0 });
    });

    it('timestamps are UTC whatever the process time zone is', async () => {
      const tz = process.env.TZ;
      const row = spendLogRow(makeCall({ requestId: uniqueId('tz'), startedAt: T0, endedAt: T0 + 1 }));
      try {
        process.env.TZ = 'America/Los_Angeles';
        await o.db.spendLogs.insertMany([row]);
        const [stored] = await o.db.spendLogs.query({ requestId: row.log.request_id });
        expect(stored?.log.startTime).toBe(T0);
        const [r] = await o.raw('select "startTime" from "LiteLLM_SpendLogs"');
        expect(iso(r!.startTime)).toBe('2025-03-10T08:30:00.123Z');
        expect(await o.db.spendLogs.query({ from: T0, to: T0 + 1 })).toHaveLength(1);
      } finally {
        if (tz === undefined) delete process.env.TZ;
        else process.env.TZ = tz;
      }
    });
  });
}
