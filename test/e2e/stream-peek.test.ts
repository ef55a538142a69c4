/**
 * "Retry/fallback is allowed until the first byte reaches the client": an Anthropic stream that opens
 * with message_start (and a ping) and then reports overloaded_error has produced no content yet. A
 * translated client (OpenAI surface) has received nothing but headers the gateway chose to flush, so
 * the failure must still be a retryable error status, not a 200 stream holding one error event.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeUpstream } from '../fakes/index.js';
import { postJson, recordFor, startE2E, type E2E } from './harness.js';

let dir: string;
let replay: FakeUpstream;
let e2e: E2E;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-e2e-'));
  const chunks = join(dir, 'overloaded-after-start.chunks.txt');
  const usage = { input_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
  const lines = [
    { type: 'message_start', message: { id: 'msg_01Replay', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage } },
    { type: 'ping' },
    { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
  ];
  await writeFile(chunks, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  replay = await startFakeAnthropic({ replay: { chunks } });
  e2e = await startE2E({
    extraModels: () => `
  - model_name: claude-overloaded
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${replay.url}", api_key: sk-ant-fake }`,
  });
});
afterAll(async () => {
  await e2e.close();
  await replay.close();
  await rm(dir, { recursive: true, force: true });
});

describe('overloaded_error after message_start, before any content', () => {
  it('OpenAI surface (translated): an error status with the OpenAI envelope, and a failed attempt', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'claude-overloaded', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const text = await res.text();
    expect(res.status, `body: ${text}`).toBe(529);
    expect(JSON.parse(text)).toMatchObject({ error: { message: 'Overloaded' } });
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 529 });
    expect(record.attempts).toEqual([expect.objectContaining({ outcome: 'failure', status: 529 })]);
  });

  it('Anthropic surface (passthrough): whatever the timing, the client sees the overload and the record is a failure', async () => {
    const res = await postJson(e2e.url, '/v1/messages', { model: 'claude-overloaded', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const text = await res.text();
    expect(text).toContain('overloaded_error');
    const record = await recordFor(e2e.gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record.outcome).toBe('failure');
    expect(record.error?.upstreamType ?? record.error?.code).toMatch(/overloaded/);
  });
});
