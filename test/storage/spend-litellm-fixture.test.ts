/**
 * Spend written into a database a LiteLLM proxy made (its migration.sql files applied in order,
 * test/fixtures/litellm-schema, with the daily user table's unique key as mid-2025 LiteLLM had it)
 * and already filled: LiteLLM's daily row for a key, day and
 * model grows (its unique index has no endpoint or mcp column, and LiteLLM left those NULL — an
 * insert would collide with it), LiteLLM's spend log rows stay and are listed and summed with
 * Tollgate's, and the per-day report covers both.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SpendWriter } from '../../src/accounting/spend-writer.js';
import { hashKey } from '../../src/policy/auth.js';
import { openDatabase } from '../../src/storage/database.js';
import { BACKENDS } from './backends.js';
import { makeCall } from './calls.js';
import { createLiteLLMPostgres, type LiteLLMPostgres } from './litellm-fixture-db.js';

const KEY_HASH = hashKey('sk-litellm-made-key-0042');
const pgSkip = BACKENDS.find((b) => b.name === 'postgres')?.skip;

describe.skipIf(pgSkip !== undefined)('spend into a LiteLLM-made Postgres database', () => {
  let made: LiteLLMPostgres | undefined;
  afterAll(async () => {
    await made?.drop();
  });

  it('adds to LiteLLM\'s own daily row and lists LiteLLM\'s spend rows with Tollgate\'s', async () => {
    made = await createLiteLLMPostgres('tg_spendfix');
    const { client: c, url } = made;
    // The daily user table as a mid-2025 LiteLLM left it: its unique key without
    // mcp_namespaced_tool_name and endpoint (added by 20260106155622). An insert keyed by the newer
    // columns would collide with LiteLLM's row instead of adding to it.
    await c.query('DROP INDEX "LiteLLM_DailyUserSpend_user_id_date_api_key_model_custom_ll_key"');
    await c.query('CREATE UNIQUE INDEX "LiteLLM_DailyUserSpend_user_id_date_api_key_model_custom_ll_key" ON "LiteLLM_DailyUserSpend"("user_id", "date", "api_key", "model", "custom_llm_provider")');
    // As LiteLLM of that time wrote them: a spend log and the daily row it was added to.
    await c.query(
      `INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, "startTime", "endTime", "completionStartTime", model, model_id, model_group, custom_llm_provider, api_base, "user", metadata, cache_hit, cache_key, request_tags, team_id, end_user, status)
       VALUES ('chatcmpl-litellm-1', 'acompletion', $1, 0.5, 30, 20, 10, '2025-06-01 09:00:00', '2025-06-01 09:00:01', '2025-06-01 09:00:00.5', 'claude-sonnet-4-5', 'dep-1', 'claude-sonnet', 'anthropic', '', 'alice', '{"user_api_key_alias": "made-by-litellm"}', 'False', 'Cache OFF', '["prod"]', 'team-1', '', 'success')`,
      [KEY_HASH],
    );
    await c.query(
      `INSERT INTO "LiteLLM_DailyUserSpend" (id, user_id, date, api_key, model, model_group, custom_llm_provider, prompt_tokens, completion_tokens, spend, api_requests, successful_requests, failed_requests, updated_at)
       VALUES ('litellm-made-daily', 'alice', '2025-06-01', $1, 'claude-sonnet-4-5', 'claude-sonnet', 'anthropic', 20, 10, 0.5, 1, 1, 0, '2025-06-01 09:00:02')`,
      [KEY_HASH],
    );

    const db = openDatabase(url, '/tmp');
    try {
      await db.migrate();
      const writer = new SpendWriter(db.spendLogs, { flushIntervalMs: 60_000 });
      const start = Date.UTC(2025, 5, 1, 15, 0, 0);
      const principal = { isMaster: false, keyHash: KEY_HASH, userId: 'alice', teamId: 'team-1' };
      writer.record(makeCall({ startedAt: start, endedAt: start + 10, principal, costNanoUsd: 250_000_000, usage: { inputUncached: 4, cacheRead: 6, output: 2 } }));
      writer.record(makeCall({ startedAt: start + 1000, endedAt: start + 1010, principal, costNanoUsd: 250_000_000, usage: { inputUncached: 4, output: 2 } }));
      // Another route: a separate row where the unique key has `endpoint`, the same row where it has not.
      writer.record(makeCall({ startedAt: start + 2000, endedAt: start + 2010, route: '/v1/chat/completions', surface: 'openai-chat', principal, costNanoUsd: 250_000_000, usage: { inputUncached: 4, output: 2 } }));
      await writer.close();
      expect(writer.pendingRows).toBe(0);

      const daily = (await c.query('SELECT id, spend, prompt_tokens, completion_tokens, cache_read_input_tokens, api_requests, successful_requests FROM "LiteLLM_DailyUserSpend"')).rows as Record<string, unknown>[];
      // 0.5 + 3 × 0.25; prompt 20 + (4 + 6) + 4 + 4; cache read 0 + 6.
      expect(daily.map((r) => [r.id, Number(r.spend), Number(r.prompt_tokens), Number(r.completion_tokens), Number(r.cache_read_input_tokens), Number(r.api_requests), Number(r.successful_requests)])).toEqual([
        ['litellm-made-daily', 1.25, 38, 16, 6, 4, 4],
      ]);
      const team = (await c.query('SELECT team_id, endpoint, spend, api_requests FROM "LiteLLM_DailyTeamSpend" ORDER BY endpoint')).rows as Record<string, unknown>[];
      expect(team.map((r) => [r.team_id, r.endpoint, Number(r.spend), Number(r.api_requests)])).toEqual([
        ['team-1', '/v1/chat/completions', 0.25, 1],
        ['team-1', '/v1/messages', 0.5, 2],
      ]);

      const logs = await db.spendLogs.query({ apiKey: KEY_HASH });
      expect(logs.map((l) => [l.log.request_id.startsWith('chatcmpl-litellm') ? 'litellm' : 'tollgate', l.details === null])).toEqual([
        ['tollgate', false],
        ['tollgate', false],
        ['tollgate', false],
        ['litellm', true],
      ]);
      const litellmRow = logs[3]?.log;
      expect(litellmRow).toMatchObject({ startTime: Date.UTC(2025, 5, 1, 9), completionStartTime: Date.UTC(2025, 5, 1, 9, 0, 0, 500), spend: 0.5, request_tags: ['prod'], metadata: { user_api_key_alias: 'made-by-litellm' } });
      const report = await db.spendLogs.report({ by: ['day', 'user_id'] });
      expect(report).toEqual([{ keys: { day: '2025-06-01', user_id: 'alice' }, requests: 4, spendUsd: 1.25, unpricedRequests: 0, promptTokens: 38, completionTokens: 16, totalTokens: 54 }]);
    } finally {
      await db.close();
    }
  });
});
