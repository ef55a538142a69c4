/**
 * `SpendLogStore.sessions` on SQLite and Postgres, over rows the spend writer makes from
 * CallRecords and rows written the way a LiteLLM proxy writes them (no Tollgate details): what is
 * a session, how the token kinds fall back when the details do not split them, the first user
 * agent, failures, the order and the filters. Expected sums are worked out from the seeds below.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spendLogRow } from '../../src/accounting/spend-writer.js';
import type { CallRecord } from '../../src/core/call-record.js';
import { openDatabase } from '../../src/storage/database.js';
import type { Database, SessionAggregate } from '../../src/storage/ports.js';
import { BACKENDS, createPostgresSchema } from './backends.js';
import { makeCall, MAR10 } from './calls.js';

interface Opened {
  db: Database;
  /** One statement with `$n` parameters, run outside the store (as another tool would). */
  exec: (query: string, params: unknown[]) => Promise<void>;
  time: (epochMs: number) => string;
  close: () => Promise<void>;
}

async function openSqlite(): Promise<Opened> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sessions-'));
  const path = join(dir, 'tollgate.db');
  const db = openDatabase(path, dir);
  await db.migrate();
  const conn = new BetterSqlite3(path);
  return {
    db,
    exec: (q, params) => {
      conn.prepare(q.replace(/\$(\d+)/g, '?$1')).run(Object.fromEntries(params.map((v, i) => [i + 1, v])));
      return Promise.resolve();
    },
    time: (t) => new Date(t).toISOString(),
    close: async () => {
      conn.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(): Promise<Opened> {
  const { url, drop } = await createPostgresSchema();
  const db = openDatabase(url, tmpdir());
  await db.migrate();
  const conn = new pg.Client({ connectionString: url });
  await conn.connect();
  return {
    db,
    exec: async (q, params) => {
      await conn.query(q, params);
    },
    time: (t) => new Date(t).toISOString().slice(0, -1).replace('T', ' '),
    close: async () => {
      await conn.end();
      await db.close();
      await drop();
    },
  };
}

const pgSkip = BACKENDS.find((b) => b.name === 'postgres')?.skip;
const T0 = MAR10 + 3_600_000;
const BOB = { isMaster: false, keyHash: 'b'.repeat(64), userId: 'bob' };

const call = (sessionId: string | undefined, at: number, overrides: Partial<CallRecord>): CallRecord =>
  makeCall({ sessionId, startedAt: at, endedAt: at + 400, durationMs: 400, metadata: undefined, ...overrides });

describe.each([
  ['sqlite', undefined, openSqlite],
  ['postgres', pgSkip, openPostgres],
] as const)('sessions() on %s', (_name, skip, open) => {
  let o: Opened;
  let sessions: (query?: Parameters<Database['spendLogs']['sessions']>[0]) => Promise<SessionAggregate[]>;

  beforeAll(async () => {
    if (skip !== undefined) return;
    o = await open();
    sessions = (query = {}) => o.db.spendLogs.sessions(query);
    await o.db.spendLogs.insertMany(
      [
        // s1: the first call has no user agent; the earliest that has one is at T0+500 (inserted last).
        call('s1', T0, { userAgent: undefined, costNanoUsd: 100, usage: { inputUncached: 10, cacheRead: 20, cacheWrite5m: 3, cacheWrite1h: 2, output: 7, reasoning: 4 } }),
        // Only a cache read reported: nothing of prompt_tokens is left for uncached input.
        call('s1', T0 + 1000, { userAgent: 'codex_cli_rs/0.1.0 (Linux; x86_64)', costNanoUsd: 200, usage: { cacheRead: 30, output: 5 } }),
        call('s1', T0 + 500, { userAgent: 'OpenAI/Python 1.99.0', costNanoUsd: null, modelGroup: 'other', usage: { inputUncached: 1, cacheWriteUnknownTtl: 6, output: 1 } }),
        // s2: more spend, one failure, another user.
        call('s2', T0 + 2000, { userAgent: 'claude-cli/2.0.14 (external, cli)', costNanoUsd: 5000, principal: BOB, usage: { inputUncached: 2, output: 2 } }),
        call('s2', T0 + 3000, { userAgent: 'claude-cli/2.0.14 (external, cli)', costNanoUsd: 0, principal: BOB, outcome: 'failure', httpStatus: 500, usage: {} }),
        // Not sessions: an empty id, and Tollgate's fallback to the call's own id.
        call('', T0, { costNanoUsd: 999_999 }),
        call(undefined, T0, { costNanoUsd: 999_999 }),
      ].map((c) => spendLogRow(c)),
    );
    const insert = `insert into "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, "startTime", "endTime", model, model_group, "user", metadata, request_tags, team_id, end_user, status, session_id)
      values ($1, 'acompletion', '', $2, 120, 100, 20, $3, $4, 'gpt-4o', 'gpt-4o', 'carol', '{}', '[]', '', '', 'failure', $5)`;
    // A LiteLLM proxy's row (no details): its prompt_tokens are uncached input; and one without a session.
    await o.exec(insert, ['litellm-1', 0.000002, o.time(T0 + 100), o.time(T0 + 900), 'litellm-s']);
    await o.exec(insert, ['litellm-2', 1, o.time(T0), o.time(T0), null]);
  });
  afterAll(async () => {
    if (skip === undefined) await o.close();
  });

  it.skipIf(skip !== undefined)('sums each session, most spent first, and leaves out rows without one', async () => {
    expect(await sessions()).toEqual([
      {
        sessionId: 's2',
        requests: 2,
        failedRequests: 1,
        spendUsd: 5e-6,
        unpricedRequests: 0,
        modelGroups: ['claude-sonnet'],
        apiKeys: ['b'.repeat(64)],
        users: ['bob'],
        firstUserAgent: 'claude-cli/2.0.14 (external, cli)',
        firstStart: T0 + 2000,
        lastStart: T0 + 3000,
        lastEnd: T0 + 3400,
        inputUncachedTokens: 2,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 2,
        reasoningTokens: 0,
      },
      {
        sessionId: 'litellm-s',
        requests: 1,
        failedRequests: 1,
        spendUsd: 2e-6,
        unpricedRequests: 0,
        modelGroups: ['gpt-4o'],
        apiKeys: [],
        users: ['carol'],
        firstUserAgent: null,
        firstStart: T0 + 100,
        lastStart: T0 + 100,
        lastEnd: T0 + 900,
        inputUncachedTokens: 100,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 20,
        reasoningTokens: 0,
      },
      {
        sessionId: 's1',
        requests: 3,
        failedRequests: 0,
        spendUsd: 300e-9,
        unpricedRequests: 1,
        modelGroups: ['claude-sonnet', 'other'],
        apiKeys: [makeCall().principal.keyHash],
        users: ['alice'],
        firstUserAgent: 'OpenAI/Python 1.99.0',
        firstStart: T0,
        lastStart: T0 + 1000,
        lastEnd: T0 + 1400,
        inputUncachedTokens: 10 + 0 + 1,
        cacheReadTokens: 20 + 30,
        cacheWriteTokens: 3 + 2 + 6,
        outputTokens: 7 + 5 + 1,
        reasoningTokens: 4,
      },
    ]);
  });

  it.skipIf(skip !== undefined)('filters, dates and pages', async () => {
    const ids = async (query: Parameters<typeof sessions>[0]): Promise<string[]> => (await sessions(query)).map((s) => s.sessionId);
    expect(await ids({ userId: 'bob' })).toEqual(['s2']);
    expect(await ids({ apiKey: 'b'.repeat(64) })).toEqual(['s2']);
    expect(await ids({ sessionId: 's1' })).toEqual(['s1']);
    // startTime in [T0+1000, T0+2000): only s1's second call.
    const [s1] = await sessions({ from: T0 + 1000, to: T0 + 2000 });
    expect(s1).toMatchObject({ sessionId: 's1', requests: 1, cacheReadTokens: 30, firstUserAgent: 'codex_cli_rs/0.1.0 (Linux; x86_64)' });
    expect(await ids({ limit: 2 })).toEqual(['s2', 'litellm-s']);
    expect(await ids({ limit: 2, offset: 2 })).toEqual(['s1']);
  });
});
