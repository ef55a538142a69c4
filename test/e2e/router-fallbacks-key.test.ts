/**
 * Per-key `disable_fallbacks`: a key generated with `metadata.disable_fallbacks: true` (as LiteLLM
 * allows on /key/generate) gets the failing group's error, while another key's identical request
 * falls back. Through the real server with the official Anthropic SDK.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicClient, newCallId, postJson, recordFor } from './harness.js';
import { generations, routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

let e2e: RouterE2E;
const messages = [{ role: 'user' as const, content: 'Say hello.' }];

async function newKey(metadata: Record<string, unknown>): Promise<string> {
  const res = await postJson(e2e.url, '/key/generate', { metadata });
  expect(res.status).toBe(200);
  return ((await res.json()) as { key: string }).key;
}

beforeAll(async () => {
  e2e = await startRouterE2E({ anthropic: 1, openai: 1 }, (f) => `
model_list:
  - model_name: claude-main
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${f.a[0]}", api_key: sk-ant-fake }
    model_info: { id: claude-main-1 }
  - model_name: gpt-backup
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake }
    model_info: { id: gpt-backup-1 }
router_settings:
  fallbacks: [{ claude-main: [gpt-backup] }]
  disable_cooldowns: true
`);
});
afterAll(() => e2e.close());

describe('per-key disable_fallbacks', () => {
  it('a key with metadata.disable_fallbacks: true gets the 529; the upstream never sees the option', async () => {
    const key = await newKey({ disable_fallbacks: true });
    e2e.anthropic[0]!.script([{ status: 529 }]);
    const backupBefore = generations(e2e.openai[0]!);
    const callId = newCallId();
    const err: unknown = await anthropicClient(e2e.url, { apiKey: key })
      .messages.create({ model: 'claude-main', max_tokens: 16, messages }, { headers: { 'x-litellm-call-id': callId } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((err as InstanceType<typeof Anthropic.APIError>).headers?.get('x-litellm-attempted-fallbacks')).toBe('0');
    expect(generations(e2e.openai[0]!)).toBe(backupBefore);
    const sent = e2e.anthropic[0]!.requests.at(-1)!;
    expect(sent.json).not.toHaveProperty('disable_fallbacks');
    expect(sent.json).not.toHaveProperty('metadata.disable_fallbacks');
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ fallbacks: 0, httpStatus: 529, modelGroup: 'claude-main' });
    expect(record.attempts.map((a) => a.deploymentId)).toEqual(['claude-main-1']);
  });

  it('the key overrides a request asking for fallbacks (disable_fallbacks: false in the body)', async () => {
    const key = await newKey({ disable_fallbacks: true });
    e2e.anthropic[0]!.script([{ status: 529 }]);
    const res = await postJson(e2e.url, '/v1/messages', { model: 'claude-main', max_tokens: 16, messages, disable_fallbacks: false }, { authorization: `Bearer ${key}` });
    expect(res.status).toBe(529);
    expect(res.headers.get('x-litellm-attempted-fallbacks')).toBe('0');
  });

  it('a key without it (metadata present, flag absent) still falls back', async () => {
    const key = await newKey({ team: 'research' });
    e2e.anthropic[0]!.script([{ status: 529 }]);
    const { data, response } = await anthropicClient(e2e.url, { apiKey: key }).messages.create({ model: 'claude-main', max_tokens: 16, messages }).withResponse();
    expect(data.content.map((b) => (b.type === 'text' ? b.text : '')).join('')).toBe('Hello from fake openai.');
    expect(routing(response.headers)).toMatchObject({ modelId: 'gpt-backup-1', group: 'gpt-backup', fallbacks: '1' });
  });

  it('disable_fallbacks: false in key metadata leaves fallbacks on', async () => {
    const key = await newKey({ disable_fallbacks: false });
    e2e.anthropic[0]!.script([{ status: 529 }]);
    const res = await postJson(e2e.url, '/v1/messages', { model: 'claude-main', max_tokens: 16, messages }, { authorization: `Bearer ${key}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
  });
});
