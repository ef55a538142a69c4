/**
 * The spend writer: batching off the request path, flush on size and on the timer, close flushes
 * everything, a failing store keeps its rows for the next flush and is logged once; and the one
 * conversion of a CallRecord into its row.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redactSecrets, responseIdOf, spendLogRow, SpendWriter, type SpendWriterLogger } from '../../src/accounting/spend-writer.js';
import { hashKey } from '../../src/policy/auth.js';
import { openDatabase } from '../../src/storage/database.js';
import type { DailySpendRow, DrainResult, SessionAggregate, SpendAggregate, SpendLogRow, SpendLogStore, StoredSpendLog } from '../../src/storage/ports.js';
import { makeCall } from './calls.js';

class FakeStore implements SpendLogStore {
  readonly batches: SpendLogRow[][] = [];
  failing: Error | undefined;
  calls = 0;

  insertMany(rows: readonly SpendLogRow[]): Promise<void> {
    return this.append(rows);
  }
  append(rows: readonly SpendLogRow[]): Promise<void> {
    this.calls += 1;
    if (this.failing !== undefined) return Promise.reject(this.failing);
    this.batches.push([...rows]);
    this.undrained += rows.length;
    return Promise.resolve();
  }
  /** Rows appended and not yet drained, and the drains asked for. */
  undrained = 0;
  drains = 0;
  drain(): Promise<DrainResult> {
    this.drains += 1;
    const folded = this.undrained;
    this.undrained = 0;
    return Promise.resolve({ folded, parked: 0 });
  }
  query(): Promise<StoredSpendLog[]> {
    return Promise.resolve(this.batches.flat());
  }
  report(): Promise<SpendAggregate[]> {
    return Promise.resolve([]);
  }
  daily(): Promise<DailySpendRow[]> {
    return Promise.resolve([]);
  }
  sessions(): Promise<SessionAggregate[]> {
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
  it('folds after each flush and on close: close() returns with nothing appended left undrained', async () => {
    const store = new FakeStore();
    const w = new SpendWriter(store, { flushIntervalMs: 60_000, logger: recordingLogger() });
    w.record(makeCall());
    w.record(makeCall());
    await w.flush();
    // The flush started a fold in the background.
    expect(store.drains).toBe(1);
    w.record(makeCall());
    await w.close();
    expect(store.rows).toHaveLength(3);
    expect(store.undrained).toBe(0);
  });

  it('logs a failing fold once, keeps going, and says when it works again', async () => {
    const store = new FakeStore();
    const logger = recordingLogger();
    let failFold = true;
    const drain = store.drain.bind(store);
    store.drain = () => (failFold ? Promise.reject(new Error('database locked')) : drain());
    const w = writer(store, { logger });
    w.record(makeCall());
    await w.flush();
    w.record(makeCall());
    await w.flush();
    await new Promise((r) => setImmediate(r));
    failFold = false;
    await w.close();
    expect(logger.lines).toEqual([
      { level: 'error', msg: 'spend log: folding appended calls into the spend tables failed; they are kept and folded on the next try' },
      { level: 'warn', msg: 'spend log: folding works again; appended calls folded' },
    ]);
    expect(store.undrained).toBe(0);
  });

  it('record() only queues: nothing reaches the store until a flush, which writes all in one batch', async () => {
    const store = new FakeStore();
    const w = writer(store);
    const calls = [makeCall(), makeCall(), makeCall()];
    for (const c of calls) w.record(c);
    expect(store.calls).toBe(0);
    expect(w.pendingRows).toBe(3);
    await w.flush();
    expect(store.batches).toHaveLength(1);
    expect(store.rows.map((r) => r.log.request_id)).toEqual(calls.map((c) => c.requestId));
    expect(w.pendingRows).toBe(0);
    await w.flush();
    expect(store.calls).toBe(1);
  });

  it('record() does not convert: the flush does, skipping (and logging) a call that cannot be converted', async () => {
    const store = new FakeStore();
    const logger = recordingLogger();
    const w = writer(store, { logger });
    const broken = makeCall();
    let reads = 0;
    Object.defineProperty(broken, 'usage', {
      get() {
        reads += 1;
        throw new Error('not a usage');
      },
    });
    const good = makeCall();
    w.record(broken);
    w.record(good);
    expect(reads).toBe(0);
    await w.flush();
    expect(reads).toBe(1);
    expect(store.rows.map((r) => r.log.request_id)).toEqual([good.requestId]);
    expect(logger.lines).toEqual([{ level: 'error', msg: 'spend log: could not convert call record; row skipped' }]);
  });

  it('a flush appends in chunks of 100 calls, in order; a store failing mid-flush keeps the rest queued', async () => {
    const store = new FakeStore();
    const w = writer(store, { maxBatchRows: 1000 });
    const calls = Array.from({ length: 250 }, () => makeCall());
    for (const c of calls) w.record(c);
    await w.flush();
    expect(store.batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(store.rows.map((r) => r.log.request_id)).toEqual(calls.map((c) => c.requestId));

    const failing = new FakeStore();
    const w2 = writer(failing, { maxBatchRows: 1000, logger: recordingLogger() });
    const more = Array.from({ length: 250 }, () => makeCall());
    for (const c of more) w2.record(c);
    const append = failing.append.bind(failing);
    failing.append = (rows) => {
      // The second chunk (and both probes of it) meet a store that has gone down.
      if (failing.batches.length >= 1) failing.failing = new Error('down');
      return append(rows);
    };
    await w2.flush();
    expect(failing.rows).toHaveLength(100);
    expect(w2.pendingRows).toBe(150);
    failing.failing = undefined;
    failing.append = append;
    await w2.flush();
    expect(failing.rows.map((r) => r.log.request_id)).toEqual(more.map((c) => c.requestId));
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
    expect(store.rows.map((r) => r.log.request_id)).toEqual([...calls, later].map((c) => c.requestId));
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
    expect(store.rows.map((r) => r.log.request_id)).toEqual(calls.slice(2).map((c) => c.requestId));
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
  it('fills LiteLLM_SpendLogs as LiteLLM does and keeps the exact detail beside it', () => {
    const call = makeCall();
    const { log, details } = spendLogRow(call, { teamAlias: 'Team A', organizationId: 'org-1' });
    // makeCall: uncached 12, cache read 1802, cache write 5m 0, output 100; cost 2 340 600 nano-USD.
    expect(log).toMatchObject({
      request_id: call.requestId,
      call_type: 'anthropic_messages',
      api_key: hashKey('sk-test-key-0001'),
      spend: 0.0023406,
      prompt_tokens: 1814,
      completion_tokens: 100,
      total_tokens: 1914,
      startTime: call.startedAt,
      endTime: Math.round(call.endedAt),
      request_duration_ms: 1235,
      completionStartTime: Math.round(call.startedAt + 210.4),
      model: 'claude-sonnet-4-5',
      model_id: 'dep-1',
      model_group: 'claude-sonnet',
      custom_llm_provider: 'anthropic',
      api_base: 'https://api.anthropic.com',
      user: 'alice',
      team_id: 'team-a',
      organization_id: 'org-1',
      end_user: 'cust-1',
      cache_hit: 'False',
      cache_key: 'Cache OFF',
      request_tags: ['job:nightly', 'team:ml'],
      status: 'success',
      session_id: call.callId,
      requester_ip_address: null,
      mcp_namespaced_tool_name: null,
      agent_id: null,
    });
    expect(log.metadata).toMatchObject({
      user_api_key: hashKey('sk-test-key-0001'),
      user_api_key_alias: 'ci-key',
      user_api_key_team_id: 'team-a',
      user_api_key_team_alias: 'Team A',
      user_api_key_org_id: 'org-1',
      user_api_key_user_id: 'alice',
      spend_logs_metadata: { ticket: 'T-1' },
      status: 'success',
      error_information: null,
      usage_object: {
        prompt_tokens: 1814,
        completion_tokens: 100,
        total_tokens: 1914,
        cache_read_input_tokens: 1802,
        cache_creation_input_tokens: 0,
        prompt_tokens_details: { cached_tokens: 1802, cache_creation_tokens: 0, cache_creation_token_details: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: null } },
        completion_tokens_details: { reasoning_tokens: null },
      },
      // 1234.6 ms in all, 1200.2 upstream.
      litellm_overhead_time_ms: 1234.6 - 1200.2,
    });
    expect(details).toMatchObject({
      call_id: call.callId,
      request_id: call.requestId,
      litellm_call_id: call.requestId,
      surface: 'anthropic-messages',
      route: '/v1/messages',
      requested_model: 'claude-sonnet',
      upstream_model: 'claude-sonnet-4-5',
      provider: 'anthropic',
      stream: true,
      passthrough: true,
      status_code: 200,
      outcome: 'success',
      input_uncached_tokens: 12,
      cache_read_tokens: 1802,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: null,
      cache_write_unknown_ttl_tokens: null,
      output_tokens: 100,
      reasoning_tokens: null,
      cost_nano_usd: 2_340_600,
      ttft_ms: 210,
      upstream_ms: 1200,
      duration_ms: 1235,
      user_agent: 'vitest',
      client_disconnected: false,
    });
    expect(JSON.parse(details.attempts)).toEqual([{ deployment_id: 'dep-1', outcome: 'success', status: 200, error_code: null, duration_ms: 1200 }]);
  });

  it('keys the row by the response id when the answer had one (LiteLLM\'s rule), keeping the call id in the details', () => {
    const call = makeCall({ responseId: 'msg_01abc' });
    const { log, details } = spendLogRow(call);
    expect(log.request_id).toBe('msg_01abc');
    expect(details).toMatchObject({ request_id: 'msg_01abc', litellm_call_id: call.requestId });
  });

  it('an unknown cost is 0 in LiteLLM\'s column and null in the details; a failure carries LiteLLM\'s error_information', () => {
    const { log, details } = spendLogRow(
      makeCall({
        deployment: undefined,
        upstreamModel: undefined,
        modelGroup: undefined,
        principal: { isMaster: false },
        costNanoUsd: null,
        costMissingReason: 'no_deployment',
        outcome: 'failure',
        httpStatus: 429,
        error: { code: 'rate_limit', message: 'slow down' },
        attempts: [{ deploymentId: 'dep-9', startedAt: 0, durationMs: 3, outcome: 'failure', status: 429, errorCode: 'rate_limit' }],
        usage: {},
        metadata: undefined,
      }),
    );
    expect(log).toMatchObject({ spend: 0, model_id: 'dep-9', model: 'claude-sonnet', model_group: '', custom_llm_provider: '', api_base: '', api_key: '', user: '', team_id: '', end_user: '', organization_id: '', status: 'failure', prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, request_tags: [] });
    expect(log.metadata.error_information).toEqual({ error_code: '429', error_class: 'RateLimitError', llm_provider: '', traceback: '', error_message: 'slow down' });
    expect(details).toMatchObject({ cost_nano_usd: null, cost_missing_reason: 'no_deployment', outcome: 'failure', status_code: 429, error_class: 'rate_limit', input_uncached_tokens: null, output_tokens: null });
  });

  it('never carries a plaintext key: a non-hash keyHash is hashed, key-shaped strings are masked', () => {
    const plaintext = 'sk-live-abcdefghijklmnop1234';
    const row = spendLogRow(
      makeCall({
        principal: { isMaster: false, keyHash: plaintext },
        outcome: 'failure',
        error: { code: 'authentication', message: `Incorrect API key provided: ${plaintext}` },
        metadata: { spend_logs_metadata: { note: `key was ${plaintext}` }, tags: [plaintext] },
      }),
    );
    expect(row.log.api_key).toBe(hashKey(plaintext));
    expect(JSON.stringify(row)).not.toContain(plaintext);
    expect(row.details.error_message).toBe('Incorrect API key provided: sk-...1234');
    expect(row.log.metadata.spend_logs_metadata).toEqual({ note: 'key was sk-...1234' });
    expect(redactSecrets('no secrets here, sk-short')).toBe('no secrets here, sk-short');
  });

  it('survives metadata JSON cannot encode', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const row = spendLogRow(makeCall({ metadata: { spend_logs_metadata: { big: 1n, cyclic } } }));
    expect(row.log.metadata.spend_logs_metadata).toEqual({ big: '[not serializable]', cyclic: { a: 1, self: '[not serializable]' } });
    expect(() => JSON.stringify(row)).not.toThrow();
  });
});

describe('responseIdOf', () => {
  it('reads the answer id from a JSON body or the first stream chunk, and nothing else', () => {
    expect(responseIdOf('{"id":"chatcmpl-abc","object":"chat.completion","choices":[]}')).toBe('chatcmpl-abc');
    expect(responseIdOf(Buffer.from('data: {"id":"chatcmpl-s1","object":"chat.completion.chunk"}\n\n'))).toBe('chatcmpl-s1');
    expect(responseIdOf('event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01X","type":"message"}}\n\n')).toBe('msg_01X');
    expect(responseIdOf('{"type":"message","content":[{"type":"tool_use","toolUseId":"x"}]}')).toBeUndefined();
    expect(responseIdOf(undefined)).toBeUndefined();
  });
});
