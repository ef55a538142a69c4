/**
 * What InvokeModel refuses of a first-party Messages request, and how the compat table turns it
 * into what Bedrock accepts: the rules one by one on the body alone, then the canonical path (a
 * translated client) through the adapter against the fake Bedrock, which refuses what Bedrock does.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/core/deployment.js';
import type { CanonicalRequest } from '../../src/core/request.js';
import { adaptClaudeRequest, claudeCompatWarnings, claudeGeneration, CompatWarnings } from '../../src/providers/anthropic/platform-compat.js';
import { BEDROCK_INVOKE_RULES } from '../../src/providers/bedrock/compat.js';
import { createBedrockAdapter } from '../../src/providers/bedrock/index.js';
import { adaptInvokeBody } from '../../src/providers/bedrock/invoke-body.js';
import { BEDROCK_FAKE_CREDENTIALS, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';

const SONNET_45 = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const OPUS_48 = 'us.anthropic.claude-opus-4-8';

function adapt(body: Record<string, unknown>, betas: string[] = [], modelId = SONNET_45): { result: ReturnType<typeof adaptClaudeRequest>; lines: string[] } {
  const lines: string[] = [];
  const result = adaptClaudeRequest(body, betas, { modelId, deploymentId: 'd1' }, BEDROCK_INVOKE_RULES, new CompatWarnings((line) => lines.push(line)));
  return { result, lines };
}

describe('claudeGeneration', () => {
  it.each([
    ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'sonnet', [4, 5]],
    ['claude-sonnet-4-5@20250929', 'sonnet', [4, 5]],
    ['us.anthropic.claude-opus-4-8', 'opus', [4, 8]],
    ['claude-opus-4-20250514', 'opus', [4, 0]],
    ['global.anthropic.claude-haiku-4-5-20251001-v1:0', 'haiku', [4, 5]],
    ['claude-sonnet-5', 'sonnet', [5, 0]],
    ['anthropic.claude-3-7-sonnet-20250219-v1:0', 'sonnet', [3, 7]],
    ['claude-3-opus@20240229', 'opus', [3, 0]],
  ] as const)('%s → %s %j', (id, family, version) => {
    expect(claudeGeneration(id)).toEqual({ family, version });
  });

  it('ids that name no Claude model (application profile ARNs, other families) are unknown', () => {
    expect(claudeGeneration('arn:aws:bedrock:us-east-1:123:application-inference-profile/abc')).toBeUndefined();
    expect(claudeGeneration('us.amazon.nova-micro-v1:0')).toBeUndefined();
  });
});

describe('Bedrock InvokeModel rules', () => {
  it('betas: Bedrock\'s own set kept in order, the rest dropped, advanced-tool-use renamed', () => {
    const { result, lines } = adapt({ messages: [] }, [
      'claude-code-20250219', 'context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'thinking-token-count-2026-05-13',
      'context-management-2025-06-27', 'prompt-caching-scope-2026-01-05', 'mid-conversation-system-2026-04-07', 'effort-2025-11-24',
      'advanced-tool-use-2025-11-20', 'tool-search-tool-2025-10-19',
    ]);
    expect(result.betas).toEqual(['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27', 'effort-2025-11-24', 'tool-search-tool-2025-10-19']);
    expect(result.betasChanged).toBe(true);
    expect(lines.filter((l) => l.includes('dropped'))).toHaveLength(4);
    expect(lines.some((l) => l.includes('"advanced-tool-use-2025-11-20"') && l.includes('tool-search-tool-2025-10-19'))).toBe(true);
  });

  it('adaptive thinking before 4.6 becomes a budget (Claude Code\'s own 31999), or goes when max_tokens leaves no room', () => {
    expect(adapt({ max_tokens: 64000, thinking: { type: 'adaptive' } }).result.body.thinking).toEqual({ type: 'enabled', budget_tokens: 31999 });
    expect(adapt({ max_tokens: 8000, thinking: { type: 'adaptive' } }).result.body.thinking).toEqual({ type: 'enabled', budget_tokens: 7999 });
    expect(adapt({ max_tokens: 1000, thinking: { type: 'adaptive' } }).result.body).not.toHaveProperty('thinking');
    expect(adapt({ max_tokens: 64000, thinking: { type: 'adaptive' } }, [], OPUS_48).result).toMatchObject({ body: { thinking: { type: 'adaptive' } }, bodyChanged: false });
  });

  it('output_config.effort before 4.6 is dropped, other output_config members stay', () => {
    expect(adapt({ output_config: { effort: 'high' } }).result.body).not.toHaveProperty('output_config');
    expect(adapt({ output_config: { effort: 'high', format: { type: 'json_schema' } } }).result.body.output_config).toEqual({ format: { type: 'json_schema' } });
    // Opus 4.5 has effort behind the effort beta, which Bedrock accepts.
    const opus45 = 'us.anthropic.claude-opus-4-5-20251101-v1:0';
    expect(adapt({ output_config: { effort: 'high' } }, ['effort-2025-11-24'], opus45).result.body.output_config).toEqual({ effort: 'high' });
    expect(adapt({ output_config: { effort: 'high' } }, [], opus45).result.body).not.toHaveProperty('output_config');
  });

  it('role:"system" messages before Opus 4.8 become user turns in <system-reminder> tags; cache_control kept', () => {
    const messages = [
      { role: 'user', content: 'hi' },
      { role: 'system', content: [{ type: 'text', text: 'be terse', cache_control: { type: 'ephemeral' } }] },
    ];
    const { result } = adapt({ messages });
    expect(result.body.messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'user', content: [{ type: 'text', text: '<system-reminder>\nbe terse\n</system-reminder>', cache_control: { type: 'ephemeral' } }] },
    ]);
    expect(messages[1]?.role).toBe('system');
    expect(adapt({ messages }, [], OPUS_48).result.body.messages).toBe(messages);
  });

  it('context_management keeps compact edits only (clear_thinking is refused)', () => {
    const compact = { type: 'compact_20260112', trigger: { type: 'input_tokens', value: 150000 } };
    expect(adapt({ context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }, compact] } }).result.body.context_management).toEqual({ edits: [compact] });
    expect(adapt({ context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] } }).result.body).not.toHaveProperty('context_management');
    expect(adapt({ context_management: { edits: [compact] } }).result.bodyChanged).toBe(false);
  });

  it('top-level fields outside InvokeModel\'s list, tools[].custom and cache_control.scope are dropped; the input is not mutated', () => {
    const body = {
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', scope: 'global' } }] }] }],
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral', ttl: '1h', scope: 'global' } }],
      tools: [{ name: 'Read', input_schema: {}, custom: { defer_loading: true } }],
      speed: 'fast', mcp_servers: [], metadata: { user_id: 'u' },
    };
    const snapshot = structuredClone(body);
    const { result, lines } = adapt(body);
    expect(result.body).toEqual({
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }] }] }],
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      tools: [{ name: 'Read', input_schema: {} }],
      metadata: { user_id: 'u' },
    });
    expect(body).toEqual(snapshot);
    expect(lines).toHaveLength(4);
  });

  it('warnings: once per field and deployment', () => {
    const lines: string[] = [];
    const warnings = new CompatWarnings((line) => lines.push(line));
    for (const deploymentId of ['a', 'a', 'b']) {
      adaptClaudeRequest({ speed: 'fast' }, ['claude-code-20250219'], { modelId: SONNET_45, deploymentId }, BEDROCK_INVOKE_RULES, warnings);
    }
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(
      'tollgate: WARNING: Bedrock InvokeModel does not accept anthropic-beta "claude-code-20250219" for us.anthropic.claude-sonnet-4-5-20250929-v1:0 (deployment a): ' +
        'dropped (it would be refused with "invalid beta flag"). Logged once per field and deployment.',
    );
  });

  it('adaptInvokeBody: Claude Code\'s Bedrock-mode body is untouched (its bytes can be forwarded)', () => {
    const body = {
      anthropic_version: 'bedrock-2023-05-31', anthropic_beta: ['interleaved-thinking-2025-05-14', 'tool-search-tool-2025-10-19'],
      messages: [{ role: 'user', content: 'hi' }], max_tokens: 32000, thinking: { type: 'enabled', budget_tokens: 31999 }, metadata: { user_id: '{}' },
    };
    expect(adaptInvokeBody(body, {}, { modelId: SONNET_45, deploymentId: 'd' })).toMatchObject({ body, bodyChanged: false });
    expect(adaptInvokeBody({ ...body, anthropic_beta: [] }, {}, { modelId: SONNET_45, deploymentId: 'd' }).bodyChanged).toBe(true);
  });
});

describe('the canonical path (a translated client) against the fake Bedrock', () => {
  let fake: BedrockFakeUpstream;
  const lines: string[] = [];
  beforeAll(async () => {
    fake = await startFakeBedrock();
    claudeCompatWarnings.sink = (line) => lines.push(line);
  });
  afterAll(async () => {
    claudeCompatWarnings.sink = (line) => process.stderr.write(`${line}\n`);
    await fake.close();
  });
  beforeEach(() => fake.resetCache());

  const deployment = (model: string): Deployment => ({
    id: `compat-${model}`, modelGroup: 'g', provider: 'bedrock', model, timeoutMs: 10_000, streamTimeoutMs: 10_000,
    params: { aws_bedrock_runtime_endpoint: fake.url, aws_region_name: 'us-east-1', aws_access_key_id: BEDROCK_FAKE_CREDENTIALS.accessKeyId, aws_secret_access_key: BEDROCK_FAKE_CREDENTIALS.secretAccessKey },
  });
  const request: CanonicalRequest = {
    model: 'alias', stream: false, extra: {}, maxTokens: 64000, reasoning: { mode: 'adaptive' },
    system: [{ type: 'text', text: 'be brief' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
  };

  it('adaptive reasoning and the client\'s first-party betas reach Sonnet 4.5 as budgeted thinking and Bedrock\'s betas', async () => {
    const d = deployment(SONNET_45);
    const call = { deployment: d, upstreamModel: d.model, signal: new AbortController().signal, clientHeaders: { 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14' } };
    const adapter = createBedrockAdapter(d, {});
    const response = await adapter.complete(request, call);
    expect(response.stopReason).toBe('end_turn');
    expect(fake.requests.at(-1)?.json).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 31999 }, anthropic_beta: ['interleaved-thinking-2025-05-14'] });
    const events = await adapter.stream({ ...request, stream: true }, call);
    for await (const event of events) expect(event.type).not.toBe('error');
    expect(lines.join('\n')).toContain('anthropic-beta "claude-code-20250219"');
  });
});
