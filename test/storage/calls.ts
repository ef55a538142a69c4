/** CallRecords and spend log rows for storage tests. */
import type { CallRecord } from '../../src/core/call-record.js';
import { hashKey } from '../../src/policy/auth.js';
import { spendLogRow } from '../../src/accounting/spend-writer.js';
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

export interface RowSpec {
  requestId?: string;
  start?: number;
  apiKey?: string;
  user?: string;
  team?: string;
  endUser?: string;
  /** Cost in nano-USD; null = unpriced. */
  nano?: number | null;
  uncached?: number;
  output?: number;
  model?: string | null;
  group?: string;
  tags?: string[];
  outcome?: 'success' | 'failure';
}

/** A spend row from a plain OpenAI call with only what a test cares about set; the rest neutral. */
export function makeRow(spec: RowSpec = {}): SpendLogRow {
  const start = spec.start ?? MAR10;
  const model = spec.model === undefined ? 'gpt-x-2025' : spec.model;
  const group = spec.group ?? 'gpt-x';
  return spendLogRow(
    makeCall({
      requestId: spec.requestId ?? uniqueId('row'),
      surface: 'openai-chat',
      route: '/v1/chat/completions',
      stream: false,
      startedAt: start,
      endedAt: start + 500,
      durationMs: 500,
      timeToFirstTokenMs: undefined,
      principal: { isMaster: false, keyHash: spec.apiKey, userId: spec.user, teamId: spec.team, endUser: spec.endUser },
      requestedModel: group,
      modelGroup: group,
      deployment: model === null ? undefined : { id: 'dep-x', modelGroup: group, provider: 'openai', model },
      upstreamModel: model ?? undefined,
      usage: { inputUncached: spec.uncached ?? 10, output: spec.output ?? 5 },
      costNanoUsd: spec.nano === undefined ? 1000 : spec.nano,
      outcome: spec.outcome ?? 'success',
      httpStatus: spec.outcome === 'failure' ? 500 : 200,
      metadata: spec.tags === undefined ? undefined : { tags: spec.tags },
      passthrough: true,
    }),
  );
}
