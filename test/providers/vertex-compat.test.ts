/**
 * What Vertex rawPredict refuses of a first-party Messages request: betas (a header on Vertex)
 * outside its set, `cache_control.scope`, and what the model predates; what it takes that Bedrock
 * does not (context_management, unknown top-level fields, tools[].custom) is left alone.
 */
import { describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/core/deployment.js';
import { CompatWarnings, adaptClaudeRequest } from '../../src/providers/anthropic/platform-compat.js';
import { adaptVertexBody } from '../../src/providers/vertex/anthropic-adapter.js';
import { VERTEX_COUNT_TOKENS_RULES, VERTEX_RAW_PREDICT_RULES } from '../../src/providers/vertex/compat.js';

const SONNET_45 = 'claude-sonnet-4-5@20250929';
const deployment: Deployment = { id: 'v1', modelGroup: 'g', provider: 'vertex_ai', model: SONNET_45, timeoutMs: 1000, streamTimeoutMs: 1000, params: {} };
const call = (beta?: string): Parameters<typeof adaptVertexBody>[1] => ({ deployment, upstreamModel: SONNET_45, clientHeaders: beta === undefined ? {} : { 'anthropic-beta': beta } });

describe('Vertex rawPredict rules', () => {
  it('Claude Code\'s Vertex-mode betas pass; the first-party extras Vertex refuses are dropped', () => {
    const result = adaptClaudeRequest({}, [
      'claude-code-20250219', 'context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'thinking-token-count-2026-05-13', 'context-management-2025-06-27',
      'prompt-caching-scope-2026-01-05', 'mid-conversation-system-2026-04-07', 'effort-2025-11-24', 'web-search-2025-03-05', 'adaptive-thinking-2026-01-28',
    ], { modelId: SONNET_45, deploymentId: 'v1' }, VERTEX_RAW_PREDICT_RULES, new CompatWarnings(() => undefined));
    expect(result.betas).toEqual(['claude-code-20250219', 'context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27', 'web-search-2025-03-05']);
  });

  it('count-tokens also refuses web-search-2025-03-05', () => {
    const result = adaptClaudeRequest({}, ['claude-code-20250219', 'web-search-2025-03-05'], { modelId: SONNET_45, deploymentId: 'v1' }, VERTEX_COUNT_TOKENS_RULES, new CompatWarnings(() => undefined));
    expect(result.betas).toEqual(['claude-code-20250219']);
  });

  it('context_management, tools[].custom and unknown fields are Vertex\'s to judge; cache_control.scope goes', () => {
    const lines: string[] = [];
    const body = {
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] }, speed: 'fast',
      tools: [{ name: 'Read', input_schema: {}, custom: { defer_loading: true } }],
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral', scope: 'global' } }],
    };
    const result = adaptClaudeRequest(body, [], { modelId: SONNET_45, deploymentId: 'v1' }, VERTEX_RAW_PREDICT_RULES, new CompatWarnings((l) => lines.push(l)));
    expect(result.body).toEqual({ ...body, system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }] });
    expect(lines).toEqual([expect.stringContaining('Vertex AI rawPredict does not accept cache_control.scope for claude-sonnet-4-5@20250929 (deployment v1)')]);
  });

  it('adaptVertexBody: no model, the client\'s anthropic_version or Vertex\'s, betas from the header; unchanged bodies are reported so', () => {
    const native = { anthropic_version: 'vertex-2023-10-16', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, stream: true };
    expect(adaptVertexBody(native, call('claude-code-20250219, interleaved-thinking-2025-05-14'))).toEqual({
      body: native, betas: ['claude-code-20250219', 'interleaved-thinking-2025-05-14'], bodyChanged: false,
    });
    const messages = { model: 'alias', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 };
    expect(adaptVertexBody(messages, call())).toEqual({
      body: { anthropic_version: 'vertex-2023-10-16', messages: messages.messages, max_tokens: 10 }, betas: [], bodyChanged: true,
    });
  });
});
