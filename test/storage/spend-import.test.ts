/**
 * Upgrading from a Tollgate that wrote its own `spend_logs`: migration 0004 copies those rows into
 * LiteLLM's tables once — a spend log row and details each, and their sums in the daily tables — so
 * the history stays in /spend/logs and the reports. Runs the migrations up to 0003, writes old
 * rows, then migrates to the end.
 */
import { Migrator, sql, type Kysely } from 'kysely';
import { expect, it } from 'vitest';
import { migrationProvider } from '../../src/storage/migrations.js';
import { BACKENDS } from './backends.js';
import { MAR10 } from './calls.js';

const legacy = (over: Record<string, unknown>): Record<string, unknown> => ({
  call_id: 'old-call-1',
  request_id: 'old-req-1',
  call_type: 'acompletion',
  surface: 'openai-chat',
  start_time: MAR10 + 3_600_000,
  end_time: MAR10 + 3_601_000,
  api_key: 'a'.repeat(64),
  key_alias: 'legacy-key',
  user_id: 'alice',
  team_id: 't1',
  end_user: null,
  requested_model: 'gpt-x',
  model_group: 'gpt-x',
  model_id: 'dep-x',
  provider: 'openai',
  upstream_model: 'gpt-x-2025',
  api_base: 'https://api.openai.com/v1',
  retries: 1,
  fallbacks: 0,
  stream: 1,
  status_code: 200,
  outcome: 'success',
  error_class: null,
  error_message: null,
  input_uncached_tokens: 90,
  cache_read_tokens: 10,
  cache_write_5m_tokens: null,
  cache_write_1h_tokens: null,
  cache_write_unknown_ttl_tokens: null,
  output_tokens: 20,
  reasoning_tokens: 5,
  prompt_tokens: 100,
  completion_tokens: 20,
  total_tokens: 120,
  cost_nano_usd: 1_500_000,
  ttft_ms: 250,
  duration_ms: 1000,
  user_agent: 'old-agent',
  metadata: JSON.stringify({ route: '/v1/chat/completions', passthrough: true, upstream_ms: 900, attempts: [{ deployment_id: 'dep-x', outcome: 'success' }], request_metadata: { spend_logs_metadata: { job: 7 } } }),
  tags: '["nightly"]',
  client_disconnected: 0,
  ...over,
});

for (const backend of BACKENDS.filter((b) => b.name !== 'sqlite-memory')) {
  it.skipIf(backend.skip !== undefined)(`${backend.name}: an older Tollgate's spend_logs rows move into LiteLLM's tables once`, async () => {
    const { db, cleanup } = await backend.open();
    try {
      const kdb = (db as unknown as { db: Kysely<unknown> }).db;
      const schema = db.dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(kdb)).rows[0]?.s : undefined;
      const migrator = new Migrator({ db: kdb, provider: migrationProvider(db.dialect), migrationTableSchema: schema });
      const upTo = await migrator.migrateTo('0003_litellm_schema');
      expect(upTo.error).toBeUndefined();
      for (const row of [legacy({}), legacy({ call_id: 'old-call-2', request_id: 'old-req-2', start_time: MAR10 + 7_200_000, cost_nano_usd: null, outcome: 'failure', status_code: 500, error_class: 'upstream_error', error_message: 'boom', tags: '[]' })]) {
        await (kdb as Kysely<Record<string, Record<string, unknown>>>).insertInto('spend_logs').values(row).execute();
      }
      await db.migrate();
      await db.migrate();

      const logs = await db.spendLogs.query({});
      expect(logs.map((l) => l.log.request_id)).toEqual(['old-req-2', 'old-req-1']);
      const one = logs[1];
      expect(one?.log).toMatchObject({
        call_type: 'acompletion',
        api_key: 'a'.repeat(64),
        spend: 0.0015,
        prompt_tokens: 100,
        completion_tokens: 20,
        total_tokens: 120,
        startTime: MAR10 + 3_600_000,
        completionStartTime: MAR10 + 3_600_250,
        model: 'gpt-x-2025',
        user: 'alice',
        team_id: 't1',
        end_user: '',
        request_tags: ['nightly'],
        status: 'success',
        metadata: { user_api_key_alias: 'legacy-key', spend_logs_metadata: { job: 7 }, usage_object: { cache_read_input_tokens: 10, completion_tokens_details: { reasoning_tokens: 5 } } },
      });
      expect(one?.details).toMatchObject({ call_id: 'old-call-1', route: '/v1/chat/completions', passthrough: true, retries: 1, cost_nano_usd: 1_500_000, upstream_ms: 900, reasoning_tokens: 5 });
      expect(logs[0]?.details).toMatchObject({ cost_nano_usd: null, outcome: 'failure', error_class: 'upstream_error' });
      const daily = await db.spendLogs.daily({ entity: 'user', startDate: '2025-03-10', endDate: '2025-03-10' });
      expect(daily.map((d) => [d.entity_id, d.spend, d.prompt_tokens, d.cache_read_input_tokens, d.api_requests, d.successful_requests, d.failed_requests])).toEqual([['alice', 0.0015, 200, 20, 2, 1, 1]]);
    } finally {
      await cleanup();
    }
  });
}

