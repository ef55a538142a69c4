/**
 * GET /spend/logs and GET /global/spend/report through fastify inject, on every backend, over rows
 * written by the real SpendWriter from CallRecords. Expected aggregates are worked out by hand from
 * the seed below.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpendWriter } from '../../src/accounting/spend-writer.js';
import type { CallRecord } from '../../src/core/call-record.js';
import { GatewayError } from '../../src/core/errors.js';
import { registerSpendRoutes } from '../../src/http/routes/spend.js';
import { hashKey } from '../../src/policy/auth.js';
import { openDatabase } from '../../src/storage/database.js';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from './backends.js';
import { makeCall, uniqueId } from './calls.js';

const KEY_A = 'sk-alpha-key-000000000001';
const KEY_B = 'sk-bravo-key-000000000002';
const HA = hashKey(KEY_A);
const HB = hashKey(KEY_B);
const ADMIN = { authorization: 'Bearer sk-master' };
const at = (iso: string): number => Date.parse(iso);

interface Seed {
  key: string;
  user: string;
  team?: string;
  endUser?: string;
  start: string;
  upstream: string;
  group: string;
  nano: number | null;
  uncached: number;
  cacheRead?: number;
  output: number;
}

const SEED: Record<string, Seed> = {
  c1: { key: HA, user: 'alice', team: 't1', endUser: 'cust-1', start: '2025-03-10T01:00:00.000Z', upstream: 'm-big', group: 'big', nano: 1_000_000_000, uncached: 100, output: 10 },
  c2: { key: HA, user: 'alice', team: 't1', endUser: 'cust-2', start: '2025-03-10T23:59:59.999Z', upstream: 'm-small', group: 'small', nano: 250_000_000, uncached: 20, cacheRead: 30, output: 5 },
  c3: { key: HB, user: 'bob', endUser: 'cust-1', start: '2025-03-11T12:00:00.000Z', upstream: 'm-big', group: 'big', nano: 2_000_000_000, uncached: 200, output: 20 },
  c4: { key: HB, user: 'bob', team: 't2', start: '2025-03-11T13:00:00.000Z', upstream: 'm-small', group: 'small', nano: null, uncached: 7, output: 3 },
  c5: { key: HA, user: 'alice', team: 't1', start: '2025-03-12T00:00:00.000Z', upstream: 'm-big', group: 'big', nano: 5_000_000_000, uncached: 1, output: 1 },
  c6: { key: HA, user: 'alice', team: 't1', start: '2025-03-09T23:59:59.999Z', upstream: 'm-big', group: 'big', nano: 9_000_000_000, uncached: 1, output: 1 },
};

function seedCall(name: string, s: Seed, runId: string): CallRecord {
  return makeCall({
    requestId: `${runId}-${name}`,
    startedAt: at(s.start),
    endedAt: at(s.start) + 800,
    durationMs: 800,
    principal: { isMaster: false, keyHash: s.key, userId: s.user, teamId: s.team, endUser: s.endUser },
    requestedModel: s.group,
    modelGroup: s.group,
    deployment: { id: `dep-${s.upstream}`, modelGroup: s.group, provider: 'openai', model: s.upstream, apiBase: 'https://upstream.example/v1?secret=x' },
    upstreamModel: s.upstream,
    costNanoUsd: s.nano,
    usage: { inputUncached: s.uncached, cacheRead: s.cacheRead, output: s.output },
  });
}

function buildApp(db: Database): FastifyInstance {
  const app = Fastify();
  registerSpendRoutes(app, {
    store: db.spendLogs,
    authorizeAdmin(headers) {
      if (headers.authorization === undefined) throw new GatewayError({ code: 'authentication', status: 401, message: 'No api key passed in.' });
      if (headers.authorization !== ADMIN.authorization) throw new GatewayError({ code: 'permission_denied', status: 403, message: 'Admin only.' });
    },
    spendScope(headers) {
      if (headers.authorization === undefined) throw new GatewayError({ code: 'authentication', status: 401, message: 'No api key passed in.' });
      return headers.authorization === ADMIN.authorization ? 'all' : { apiKey: String(headers['x-test-key-hash']) };
    },
    teamAlias: (id) => (id === 't1' ? 'Team One' : undefined),
  });
  return app;
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`spend routes on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let app: FastifyInstance;
    const runId = uniqueId('run');
    const id = (name: string): string => `${runId}-${name}`;

    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await db.migrate();
      const writer = new SpendWriter(db.spendLogs, { flushIntervalMs: 60_000 });
      for (const [name, s] of Object.entries(SEED)) writer.record(seedCall(name, s, runId));
      await writer.close();
      app = buildApp(db);
    });
    afterAll(async () => {
      await app.close();
      await cleanup();
    });

    const get = async (url: string, headers: Record<string, string> = ADMIN): Promise<{ status: number; body: unknown; headers: Record<string, unknown> }> => {
      const res = await app.inject({ method: 'GET', url, headers });
      return { status: res.statusCode, body: res.json(), headers: res.headers };
    };
    const ids = (body: unknown): string[] => (body as { request_id: string }[]).map((r) => r.request_id);

    it('requires an admin: 401 without a key, 403 with another, in the OpenAI error envelope', async () => {
      const none = await get('/spend/logs', {});
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ error: { message: 'No api key passed in.' } });
      expect((await get('/global/spend/report?start_date=2025-03-10&end_date=2025-03-11', { authorization: 'Bearer sk-user' })).status).toBe(403);
    });

    it("a non-admin caller lists only its own rows, whatever it filters by", async () => {
      const asB = { authorization: 'Bearer sk-user', 'x-test-key-hash': HB };
      expect(ids((await get('/spend/logs', asB)).body).sort()).toEqual([id('c3'), id('c4')].sort());
      expect(ids((await get(`/spend/logs?api_key=${HA}`, asB)).body)).toEqual([]);
      expect(ids((await get(`/spend/logs?request_id=${id('c1')}`, asB)).body)).toEqual([]);
      expect(ids((await get(`/spend/logs?api_key=${HB}&user_id=bob`, asB)).body).sort()).toEqual([id('c3'), id('c4')].sort());
    });

    it('GET /spend/logs?request_id= returns the row in LiteLLM SpendLogs shape', async () => {
      const { status, body } = await get(`/spend/logs?request_id=${id('c2')}`);
      expect(status).toBe(200);
      const [row] = body as Record<string, unknown>[];
      expect(row).toMatchObject({
        request_id: id('c2'),
        call_type: 'anthropic_messages',
        api_key: HA,
        spend: 0.25,
        request_duration_ms: 800,
        completionStartTime: '2025-03-11T00:00:00.209Z',
        organization_id: '',
        cache_key: 'Cache OFF',
        prompt_tokens: 50,
        completion_tokens: 5,
        total_tokens: 55,
        startTime: '2025-03-10T23:59:59.999Z',
        endTime: '2025-03-11T00:00:00.799Z',
        model: 'm-small',
        model_id: 'dep-m-small',
        model_group: 'small',
        custom_llm_provider: 'openai',
        api_base: 'https://upstream.example/v1',
        user: 'alice',
        team_id: 't1',
        end_user: 'cust-2',
        cache_hit: 'False',
        request_tags: ['job:nightly', 'team:ml'],
        status: 'success',
        metadata: {
          user_api_key: HA,
          user_api_key_user_id: 'alice',
          user_api_key_team_id: 't1',
          status: 'success',
          spend_logs_metadata: { ticket: 'T-1' },
          usage_object: { prompt_tokens: 50, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 30 }, cache_read_input_tokens: 30 },
          tollgate: {
            surface: 'anthropic-messages',
            cost_nano_usd: 250_000_000,
            tokens: { input_uncached: 20, cache_read: 30, cache_write_5m: null, cache_write_1h: null, output: 5, reasoning: null },
          },
        },
      });
      expect((await get('/spend/logs?request_id=missing')).body).toEqual([]);
    });

    it('GET /spend/logs?api_key= accepts the plaintext key or its hash; user_id filters; unknown cost is 0 in spend, null in the details', async () => {
      const byPlain = await get(`/spend/logs?api_key=${KEY_A}`);
      const byHash = await get(`/spend/logs?api_key=${HA}`);
      expect(ids(byPlain.body)).toEqual([id('c5'), id('c2'), id('c1'), id('c6')]);
      expect(byHash.body).toEqual(byPlain.body);
      const bob = await get('/spend/logs?user_id=bob');
      expect(ids(bob.body)).toEqual([id('c4'), id('c3')]);
      const bobRows = bob.body as { spend: number; metadata: { tollgate: { cost_nano_usd: number | null; cost_missing_reason: string | null } } }[];
      expect(bobRows.map((r) => r.spend)).toEqual([0, 2]);
      expect(bobRows.map((r) => r.metadata.tollgate.cost_nano_usd)).toEqual([null, 2_000_000_000]);
    });

    it('date range: YYYY-MM-DD end includes the whole day; ISO bounds are exact and inclusive', async () => {
      const days = await get('/spend/logs?start_date=2025-03-10&end_date=2025-03-11&summarize=false');
      expect(ids(days.body)).toEqual([id('c4'), id('c3'), id('c2'), id('c1')]);
      const iso = await get('/spend/logs?start_date=2025-03-10T12:00:00Z&end_date=2025-03-11T12:00:00.000Z&summarize=false');
      expect(ids(iso.body)).toEqual([id('c3'), id('c2')]);
      const ui = await get(`/spend/logs?start_date=${encodeURIComponent('2025-03-11 12:00:00')}&end_date=2025-03-11&summarize=false&user_id=bob`);
      expect(ids(ui.body)).toEqual([id('c4'), id('c3')]);
      const bad = await get('/spend/logs?start_date=2025-02-30&end_date=2025-03-11');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: { param: 'start_date' } });
    });

    it('limit caps the rows and says so in a header', async () => {
      const res = await get(`/spend/logs?api_key=${HA}&limit=2`);
      expect(ids(res.body)).toEqual([id('c5'), id('c2')]);
      expect(res.headers['x-tollgate-truncated']).toBe('true; limit=2; next_offset=2');
      const next = await get(`/spend/logs?api_key=${HA}&limit=2&offset=2`);
      expect(ids(next.body)).toEqual([id('c1'), id('c6')]);
      expect(next.headers['x-tollgate-truncated']).toBeUndefined();
      // A small page by default, and a hard cap.
      expect((await get('/spend/logs?limit=1001')).status).toBe(400);
      expect((await get('/spend/logs?offset=-1')).body).toMatchObject({ error: { param: 'offset' } });
    });

    it('with both dates and no summarize=false, /spend/logs answers LiteLLM daily summary, every day present', async () => {
      const { body } = await get('/spend/logs?start_date=2025-03-10&end_date=2025-03-13');
      expect(body).toEqual([
        { startTime: '2025-03-10', spend: 1.25, users: { alice: 1.25 }, models: { 'm-big': 1, 'm-small': 0.25 }, [HA]: 1.25 },
        { startTime: '2025-03-11', spend: 2, users: { bob: 2 }, models: { 'm-big': 2, 'm-small': 0 }, [HB]: 2 },
        { startTime: '2025-03-12', spend: 5, users: { alice: 5 }, models: { 'm-big': 5 }, [HA]: 5 },
        { startTime: '2025-03-13', spend: 0, users: {}, models: {} },
      ]);
    });

    it('/global/spend/report group_by=team: per day, per team (alias, id, or Unassigned Team), with model+key details', async () => {
      const { status, body } = await get('/global/spend/report?start_date=2025-03-10&end_date=2025-03-11&group_by=team');
      expect(status).toBe(200);
      expect(body).toEqual([
        {
          group_by_day: '2025-03-10T00:00:00+00:00',
          teams: [
            {
              team_name: 'Team One',
              total_spend: 1.25,
              unpriced_requests: 0,
              metadata: [
                { model: 'm-big', api_key: HA, spend: 1, total_tokens: 110 },
                { model: 'm-small', api_key: HA, spend: 0.25, total_tokens: 55 },
              ],
            },
          ],
        },
        {
          group_by_day: '2025-03-11T00:00:00+00:00',
          teams: [
            { team_name: 'Unassigned Team', total_spend: 2, unpriced_requests: 0, metadata: [{ model: 'm-big', api_key: HB, spend: 2, total_tokens: 220 }] },
            { team_name: 't2', total_spend: 0, unpriced_requests: 1, metadata: [{ model: 'm-small', api_key: HB, spend: 0, total_tokens: 10 }] },
          ],
        },
      ]);
      // team is LiteLLM's default grouping
      expect((await get('/global/spend/report?start_date=2025-03-10&end_date=2025-03-11')).body).toEqual(body);
    });

    it('/global/spend/report group_by=customer', async () => {
      const { body } = await get('/global/spend/report?start_date=2025-03-10&end_date=2025-03-11&group_by=customer');
      expect(body).toEqual([
        {
          group_by_day: '2025-03-10T00:00:00+00:00',
          customers: [
            { customer: 'cust-1', total_spend: 1, unpriced_requests: 0, metadata: [{ model: 'm-big', api_key: HA, spend: 1, total_tokens: 110 }] },
            { customer: 'cust-2', total_spend: 0.25, unpriced_requests: 0, metadata: [{ model: 'm-small', api_key: HA, spend: 0.25, total_tokens: 55 }] },
          ],
        },
        {
          group_by_day: '2025-03-11T00:00:00+00:00',
          customers: [
            { customer: 'cust-1', total_spend: 2, unpriced_requests: 0, metadata: [{ model: 'm-big', api_key: HB, spend: 2, total_tokens: 220 }] },
            // LiteLLM stores "no end user" as "".
            { customer: '', total_spend: 0, unpriced_requests: 1, metadata: [{ model: 'm-small', api_key: HB, spend: 0, total_tokens: 10 }] },
          ],
        },
      ]);
    });

    it('/global/spend/report group_by=api_key: totals per key, most spent first, with per-model details; api_key filter', async () => {
      const { body } = await get('/global/spend/report?start_date=2025-03-10&end_date=2025-03-11&group_by=api_key');
      const keyA = {
        api_key: HA,
        total_cost: 1.25,
        total_input_tokens: 150,
        total_output_tokens: 15,
        api_requests: 2,
        unpriced_requests: 0,
        model_details: [
          { model: 'm-big', total_cost: 1, total_input_tokens: 100, total_output_tokens: 10 },
          { model: 'm-small', total_cost: 0.25, total_input_tokens: 50, total_output_tokens: 5 },
        ],
      };
      expect(body).toEqual([
        {
          api_key: HB,
          total_cost: 2,
          total_input_tokens: 207,
          total_output_tokens: 23,
          api_requests: 2,
          unpriced_requests: 1,
          model_details: [
            { model: 'm-big', total_cost: 2, total_input_tokens: 200, total_output_tokens: 20 },
            { model: 'm-small', total_cost: 0, total_input_tokens: 7, total_output_tokens: 3 },
          ],
        },
        keyA,
      ]);
      expect((await get(`/global/spend/report?start_date=2025-03-10&end_date=2025-03-11&api_key=${KEY_A}`)).body).toEqual([keyA]);
    });

    it('/global/spend/report group_by=model: totals per model group with per-key details', async () => {
      const { body } = await get('/global/spend/report?start_date=2025-03-10&end_date=2025-03-11&group_by=model');
      const byKey = <T extends { api_key: string }>(list: T[]): T[] => [...list].sort((a, b) => a.api_key.localeCompare(b.api_key));
      expect(body).toEqual([
        {
          model: 'big',
          total_cost: 3,
          total_input_tokens: 300,
          total_output_tokens: 30,
          api_requests: 2,
          unpriced_requests: 0,
          api_key_details: byKey([
            { api_key: HA, total_cost: 1, total_input_tokens: 100, total_output_tokens: 10 },
            { api_key: HB, total_cost: 2, total_input_tokens: 200, total_output_tokens: 20 },
          ]),
        },
        {
          model: 'small',
          total_cost: 0.25,
          total_input_tokens: 57,
          total_output_tokens: 8,
          api_requests: 2,
          unpriced_requests: 1,
          api_key_details: byKey([
            { api_key: HA, total_cost: 0.25, total_input_tokens: 50, total_output_tokens: 5 },
            { api_key: HB, total_cost: 0, total_input_tokens: 7, total_output_tokens: 3 },
          ]),
        },
      ]);
    });

    it('/team/daily/activity and /user/daily/activity answer from LiteLLM\'s daily tables in LiteLLM\'s shape', async () => {
      const team = await get('/team/daily/activity?start_date=2025-03-10&end_date=2025-03-11');
      expect(team.status).toBe(200);
      const body = team.body as { results: { date: string; metrics: Record<string, number>; breakdown: Record<string, Record<string, { metrics: Record<string, number> }>> }[]; metadata: Record<string, unknown> };
      // Newest first. 03-11: only c4 has a team (t2, unpriced: spend 0); 03-10: c1 + c2, both t1.
      expect(body.results.map((r) => r.date)).toEqual(['2025-03-11', '2025-03-10']);
      const [d11, d10] = body.results;
      expect(d11?.metrics).toEqual({ spend: 0, prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, api_requests: 1, successful_requests: 1, failed_requests: 0 });
      expect(d10?.metrics).toEqual({ spend: 1.25, prompt_tokens: 150, completion_tokens: 15, total_tokens: 165, cache_read_input_tokens: 30, cache_creation_input_tokens: 0, api_requests: 2, successful_requests: 2, failed_requests: 0 });
      expect(Object.keys(d10?.breakdown.models ?? {}).sort()).toEqual(['m-big', 'm-small']);
      expect(d10?.breakdown.entities?.t1?.metrics.spend).toBe(1.25);
      expect(d10?.breakdown.api_keys?.[HA]?.metrics.api_requests).toBe(2);
      expect(body.metadata).toMatchObject({ total_spend: 1.25, total_api_requests: 3, total_prompt_tokens: 157, page: 1, total_pages: 1, has_more: false });
      const only = await get('/team/daily/activity?start_date=2025-03-10&end_date=2025-03-11&team_ids=t2');
      expect((only.body as typeof body).metadata).toMatchObject({ total_api_requests: 1 });
      const bob = await get('/user/daily/activity?start_date=2025-03-09&end_date=2025-03-12&user_id=bob');
      expect((bob.body as typeof body).results.map((r) => [r.date, r.metrics.api_requests, r.metrics.spend])).toEqual([['2025-03-11', 2, 2]]);
      const paged = await get('/user/daily/activity?start_date=2025-03-09&end_date=2025-03-12&page_size=1&page=2');
      expect((paged.body as typeof body).metadata).toMatchObject({ page: 2, has_more: true });
      expect((await get('/tag/daily/activity?start_date=2025-03-10&end_date=2025-03-10&tags=team:ml')).body).toMatchObject({ metadata: { total_api_requests: 2, total_spend: 1.25 } });
      expect((await get('/customer/daily/activity?start_date=2025-03-10&end_date=2025-03-11')).body).toMatchObject({ metadata: { total_api_requests: 3 } });
      const bad = await get('/team/daily/activity?start_date=2025-03-10');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: { param: 'end_date' } });
    });

    it('/global/spend/report rejects missing dates and an unknown group_by with 400', async () => {
      expect((await get('/global/spend/report?start_date=2025-03-10')).status).toBe(400);
      const bad = await get('/global/spend/report?start_date=2025-03-10&end_date=2025-03-11&group_by=planet');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: { param: 'group_by' } });
    });
  });
}

describe('no plaintext key in the database', () => {
  it('the SQLite file bytes (db, WAL, shm) hold the key hash but never the key, even when errors and metadata echo it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-nokey-'));
    const path = join(dir, 'tollgate.db');
    try {
      const db = openDatabase(path, dir);
      await db.migrate();
      const writer = new SpendWriter(db.spendLogs, { flushIntervalMs: 60_000 });
      writer.record(makeCall({ principal: { isMaster: false, keyHash: HA } }));
      writer.record(
        makeCall({
          principal: { isMaster: false, keyHash: HB },
          outcome: 'failure',
          httpStatus: 401,
          error: { code: 'authentication', message: `Incorrect API key provided: ${KEY_A}` },
          metadata: { spend_logs_metadata: { copied_key: KEY_B }, tags: [KEY_A] },
        }),
      );
      await writer.close();
      const app = buildApp(db);
      const res = await app.inject({ method: 'GET', url: `/spend/logs?api_key=${KEY_B}`, headers: ADMIN });
      expect(res.json<unknown[]>()).toHaveLength(1);
      expect(res.body).not.toContain(KEY_A);
      expect(res.body).not.toContain(KEY_B);
      await app.close();

      const bytes = (): Buffer => Buffer.concat(['', '-wal', '-shm'].map((s) => path + s).filter((p) => existsSync(p)).map((p) => readFileSync(p)));
      const check = (): void => {
        const all = bytes();
        expect(all.includes(HB)).toBe(true);
        for (const key of [KEY_A, KEY_B]) {
          expect(all.includes(key)).toBe(false);
          expect(all.includes(Buffer.from(key, 'utf16le'))).toBe(false);
        }
      };
      check(); // while open: the rows may still be in the WAL
      await db.close();
      check(); // after close: checkpointed into the main file
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
