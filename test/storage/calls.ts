/** CallRecords and spend log rows for storage tests. */
import type { CallRecord } from '../../src/core/call-record.js';
import { hashKey } from '../../src/policy/auth.js';
import type { SpendLogRow } from '../../src/storage/ports.js';

export const DAY = 86_400_000;
/** 2025-03-10T00:00:00Z */
export const MAR10 = Date.UTC(2025, 2, 10);

let seq = 0;
export function uniqueId(prefix = 'req'): string {
  seq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}

export function makeCall(overrides: Partial<CallRecord> = {}): CallRecord {
  const startedAt = overrides.startedAt ?? MAR10 + 3_600_000;
  return {
    requestId: uniqueId(),
    callId: uniqueId('call'),
    surface: 'anthropic-messages',
    route: '/v1/messages',
    stream: true,
    startedAt,
    endedAt: startedAt + 1234.6,
    durationMs: 1234.6,
    timeToFirstTokenMs: 210.4,
    upstreamMs: 1200.2,
    principal: { isMaster: false, keyHash: hashKey('sk-test-key-0001'), keyAlias: 'ci-key', userId: 'alice', teamId: 'team-a', endUser: 'cust-1' },
    requestedModel: 'claude-sonnet',
    modelGroup: 'claude-sonnet',
    deployment: { id: 'dep-1', modelGroup: 'claude-sonnet', provider: 'anthropic', model: 'claude-sonnet-4-5', apiBase: 'https://api.anthropic.com' },
    attempts: [{ deploymentId: 'dep-1', startedAt, durationMs: 1200.2, outcome: 'success', status: 200 }],
    retries: 0,
    fallbacks: 0,
    outcome: 'success',
    httpStatus: 200,
    clientDisconnected: false,
    usage: { inputUncached: 12, cacheRead: 1802, cacheWrite5m: 0, output: 100, reasoning: undefined, raw: { input_tokens: 12 } },
    upstreamModel: 'claude-sonnet-4-5',
    costNanoUsd: 2_340_600,
    userAgent: 'vitest',
    metadata: { tags: ['job:nightly', 'team:ml'], spend_logs_metadata: { ticket: 'T-1' } },
    passthrough: true,
    ...overrides,
  };
}

/** A plain row with only what a test cares about set; the rest neutral. */
export function makeRow(overrides: Partial<SpendLogRow> = {}): SpendLogRow {
  const start = overrides.start_time ?? MAR10;
  return {
    call_id: uniqueId('callrow'),
    request_id: uniqueId('row'),
    call_type: 'acompletion',
    surface: 'openai-chat',
    start_time: start,
    end_time: start + 500,
    api_key: null,
    key_alias: null,
    user_id: null,
    team_id: null,
    end_user: null,
    requested_model: 'gpt-x',
    model_group: 'gpt-x',
    model_id: 'dep-x',
    provider: 'openai',
    upstream_model: 'gpt-x-2025',
    api_base: null,
    retries: 0,
    fallbacks: 0,
    stream: false,
    status_code: 200,
    outcome: 'success',
    error_class: null,
    error_message: null,
    input_uncached_tokens: 10,
    cache_read_tokens: null,
    cache_write_5m_tokens: null,
    cache_write_1h_tokens: null,
    cache_write_unknown_ttl_tokens: null,
    output_tokens: 5,
    reasoning_tokens: null,
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    cost_nano_usd: 1000,
    ttft_ms: null,
    duration_ms: 500,
    user_agent: null,
    metadata: null,
    tags: '[]',
    client_disconnected: false,
    ...overrides,
  };
}
