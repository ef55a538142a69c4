/**
 * A coding session's id, from the client's headers or its request metadata, through the real server:
 * the call record carries it, the spend log's `session_id` is the same value, and
 * `/spend/logs?session_id=` finds the row.
 *
 * LiteLLM source (BerriAI/litellm, litellm/proxy/litellm_pre_call_utils.py):
 * `get_chain_id_from_headers` takes `x-litellm-trace-id`, then `x-litellm-session-id`, then any
 * `x-<vendor>-session-id` whose value matches `^[a-zA-Z0-9_\-]{8,}$` (Claude Code's
 * `x-claude-code-session-id`); `add_litellm_metadata_from_request_headers` then OVERWRITES
 * `data["litellm_session_id"]` with it, so a header beats the body's id. OpenAI Codex's
 * `session-id` is not read by LiteLLM; Tollgate uses it only where LiteLLM would have made an id up
 * (after metadata `litellm_session_id` and `litellm_trace_id`).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SESSION_ID_LENGTH } from '../../src/http/call/context.js';
import { MASTER_KEY, newCallId, postJson, recordFor, sleep, startE2E, type E2E } from './harness.js';

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => {
  await e2e.close();
});

interface SpendRow {
  request_id: string;
  session_id: string;
}

/** The spend rows of a session, once `count` of them have been flushed. */
async function spendRows(sessionId: string, count: number): Promise<SpendRow[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const res = await fetch(`${e2e.url}/spend/logs?session_id=${encodeURIComponent(sessionId)}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(res.status).toBe(200);
    const rows = (await res.json()) as SpendRow[];
    if (rows.length >= count || Date.now() > deadline) return rows;
    await sleep(20);
  }
}

/** One chat call (mock upstream) with these headers and metadata; returns the record's session id. */
async function chat(headers: Record<string, string>, metadata?: Record<string, unknown>): Promise<{ sessionId: string | undefined; callId: string }> {
  const id = newCallId();
  const body = { model: 'mock-test', messages: [{ role: 'user', content: 'hi' }], ...(metadata === undefined ? {} : { metadata }) };
  const res = await postJson(e2e.url, '/v1/chat/completions', body, { 'x-litellm-call-id': id, ...headers });
  expect(res.status, await res.clone().text()).toBe(200);
  await res.text();
  const record = await recordFor(e2e.gw.gateway, id);
  return { sessionId: record.sessionId, callId: record.callId };
}

const uuid = (): string => randomUUID();

describe('each client header names the session', () => {
  it("Claude Code's x-claude-code-session-id on /v1/messages: record and spend row", async () => {
    const session = uuid();
    const id = newCallId();
    const res = await postJson(e2e.url, '/v1/messages', { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }, {
      'x-litellm-call-id': id,
      'anthropic-version': '2023-06-01',
      'user-agent': 'claude-cli/2.1.0 (external, cli)',
      'x-claude-code-session-id': session,
    });
    expect(res.status).toBe(200);
    await res.text();
    expect((await recordFor(e2e.gw.gateway, id)).sessionId).toBe(session);
    const rows = await spendRows(session, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.session_id).toBe(session);
  });

  it.each([
    ['x-litellm-session-id', `lt-${uuid()}`],
    ['x-litellm-trace-id', `tr-${uuid()}`],
    // Codex's header; any usable string, no LiteLLM value rule (LiteLLM does not read it).
    ['session-id', `codex ${uuid()}`],
    // Another vendor's x-*-session-id, read as LiteLLM reads it.
    ['x-opencode-session-id', `oc_${uuid()}`],
  ])('%s', async (header, session) => {
    expect((await chat({ [header]: session })).sessionId).toBe(session);
    const rows = await spendRows(session, 1);
    expect(rows.map((r) => r.session_id)).toEqual([session]);
  });

  it('two calls with the same header share one session in /spend/logs', async () => {
    const session = uuid();
    await chat({ 'x-claude-code-session-id': session });
    await chat({ 'x-claude-code-session-id': session });
    const rows = await spendRows(session, 2);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(2);
  });

  it('no header and no metadata: the call id, on the record and in the row', async () => {
    const { sessionId, callId } = await chat({});
    expect(sessionId).toBe(callId);
    expect((await spendRows(callId, 1)).map((r) => r.session_id)).toEqual([callId]);
  });
});

describe('precedence', () => {
  const all = { trace: 'trace-hdr-0001', lsession: 'lsession-hdr-0001', claude: 'claude-hdr-0001', codex: 'codex-hdr-0001' };
  const meta = { litellm_session_id: 'meta-session', litellm_trace_id: 'meta-trace' };
  it.each<[string, Record<string, string>, Record<string, unknown> | undefined, string]>([
    ['x-litellm-trace-id beats x-litellm-session-id', { 'x-litellm-trace-id': all.trace, 'x-litellm-session-id': all.lsession }, meta, all.trace],
    ['x-litellm-session-id beats the vendor and Codex headers and metadata', { 'x-litellm-session-id': all.lsession, 'x-claude-code-session-id': all.claude, 'session-id': all.codex }, meta, all.lsession],
    ["Claude Code's header beats metadata (LiteLLM overwrites the body's id)", { 'x-claude-code-session-id': all.claude, 'session-id': all.codex }, meta, all.claude],
    ['metadata litellm_session_id beats Codex', { 'session-id': all.codex }, meta, 'meta-session'],
    ['metadata litellm_trace_id beats Codex', { 'session-id': all.codex }, { litellm_trace_id: 'meta-trace' }, 'meta-trace'],
    ['Codex beats the call id', { 'session-id': all.codex }, undefined, all.codex],
  ])('%s', async (_name, headers, metadata, expected) => {
    expect((await chat(headers, metadata)).sessionId).toBe(expected);
  });

  it('the winning value is the spend row', async () => {
    const session = `win-${uuid()}`;
    await chat({ 'x-litellm-session-id': session, 'session-id': `lose-${uuid()}` }, { litellm_session_id: `lose-${uuid()}` });
    expect((await spendRows(session, 1)).map((r) => r.session_id)).toEqual([session]);
  });
});

describe('bad values are skipped, never a 500', () => {
  it(`a header of ${MAX_SESSION_ID_LENGTH} characters is used, one longer is ignored`, async () => {
    const exact = 'a'.repeat(MAX_SESSION_ID_LENGTH);
    expect((await chat({ 'x-litellm-session-id': exact })).sessionId).toBe(exact);
    const codex = `codex-${uuid()}`;
    expect((await chat({ 'x-litellm-session-id': 'b'.repeat(MAX_SESSION_ID_LENGTH + 1), 'session-id': codex })).sessionId).toBe(codex);
    const { sessionId, callId } = await chat({ 'x-claude-code-session-id': 'c'.repeat(4096) });
    expect(sessionId).toBe(callId);
  });

  it("a vendor header that fails LiteLLM's value rule is ignored", async () => {
    // Too short, and characters outside [A-Za-z0-9_-].
    const short = await chat({ 'x-claude-code-session-id': 'abc' });
    expect(short.sessionId).toBe(short.callId);
    expect((await chat({ 'x-claude-code-session-id': 'has spaces here!', 'session-id': 'codex-fallback' })).sessionId).toBe('codex-fallback');
  });

  it('an empty header falls through to the next source', async () => {
    expect((await chat({ 'x-litellm-session-id': '', 'x-claude-code-session-id': 'claude-next-0001' })).sessionId).toBe('claude-next-0001');
  });

  it('non-string metadata ids are ignored', async () => {
    expect((await chat({ 'session-id': 'codex-after-bad-meta' }, { litellm_session_id: 42, litellm_trace_id: { id: 'x' } })).sessionId).toBe('codex-after-bad-meta');
    const { sessionId, callId } = await chat({}, { litellm_session_id: ['a'], litellm_trace_id: null });
    expect(sessionId).toBe(callId);
  });

  it('a header value with quotes and punctuation is kept as sent and still answers 200', async () => {
    const odd = 'codex "quoted" <tag> ; semi';
    expect((await chat({ 'session-id': odd })).sessionId).toBe(odd);
    expect((await spendRows(odd, 1)).map((r) => r.session_id)).toEqual([odd]);
  });
});
