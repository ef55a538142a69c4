/**
 * What Claude on Bedrock InvokeModel accepts, as a table for anthropic/platform-compat.ts. Every
 * entry cites where the behaviour was seen; the fake Bedrock (test/fakes/bedrock-upstream.ts)
 * refuses what is not listed, so the end-to-end tests prove the gateway sends nothing else.
 */
import type { ClaudePlatformRules } from '../anthropic/platform-compat.js';

/**
 * Betas InvokeModel takes in `anthropic_beta`; any other value fails the whole request with 400
 * "The model returned the following errors: invalid beta flag" (LiteLLM PR #19877 for
 * mcp-servers-2025-12-04; anthropics/claude-code #49370 / #49648 for claude-code-20250219 and
 * effort on Opus 4.7; #56595 for extended-cache-ttl-2025-04-11).
 *
 * Sources: the AWS documentation list quoted in LiteLLM PR #19877, the non-null `bedrock` entries of
 * LiteLLM's litellm/anthropic_beta_headers_config.json, and Claude Code's own Bedrock-mode body
 * (`anthropic_beta: ["interleaved-thinking-2025-05-14","tool-search-tool-2025-10-19"]`,
 * research/clients.md), which settles interleaved-thinking that LiteLLM's table leaves out.
 * Not here, so dropped: claude-code-20250219, prompt-caching-scope-2026-01-05,
 * mid-conversation-system-2026-04-07, thinking-token-count-2026-05-13, files-api, mcp-*, skills,
 * structured-outputs, web-search, web-fetch, code-execution, extended-cache-ttl.
 */
export const BEDROCK_BETAS: ReadonlySet<string> = new Set([
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19',
  'dev-full-thinking-2025-05-14',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'effort-2025-11-24',
  'tool-search-tool-2025-10-19',
  'tool-examples-2025-10-29',
  'compact-2026-01-12',
  'fine-grained-tool-streaming-2025-05-14',
  'dangerous-tool-use-2026-09-03',
  'thinking-binding-controls-2026-08-01',
  'thinking-display-updates-2026-08-18',
  'mid-conversation-output-config-2026-07-01',
  'mid-conversation-tool-changes-2026-07-01',
]);

/**
 * Top-level fields of the InvokeModel Messages body (AWS "Anthropic Claude Messages API" request
 * reference, as pinned by LiteLLM's BedrockInvokeAnthropicMessagesRequest in
 * litellm/types/llms/bedrock.py). Anything else — `speed`, `mcp_servers`, `container`,
 * `diagnostics`, … — is refused with "extraneous key [x] is not permitted".
 */
export const BEDROCK_INVOKE_FIELDS: ReadonlySet<string> = new Set([
  'anthropic_version',
  'anthropic_beta',
  'max_tokens',
  'messages',
  'system',
  'stop_sequences',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'metadata',
  'output_config',
  'context_management',
]);

export const BEDROCK_INVOKE_RULES: ClaudePlatformRules = {
  platform: 'Bedrock InvokeModel',
  allowedBetas: BEDROCK_BETAS,
  betaRefusal: 'invalid beta flag',
  // LiteLLM's table maps the first-party tool search beta to Bedrock's name for it.
  renamedBetas: { 'advanced-tool-use-2025-11-20': 'tool-search-tool-2025-10-19' },
  allowedFields: BEDROCK_INVOKE_FIELDS,
  // LiteLLM anthropic_claude3_transformation.py `_remove_ttl_from_cache_control`: Bedrock takes only
  // `type` and `ttl` in cache_control.
  stripCacheScope: true,
  // LiteLLM #22847, anthropics/claude-code #82549: "tools.N.custom.defer_loading: Extra inputs are not permitted".
  stripToolCustom: true,
  // LiteLLM #27532 (`_filter_context_management_for_bedrock_invoke`).
  compactEditsOnly: true,
};
