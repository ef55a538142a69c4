/**
 * The session report through the real server, on SQLite and on Postgres: a Claude Code session
 * (`x-claude-code-session-id`, `claude-cli/2.0.14`) of four /v1/messages calls — a cache write, a
 * streamed cache read, another model with another key, an upstream 400 — a Codex session (`session-id`,
 * `codex_exec/0.171.0`) of two chat calls, one of them a recorded stream with reasoning tokens, and
 * one call that names no session. Every number of `GET /global/spend/report?group_by=session` and
 * `GET /spend/sessions/{id}` is checked against values worked out here: tokens from the fakes' word
 * rule (or the recorded fixture's usage), prices from the config, times from the call records.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/loader.js';
import type { CallRecord } from '../../src/core/call-record.js';
import { hashKey } from '../../src/policy/auth.js';
import { createGateway, type Gateway } from '../../src/server.js';
import {
  ANTHROPIC_FAKE_KEY, ANTHROPIC_REPLY_TEXT, anthropicError, countWords, fixtureReplayOpenAI, OPENAI_FAKE_KEY, OPENAI_REPLY_TEXT,
  startFakeAnthropic, startFakeOpenAI, type FakeUpstream,
} from '../fakes/index.js';
import { adminPost } from '../helpers/calls.js';
import { BACKENDS, createPostgresSchema } from '../storage/backends.js';
import { newCallId, recordFor, sleep, words } from './harness.js';

const MASTER = 'sk-master-session-report';
/** Prices in nano-USD per token (exact integers), written into the config as USD. */
const NANO = { aIn: 3000, aOut: 15_000, aRead: 300, aWrite: 3750, oIn: 1000, oOut: 2000, oRead: 500 } as const;
const usd = (nano: number): string => (nano / 1e9).toFixed(12);
const CLAUDE_UA = 'claude-cli/2.0.14 (external, cli)';
/** The rest of the Claude session comes from a later version: the report names the first call's agent. */
const CLAUDE_UA_LATER = 'claude-cli/2.0.15 (external, cli)';
const CODEX_UA = 'codex_exec/0.171.0 (Ubuntu 24.4.0; x86_64) xterm-256color';
const REASONING_FIXTURE = 'azure-model-router.1.chunks.txt';

/** The usage the recorded stream ends with (its last chunk), read from the fixture itself. */
function fixtureUsage(): { prompt: number; cached: number; completion: number; reasoning: number } {
  const lines = readFileSync(new URL(`../fixtures/providers/openai/${REASONING_FIXTURE}`, import.meta.url), 'utf8').trim().split('\n');
  const u = (JSON.parse(lines.at(-1)!) as { usage: Record<string, number & Record<string, number>> }).usage;
  return { prompt: u.prompt_tokens!, cached: u.prompt_tokens_details!.cached_tokens!, completion: u.completion_tokens!, reasoning: u.completion_tokens_details!.reasoning_tokens! };
}

function config(anthropic: string, openai: string, reasoning: string): string {
  const a = `input_cost_per_token: ${usd(NANO.aIn)}, output_cost_per_token: ${usd(NANO.aOut)}, cache_read_input_token_cost: ${usd(NANO.aRead)}, cache_creation_input_token_cost: ${usd(NANO.aWrite)}`;
  // The reasoning rate is set too, so no published rate of the recorded model applies.
  const o = `input_cost_per_token: ${usd(NANO.oIn)}, output_cost_per_token: ${usd(NANO.oOut)}, cache_read_input_token_cost: ${usd(NANO.oRead)}, output_cost_per_reasoning_token: ${usd(NANO.oOut)}`;
  return `
model_list:
  - model_name: claude-test
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic}", api_key: ${ANTHROPIC_FAKE_KEY}, ${a} }
  - model_name: claude-haiku-test
    litellm_params: { model: anthropic/claude-haiku-4-5, api_base: "${anthropic}", api_key: ${ANTHROPIC_FAKE_KEY}, ${a} }
  - model_name: gpt-test
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${openai}/v1", api_key: ${OPENAI_FAKE_KEY}, ${o} }
  - model_name: gpt-reasoning
    litellm_params: { model: openai/gpt-5-nano, api_base: "${reasoning}/v1", api_key: ${OPENAI_FAKE_KEY}, ${o} }
general_settings: { master_key: ${MASTER} }
`;
}

interface Session {
  session_id: string;
  spend: number;
  unpriced_requests: number;
  requests: number;
  successful_requests: number;
  failed_requests: number;
  models: string[];
  api_keys: string[];
  users: string[];
  client: string | null;
  user_agent: string | null;
  first_request_at: string;
  last_request_at: string;
  ended_at: string;
  duration_seconds: number;
  tokens: { input: number; cache_read: number; cache_write: number; output: number; reasoning: number; total: number };
  cache_hit_share: number;
}

interface World {
  gateway: Gateway;
  url: string;
  fakes: FakeUpstream[];
  cleanup: () => Promise<void>;
}

async function startWorld(backend: 'sqlite' | 'postgres'): Promise<World> {
  const fakes = [await startFakeAnthropic(), await startFakeOpenAI(), await startFakeOpenAI(fixtureReplayOpenAI(REASONING_FIXTURE))];
  const [anthropic, openai, reasoning] = fakes.map((f) => f.url) as [string, string, string];
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sessions-'));
  const pg = backend === 'postgres' ? await createPostgresSchema() : undefined;
  const gateway = createGateway(parseConfigText(config(anthropic, openai, reasoning), 'session-report.yaml', {}), {
    env: {},
    databaseUrl: pg?.url ?? ':memory:',
    dataDir: dir,
    spendFlushIntervalMs: 50,
  });
  const url = await gateway.listen(0, '127.0.0.1');
  return {
    gateway,
    url,
    fakes,
    cleanup: async () => {
      await gateway.close();
      await Promise.all(fakes.map((f) => f.close()));
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const day = (offsetDays: number): string => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
const RANGE = `start_date=${day(-1)}&end_date=${day(1)}`;

const pgSkip = BACKENDS.find((b) => b.name === 'postgres')?.skip;

describe.each([
  ['sqlite', undefined],
  ['postgres', pgSkip],
] as const)('session report on %s', (backend, skip) => {
  let w: World;
  let keyA: string;
  let keyB: string;
  let keyC: string;
  const claudeSession = `cc-${randomUUID()}`;
  const codexSession = `codex-${randomUUID()}`;
  const claudeCalls: string[] = [];
  const codexCalls: string[] = [];
  let loneCall = '';
  const records = new Map<string, CallRecord>();

  const get = (path: string, key = MASTER): Promise<Response> => fetch(`${w.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const report = async (extra = ''): Promise<Session[]> => {
    const res = await get(`/global/spend/report?group_by=session&${RANGE}${extra}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Session[];
  };

  async function call(path: string, key: string, body: object, headers: Record<string, string>, status = 200): Promise<string> {
    const id = newCallId();
    const res = await fetch(`${w.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-litellm-call-id': id, ...headers },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(status);
    await res.text();
    records.set(id, await recordFor(w.gateway, id));
    return id;
  }

  beforeAll(async () => {
    if (skip !== undefined) return;
    w = await startWorld(backend);
    keyA = (await adminPost(w.url, MASTER, '/key/generate', { user_id: 'alice' })).key as string;
    keyB = (await adminPost(w.url, MASTER, '/key/generate', { user_id: 'bob' })).key as string;
    keyC = (await adminPost(w.url, MASTER, '/key/generate', { user_id: 'carol' })).key as string;
    const claude = { 'user-agent': CLAUDE_UA, 'x-claude-code-session-id': claudeSession };
    const cached = {
      model: 'claude-test',
      max_tokens: 64,
      system: [{ type: 'text', text: words(40, 'sysa'), cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'please say hello' }],
    };
    claudeCalls.push(await call('/v1/messages', keyA, cached, claude));
    claude['user-agent'] = CLAUDE_UA_LATER;
    claudeCalls.push(await call('/v1/messages', keyA, { ...cached, stream: true }, claude));
    claudeCalls.push(await call('/v1/messages', keyC, { model: 'claude-haiku-test', max_tokens: 64, messages: [{ role: 'user', content: 'quick question here now' }] }, claude));
    w.fakes[0]!.script([{ status: 400, body: anthropicError('invalid_request_error', 'prompt is too long') }]);
    claudeCalls.push(await call('/v1/messages', keyA, cached, claude, 400));

    const codex = { 'user-agent': CODEX_UA, 'session-id': codexSession };
    codexCalls.push(await call('/v1/chat/completions', keyB, { model: 'gpt-test', messages: [{ role: 'user', content: 'one two three four five' }] }, codex));
    codexCalls.push(
      await call('/v1/chat/completions', keyB, { model: 'gpt-reasoning', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'think' }] }, codex),
    );
    loneCall = await call('/v1/chat/completions', keyB, { model: 'gpt-test', messages: [{ role: 'user', content: 'no session here' }] }, { 'user-agent': 'curl/8.5.0' });

    // Spend rows are flushed in the background: wait for all seven.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const rows = (await (await get(`/spend/logs?limit=1000`)).json()) as unknown[];
      if (rows.length >= 7) break;
      if (Date.now() > deadline) throw new Error(`only ${rows.length} spend rows`);
      await sleep(50);
    }
  }, 30_000);
  afterAll(async () => {
    if (skip === undefined) await w.cleanup();
  });

  /** What the report must say about the calls `ids`, from their records (the spend row rounds times to ms). */
  function times(ids: string[]): Pick<Session, 'first_request_at' | 'last_request_at' | 'ended_at' | 'duration_seconds'> {
    const recs = ids.map((id) => records.get(id)!);
    const first = Math.min(...recs.map((r) => Math.round(r.startedAt)));
    const lastStart = Math.max(...recs.map((r) => Math.round(r.startedAt)));
    const end = Math.max(...recs.map((r) => Math.round(r.endedAt)));
    return { first_request_at: new Date(first).toISOString(), last_request_at: new Date(lastStart).toISOString(), ended_at: new Date(end).toISOString(), duration_seconds: (end - first) / 1000 };
  }

  const out = countWords(ANTHROPIC_REPLY_TEXT);
  const question = countWords('please say hello');
  const haikuInput = countWords('quick question here now');
  // Call 1 writes the 40-word system prompt, call 2 reads it, call 3 caches nothing, call 4 failed upstream.
  const claudeNano =
    question * NANO.aIn + 40 * NANO.aWrite + out * NANO.aOut +
    (question * NANO.aIn + 40 * NANO.aRead + out * NANO.aOut) +
    (haikuInput * NANO.aIn + out * NANO.aOut);
  const fx = fixtureUsage();
  const codexNano = countWords('one two three four five') * NANO.oIn + countWords(OPENAI_REPLY_TEXT) * NANO.oOut + fx.prompt * NANO.oIn + fx.completion * NANO.oOut;

  function expectedClaude(): Session {
    const input = question * 2 + haikuInput;
    return {
      session_id: claudeSession,
      spend: claudeNano / 1e9,
      unpriced_requests: 0,
      requests: 4,
      successful_requests: 3,
      failed_requests: 1,
      models: ['claude-haiku-test', 'claude-test'],
      api_keys: [hashKey(keyA), hashKey(keyC)].sort(),
      users: ['alice', 'carol'],
      client: 'claude-cli',
      user_agent: CLAUDE_UA,
      ...times(claudeCalls),
      tokens: { input, cache_read: 40, cache_write: 40, output: 3 * out, reasoning: 0, total: input + 80 + 3 * out },
      cache_hit_share: 40 / (input + 80),
    };
  }

  function expectedCodex(): Session {
    const input = countWords('one two three four five') + fx.prompt - fx.cached;
    const output = countWords(OPENAI_REPLY_TEXT) + fx.completion;
    return {
      session_id: codexSession,
      spend: codexNano / 1e9,
      unpriced_requests: 0,
      requests: 2,
      successful_requests: 2,
      failed_requests: 0,
      models: ['gpt-reasoning', 'gpt-test'],
      api_keys: [hashKey(keyB)],
      users: ['bob'],
      client: 'codex_exec',
      user_agent: CODEX_UA,
      ...times(codexCalls),
      tokens: { input, cache_read: fx.cached, cache_write: 0, output, reasoning: fx.reasoning, total: input + fx.cached + output },
      cache_hit_share: 0,
    };
  }

  /** Spend is a float sum: compared to 1e-12 USD, everything else exactly. */
  function expectSession(actual: Session | undefined, expected: Session): void {
    expect(actual).toBeDefined();
    const { spend, ...rest } = actual!;
    const { spend: want, ...wantRest } = expected;
    expect(rest).toEqual(wantRest);
    expect(spend).toBeCloseTo(want, 12);
  }

  it.skipIf(skip !== undefined)('per session, most spent first; the call without a session is left out', async () => {
    // The worked-out numbers themselves, so a wrong fixture read cannot pass silently.
    expect(claudeNano).toBe(219_000 + 81_000 + 72_000);
    expect(fx).toEqual({ prompt: 15, cached: 0, completion: 78, reasoning: 64 });
    const sessions = await report();
    expect(sessions.map((s) => s.session_id)).toEqual([claudeSession, codexSession]);
    expectSession(sessions[0], expectedClaude());
    expectSession(sessions[1], expectedCodex());
    // The session-less call is stored, under its own call id, and still not a session.
    const lone = records.get(loneCall)!;
    expect(lone.sessionId).toBe(lone.callId);
    const rows = (await (await get(`/spend/logs?session_id=${lone.callId}`)).json()) as unknown[];
    expect(rows).toHaveLength(1);
  });

  it.skipIf(skip !== undefined)('pages like /spend/logs and takes the report filters', async () => {
    const res = await get(`/global/spend/report?group_by=session&${RANGE}&limit=1`);
    expect(res.headers.get('x-tollgate-truncated')).toBe('true; limit=1; next_offset=1');
    expect(((await res.json()) as Session[]).map((s) => s.session_id)).toEqual([claudeSession]);
    const second = await get(`/global/spend/report?group_by=session&${RANGE}&limit=1&offset=1`);
    expect(second.headers.get('x-tollgate-truncated')).toBeNull();
    expect(((await second.json()) as Session[]).map((s) => s.session_id)).toEqual([codexSession]);
    // By key: only the Claude session's calls with key C count.
    const byKey = await report(`&api_key=${keyC}`);
    expect(byKey.map((s) => [s.session_id, s.requests, s.models, s.tokens.input])).toEqual([[claudeSession, 1, ['claude-haiku-test'], haikuInput]]);
    expect(await report('&internal_user_id=bob')).toHaveLength(1);
    expect(await get(`/global/spend/report?group_by=session&start_date=2020-01-01&end_date=2020-01-02`).then((r) => r.json())).toEqual([]);
  });

  it.skipIf(skip !== undefined)('/spend/sessions/{id}: the summary and its calls, oldest first', async () => {
    for (const [id, calls, expected] of [
      [claudeSession, claudeCalls, expectedClaude()],
      [codexSession, codexCalls, expectedCodex()],
    ] as const) {
      const res = await get(`/spend/sessions/${encodeURIComponent(id)}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Session & { calls: { session_id: string; metadata: { tollgate: { litellm_call_id: string } } }[]; calls_truncated: boolean };
      const { calls: rows, calls_truncated: truncated, ...summary } = body;
      expectSession(summary, expected);
      expect(rows.map((r) => r.metadata.tollgate.litellm_call_id)).toEqual(calls);
      expect(rows.every((r) => r.session_id === id)).toBe(true);
      expect(truncated).toBe(false);
    }
    const missing = await get('/spend/sessions/no-such-session');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe('Session not found: no-such-session');
    // A call without a session is no session of its own.
    expect((await get(`/spend/sessions/${records.get(loneCall)!.callId}`)).status).toBe(404);
  });

  it.skipIf(skip !== undefined)('refusals: non-admin keys as the other reports, missing dates, unknown group_by', async () => {
    const team = await get(`/global/spend/report?${RANGE}`, keyA);
    const session = await get(`/global/spend/report?group_by=session&${RANGE}`, keyA);
    expect(session.status).toBe(403);
    expect(team.status).toBe(403);
    expect(await session.json()).toEqual(await team.json());
    expect((await get(`/spend/sessions/${claudeSession}`, keyA)).status).toBe(403);
    expect((await get('/global/spend/report?group_by=session')).status).toBe(400);
    const unknown = await get(`/global/spend/report?group_by=nope&${RANGE}`);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe('group_by must be one of team, customer, api_key, model, session');
  });
});
