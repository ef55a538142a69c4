// What Bedrock and Vertex refuse of Claude Code's first-party requests, for the fakes
// (bedrock-upstream.ts, vertex-upstream.ts). Written out independently of the gateway's tables
// (src/providers/{bedrock,vertex}/compat.ts) so the tests prove the gateway sends none of it.
import { isRecord } from './common.js';

// Sources: LiteLLM's BedrockInvokeAnthropicMessagesRequest
// and anthropic_beta_headers_config.json, the AWS beta list in LiteLLM PR #19877, Claude Code's own
// Bedrock/Vertex-mode requests, and the 400s users reported (see the compat tables for links).
export const INVOKE_FIELDS = new Set([
  'anthropic_version', 'anthropic_beta', 'max_tokens', 'messages', 'system', 'stop_sequences', 'temperature', 'top_p', 'top_k',
  'tools', 'tool_choice', 'thinking', 'metadata', 'output_config', 'context_management',
]);
export const FAKE_BEDROCK_BETAS = new Set([
  'computer-use-2024-10-22', 'computer-use-2025-01-24', 'computer-use-2025-11-24', 'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14', 'output-128k-2025-02-19', 'dev-full-thinking-2025-05-14', 'context-1m-2025-08-07',
  'context-management-2025-06-27', 'effort-2025-11-24', 'tool-search-tool-2025-10-19', 'tool-examples-2025-10-29',
  'compact-2026-01-12', 'fine-grained-tool-streaming-2025-05-14', 'dangerous-tool-use-2026-09-03', 'thinking-binding-controls-2026-08-01',
  'thinking-display-updates-2026-08-18', 'mid-conversation-output-config-2026-07-01', 'mid-conversation-tool-changes-2026-07-01',
]);

/**
 * Betas Vertex takes in `anthropic-beta`; others are refused with "Unexpected value(s)". Written out
 * independently of src/providers/vertex/compat.ts: Claude Code's Vertex-mode header plus LiteLLM's
 * `vertex_ai` table; count-tokens also refuses web-search-2025-03-05 (anthropics/claude-code #12429).
 */
export const FAKE_VERTEX_BETAS = new Set([
  'claude-code-20250219', 'interleaved-thinking-2025-05-14', 'web-search-2025-03-05', 'tool-search-tool-2025-10-19',
  'compact-2026-01-12', 'compact-2026-09-04', 'computer-use-2025-01-24', 'computer-use-2025-11-24', 'context-1m-2025-08-07',
  'context-management-2025-06-27', 'dangerous-tool-use-2026-09-03', 'per-turn-control-2026-07-01', 'thinking-binding-controls-2026-08-01',
  'thinking-display-updates-2026-08-18',
]);

/** [major, minor] of a Claude model id (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `claude-opus-4-8@…`). */
function claudeVersion(modelId: string): [number, number] | undefined {
  const m = /claude-(?:opus|sonnet|haiku)-(\d{1,2})(?:[-.](\d{1,2})(?!\d))?/.exec(modelId) ?? /claude-(\d)(?:-(\d)(?!\d))?-(?:opus|sonnet|haiku)/.exec(modelId);
  return m === null ? undefined : [Number(m[1]), Number(m[2] ?? 0)];
}
const before = (v: [number, number], major: number, minor: number): boolean => v[0] < major || (v[0] === major && v[1] < minor);

/**
 * Refusals that depend on the model (the first-party API refuses them too): adaptive thinking before
 * 4.6, effort before 4.6, `role: "system"` messages before Opus 4.8. Message wording follows the API's.
 */
export function claudeModelError(body: Record<string, unknown>, modelId: string): string | undefined {
  const v = claudeVersion(modelId);
  if (v === undefined) return undefined;
  if (isRecord(body.thinking) && body.thinking.type === 'adaptive' && before(v, 4, 6)) {
    return "thinking: Input tag 'adaptive' found using 'type' does not match any of the expected tags: 'disabled', 'enabled'";
  }
  if (isRecord(body.output_config) && 'effort' in body.output_config && before(v, 4, 6)) return 'output_config.effort: Extra inputs are not permitted';
  if (Array.isArray(body.messages) && before(v, 4, 8)) {
    const i = body.messages.findIndex((m) => isRecord(m) && m.role === 'system');
    if (i >= 0) return `messages.${i}.role: Input should be 'user' or 'assistant'`;
  }
  return undefined;
}

/** `cache_control.scope` belongs to the first-party prompt-caching-scope beta; the clouds refuse it. */
export function cacheScopeError(body: Record<string, unknown>): string | undefined {
  const check = (blocks: unknown, path: string): string | undefined => {
    if (!Array.isArray(blocks)) return undefined;
    for (const [i, block] of blocks.entries()) {
      if (!isRecord(block)) continue;
      if (isRecord(block.cache_control) && 'scope' in block.cache_control) return `${path}.${i}.cache_control.scope: Extra inputs are not permitted`;
      const inner = check(block.content, `${path}.${i}.content`);
      if (inner !== undefined) return inner;
    }
    return undefined;
  };
  const messages = Array.isArray(body.messages) ? body.messages : [];
  return check(body.tools, 'tools') ?? check(body.system, 'system') ?? messages.reduce<string | undefined>((found, m, i) => found ?? (isRecord(m) ? check(m.content, `messages.${i}.content`) : undefined), undefined);
}
