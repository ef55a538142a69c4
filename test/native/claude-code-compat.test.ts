/**
 * Claude Code in its default (first-party) mode pointed at the gateway, its model aliased to Claude
 * on Bedrock and on Vertex. Its first turn carries what those platforms refuse — betas they do not
 * know, `context_management`, `cache_control.scope` — and features older models lack (adaptive
 * thinking, effort, `role: "system"` messages). The fakes refuse all of it as the platforms do, so
 * a 200 proves the gateway converted the request; the warnings prove it said so, once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeCompatWarnings } from '../../src/providers/anthropic/platform-compat.js';
import { MASTER_KEY, newCallId, parseSse, postJson, recordFor, words } from '../e2e/harness.js';
import { BEDROCK_FAKE_CREDENTIALS, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import type { TestGateway } from '../helpers/gateway.js';
import { startNativeGateway } from './helpers.js';

/** Claude Code 2.1.197's first-party `anthropic-beta` header (research/clients.md). */
const CLAUDE_CODE_BETAS = 'claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13,context-management-2025-06-27,prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,effort-2025-11-24';
const AGENTS = 'Available agent types: general-purpose, Explore, Plan';

let bedrock: BedrockFakeUpstream;
let vertex: VertexFake;
let gw: TestGateway;
const warnings: string[] = [];

beforeAll(async () => {
  [bedrock, vertex] = await Promise.all([startFakeBedrock(), startFakeVertex()]);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-cc-')), 'vertex-sa.json');
  writeFileSync(keyFile, JSON.stringify(vertex.credentials));
  const aws = `aws_bedrock_runtime_endpoint: "${bedrock.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
  const gcp = `api_base: "${vertex.url}", vertex_project: ${VERTEX_PROJECT}, vertex_location: us-east5, vertex_credentials: "${keyFile}"`;
  gw = await startNativeGateway(`
model_list:
  - model_name: bedrock-sonnet-4-5
    litellm_params: { model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0, ${aws} }
    model_info: { id: cc-bedrock-sonnet }
  - model_name: bedrock-opus-4-8
    litellm_params: { model: bedrock/us.anthropic.claude-opus-4-8, ${aws} }
    model_info: { id: cc-bedrock-opus }
  - model_name: vertex-sonnet-4-5
    litellm_params: { model: vertex_ai/claude-sonnet-4-5@20250929, ${gcp} }
    model_info: { id: cc-vertex-sonnet }
  - model_name: vertex-opus-4-8
    litellm_params: { model: vertex_ai/claude-opus-4-8, ${gcp} }
    model_info: { id: cc-vertex-opus }
general_settings: { master_key: ${MASTER_KEY} }
`);
  claudeCompatWarnings.reset();
  claudeCompatWarnings.sink = (line) => warnings.push(line);
});
afterAll(async () => {
  claudeCompatWarnings.sink = (line) => process.stderr.write(`${line}\n`);
  await gw.close();
  await Promise.all([bedrock.close(), vertex.close()]);
});

/** Claude Code's first turn in first-party mode (research/clients.md, "Body features"). */
function firstTurn(model: string, seed: string, stream: boolean): Record<string, unknown> {
  return {
    model,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>\nAs you answer the user, use this context.\n</system-reminder>' },
          { type: 'text', text: 'say hi', cache_control: { type: 'ephemeral' } },
        ],
      },
      { role: 'system', content: AGENTS },
    ],
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli;' },
      { type: 'text', text: "You are a Claude agent, built on Anthropic's Claude Agent SDK.", cache_control: { type: 'ephemeral', scope: 'global' } },
      { type: 'text', text: words(1800, seed), cache_control: { type: 'ephemeral' } },
    ],
    tools: [{ name: 'Bash', description: 'Run a shell command', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } }],
    metadata: { user_id: JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '', session_id: 's' }) },
    max_tokens: 64000,
    thinking: { type: 'adaptive' },
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    output_config: { effort: 'high' },
    ...(stream ? { stream: true } : {}),
  };
}

const headers = (callId: string): Record<string, string> => ({
  'anthropic-version': '2023-06-01',
  'anthropic-beta': CLAUDE_CODE_BETAS,
  'x-api-key': MASTER_KEY,
  authorization: '',
  'user-agent': 'claude-cli/2.1.197 (external, sdk-cli)',
  'x-litellm-call-id': callId,
});

async function send(alias: string, seed: string, stream: boolean): Promise<{ status: number; callId: string; text: string }> {
  const callId = newCallId();
  const res = await postJson(gw.url, '/v1/messages?beta=true', firstTurn(alias, seed, stream), headers(callId));
  return { status: res.status, callId, text: await res.text() };
}

/** What the model received, whichever platform it sits on (Vertex's betas are a header). */
function lastUpstream(platform: 'bedrock' | 'vertex'): { body: Record<string, unknown>; betas: string[] } {
  if (platform === 'bedrock') {
    const body = bedrock.requests.at(-1)!.json as Record<string, unknown>;
    return { body, betas: (body.anthropic_beta as string[] | undefined) ?? [] };
  }
  const sent = vertex.requests.filter((r) => r.path.startsWith('/v1/')).at(-1)!;
  return { body: sent.json as Record<string, unknown>, betas: String(sent.headers['anthropic-beta'] ?? '').split(',') };
}

const systemAsUser = { role: 'user', content: [{ type: 'text', text: `<system-reminder>\n${AGENTS}\n</system-reminder>` }] };

describe.each([
  ['bedrock', 'bedrock-sonnet-4-5', 'cc-bedrock-sonnet', ['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27', 'effort-2025-11-24']],
  ['vertex', 'vertex-sonnet-4-5', 'cc-vertex-sonnet', ['claude-code-20250219', 'context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27']],
] as const)('%s, Claude Sonnet 4.5 (no adaptive thinking, effort or system messages)', (platform, alias, deploymentId, betas) => {
  it('streaming and not: 200, with the request converted and each change logged once', async () => {
    for (const stream of [true, false]) {
      const { status, callId, text } = await send(alias, `${alias}-${stream}`, stream);
      expect(status, text).toBe(200);
      if (stream) expect(parseSse(text).at(-1)?.event).toBe('message_stop');
      const record = await recordFor(gw.gateway, callId);
      expect(record).toMatchObject({ outcome: 'success', passthrough: true, deployment: { id: deploymentId } });
      expect(record.usage.cacheWrite5m).toBeGreaterThan(1800);
      const { body, betas: sentBetas } = lastUpstream(platform);
      expect(sentBetas).toEqual(betas);
      expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 31999 });
      expect(body).not.toHaveProperty('output_config');
      expect((body.messages as unknown[])[1]).toEqual(systemAsUser);
      expect((body.system as Record<string, unknown>[])[1]?.cache_control).toEqual({ type: 'ephemeral' });
      if (platform === 'bedrock') expect(body).not.toHaveProperty('context_management');
      else expect(body.context_management).toEqual({ edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] });
    }
    const mine = warnings.filter((w) => w.includes(`deployment ${deploymentId})`));
    // Logged once per field and deployment, though two requests carried every field.
    expect(new Set(mine).size).toBe(mine.length);
    expect(mine.join('\n')).toContain('thinking {"type":"adaptive"}');
    expect(mine.join('\n')).toContain('anthropic-beta "prompt-caching-scope-2026-01-05"');
    expect(mine.join('\n')).toContain('cache_control.scope');
    expect(mine.join('\n')).toContain('messages with role "system"');
    expect(mine.join('\n')).toContain('output_config.effort');
    expect(mine.some((w) => w.includes('context_management'))).toBe(platform === 'bedrock');
  });

  it('Claude Code\'s non-streaming fallback after a broken stream works', async () => {
    (platform === 'bedrock' ? bedrock : vertex).script([{ kind: 'cut-after', events: 2 }]);
    const broken = await send(alias, `${alias}-fallback`, true);
    // The break surfaces as an error (before or inside the stream) — never a silent end.
    expect(broken.status === 200 ? parseSse(broken.text).at(-1)?.event : 'http-error').toMatch(/^(error|http-error)$/);
    expect(await recordFor(gw.gateway, broken.callId)).toMatchObject({ outcome: 'failure' });
    const fallback = await send(alias, `${alias}-fallback`, false);
    expect(fallback.status, fallback.text).toBe(200);
    expect(JSON.parse(fallback.text)).toMatchObject({ type: 'message', usage: { output_tokens: expect.any(Number) } });
    expect(await recordFor(gw.gateway, fallback.callId)).toMatchObject({ outcome: 'success', stream: false });
  });
});

describe.each([
  ['bedrock', 'bedrock-opus-4-8', ['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27', 'effort-2025-11-24']],
  ['vertex', 'vertex-opus-4-8', ['claude-code-20250219', 'context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27']],
] as const)('%s, Claude Opus 4.8 (has them all)', (platform, alias, betas) => {
  it('keeps adaptive thinking, effort and the system message; drops only what the platform refuses', async () => {
    const { status, text } = await send(alias, `${alias}-keep`, true);
    expect(status, text).toBe(200);
    const { body, betas: sentBetas } = lastUpstream(platform);
    expect(sentBetas).toEqual(betas);
    expect(body).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'high' }, metadata: { user_id: expect.any(String) } });
    expect((body.messages as unknown[])[1]).toEqual({ role: 'system', content: AGENTS });
    expect(body.tools).toEqual(firstTurn(alias, '', false).tools);
  });
});
