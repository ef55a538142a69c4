/**
 * The spend writer: batching off the request path, flush on size and on the timer, close flushes
 * everything, a failing store keeps its rows for the next flush and is logged once; and the one
 * conversion of a CallRecord into its row.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redactSecrets, spendLogRow, SpendWriter, type SpendWriterLogger } from '../../src/accounting/spend-writer.js';
import { hashKey } from '../../src/policy/auth.js';
import { openDatabase } from '../../src/storage/database.js';
import type { SpendAggregate, SpendLogRow, SpendLogStore } from '../../src/storage/ports.js';
import { makeCall } from './calls.js';

class FakeStore implements SpendLogStore {
  readonly batches: SpendLogRow[][] = [];
  failing: Error | undefined;
  calls = 0;

  insertMany(rows: readonly SpendLogRow[]): Promise<void> {
    this.calls += 1;
    if (this.failing !== undefined) return Promise.reject(this.failing);
    this.batches.push([...rows]);
    return Promise.resolve();
  }
  query(): Promise<SpendLogRow[]> {
    return Promise.resolve(this.batches.flat());
  }
  report(): Promise<SpendAggregate[]> {
    return Promise.resolve([]);
  }
  get rows(): SpendLogRow[] {
    return this.batches.flat();
  }
}

function recordingLogger(): SpendWriterLogger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  return {
    lines,
    warn: (_obj, msg) => lines.push({ level: 'warn', msg }),
    error: (_obj, msg) => lines.push({ level: 'error', msg }),
  };
}

const writers: SpendWriter[] = [];
function writer(store: SpendLogStore, options: ConstructorParameters<typeof SpendWriter>[1] = {}): SpendWriter {
  const w = new SpendWriter(store, { flushIntervalMs: 60_000, logger: recordingLogger(), ...options });
  writers.push(w);
  return w;
}
afterEach(async () => {
  for (const w of writers.splice(0)) await w.close();
});

describe('SpendWriter', () => {
  it('record() only queues: nothing reaches the store until a flush, which writes all in one batch', async () => {
    const store = new FakeStore();
    const w = writer(store);
    const calls = [makeCall(), makeCall(), makeCall()];
    for (const c of calls) w.record(c);
    expect(store.calls).toBe(0);
    expect(w.pendingRows).toBe(3);
    await w.flush();
    expect(store.batches).toHaveLength(1);
    expect(store.rows.map((r) => r.request_id)).toEqual(calls.map((c) => c.requestId));
    expect(w.pendingRows).toBe(0);
    await w.flush();
    expect(store.calls).toBe(1);
  });

  it('flushes on its own when the queue reaches maxBatchRows', () => {
    const store = new FakeStore();
    const w = writer(store, { maxBatchRows: 3 });
    w.record(makeCall());
    w.record(makeCall());
    expect(store.calls).toBe(0);
    w.record(makeCall());
    // No flush() call: the third record started the write by itself.
    expect(store.calls).toBe(1);
    expect(w.pendingRows).toBe(0);
    expect(store.batches[0]).toHaveLength(3);
  });

  it('flushes on the timer', async () => {
    const store = new FakeStore();
    const w = writer(store, { flushIntervalMs: 10 });
    w.record(makeCall());
    const deadline = Date.now() + 2000;
    while (store.rows.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(store.rows).toHaveLength(1);
  });

  it('close() flushes everything still queued, and rows recorded during a flush are not lost', async () => {
    const store = new FakeStore();
    const w = writer(store);
    w.record(makeCall());
    const first = w.flush();
    w.record(makeCall());
    await first;
    w.record(makeCall());
    await w.close();
    expect(store.rows).toHaveLength(3);
    expect(w.pendingRows).toBe(0);
  });

  it('a failed batch stays queued, in order, for the next flush; the failure is logged once', async () => {
    const store = new FakeStore();
    const logger = recordingLogger();
    const w = writer(store, { logger });
    store.failing = new Error('database is down');
    const calls = [makeCall(), makeCall()];
    for (const c of calls) w.record(c);
    await w.flush();
    expect(w.pendingRows).toBe(2);
    const later = makeCall();
    w.record(later);
    await w.flush();
    await w.flush();
    expect(w.pendingRows).toBe(3);
    expect(logger.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    store.failing = undefined;
    await w.flush();
    expect(w.pendingRows).toBe(0);
    expect(store.rows.map((r) => r.request_id)).toEqual([...calls, later].map((c) => c.requestId));
    expect(logger.lines.map((l) => l.level)).toEqual(['error', 'warn']);
  });

  it('bounds the queue during an outage, dropping the oldest rows and counting them', async () => {
    const store = new FakeStore();
    store.failing = new Error('down');
    const w = writer(store, { maxBatchRows: 2, maxQueueRows: 3 });
    const calls = Array.from({ length: 5 }, () => makeCall());
    for (const c of calls) w.record(c);
    await w.flush();
    expect(w.pendingRows).toBe(3);
    expect(w.dropped).toBe(2);
    store.failing = undefined;
    await w.flush();
    expect(store.rows.map((r) => r.request_id)).toEqual(calls.slice(2).map((c) => c.requestId));
  });

  it('writes through to a real SQLite store and close() leaves nothing behind', async () => {
    const db = openDatabase(':memory:', '.');
    await db.migrate();
    const w = writer(db.spendLogs);
    const calls = Array.from({ length: 25 }, () => makeCall());
    for (const c of calls) w.record(c);
    await w.close();
    expect(await db.spendLogs.query({})).toHaveLength(25);
    await db.close();
  });
});

describe('spendLogRow', () => {
  it('maps every field of a call record, with integer nano-USD and OpenAI-convention totals', () => {
    const call = makeCall();
    const row = spendLogRow(call);
    expect(row).toMatchObject({
      request_id: call.requestId,
      call_type: 'anthropic_messages',
      surface: 'anthropic-messages',
      start_time: call.startedAt,
      end_time: Math.round(call.endedAt),
      api_key: hashKey('sk-test-key-0001'),
      key_alias: 'ci-key',
      user_id: 'alice',
      team_id: 'team-a',
      end_user: 'cust-1',
      requested_model: 'claude-sonnet',
      model_group: 'claude-sonnet',
      model_id: 'dep-1',
      provider: 'anthropic',
      upstream_model: 'claude-sonnet-4-5',
      api_base: 'https://api.anthropic.com',
      stream: true,
      status_code: 200,
      outcome: 'success',
      error_class: null,
      input_uncached_tokens: 12,
      cache_read_tokens: 1802,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: null,
      cache_write_unknown_ttl_tokens: null,
      output_tokens: 100,
      reasoning_tokens: null,
      prompt_tokens: 1814,
      completion_tokens: 100,
      total_tokens: 1914,
      cost_nano_usd: 2_340_600,
      ttft_ms: 210,
      duration_ms: 1235,
      user_agent: 'vitest',
      tags: '["job:nightly","team:ml"]',
      client_disconnected: false,
    });
    const metadata = JSON.parse(row.metadata ?? '{}') as Record<string, unknown>;
    expect(metadata).toMatchObject({ route: '/v1/messages', passthrough: true, request_metadata: call.metadata });
  });

  it('keeps an unknown cost null (never 0) and takes the model id from the last attempt when no deployment answered', () => {
    const row = spendLogRow(
      makeCall({
        deployment: undefined,
        costNanoUsd: null,
        costMissingReason: 'no_deployment',
        outcome: 'failure',
        httpStatus: 429,
        error: { code: 'rate_limit', message: 'slow down' },
        attempts: [{ deploymentId: 'dep-9', startedAt: 0, durationMs: 3, outcome: 'failure', status: 429, errorCode: 'rate_limit' }],
        usage: {},
      }),
    );
    expect(row).toMatchObject({ cost_nano_usd: null, model_id: 'dep-9', outcome: 'failure', status_code: 429, error_class: 'rate_limit', prompt_tokens: 0, input_uncached_tokens: null });
  });

  it('never carries a plaintext key: a non-hash keyHash is hashed, key-shaped strings are masked', () => {
    const plaintext = 'sk-live-abcdefghijklmnop1234';
    const row = spendLogRow(
      makeCall({
        principal: { isMaster: false, keyHash: plaintext },
        outcome: 'failure',
        error: { code: 'authentication', message: `Incorrect API key provided: ${plaintext}` },
        metadata: { note: `key was ${plaintext}` },
      }),
    );
    expect(row.api_key).toBe(hashKey(plaintext));
    expect(JSON.stringify(row)).not.toContain(plaintext);
    expect(row.error_message).toBe('Incorrect API key provided: sk-...1234');
    expect(redactSecrets('no secrets here, sk-short')).toBe('no secrets here, sk-short');
  });

  it('survives metadata JSON cannot encode', () => {
    const row = spendLogRow(makeCall({ metadata: { big: 1n } }));
    expect(JSON.parse(row.metadata ?? '{}')).toMatchObject({ request_metadata: '[not serializable]' });
  });
});
