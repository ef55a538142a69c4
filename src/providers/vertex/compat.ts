/**
 * What Claude on Vertex AI (rawPredict / streamRawPredict / count-tokens) accepts, as a table for
 * anthropic/platform-compat.ts. Vertex takes betas as the `anthropic-beta` header, like the
 * first-party API (LiteLLM vertex_ai_partner_models/anthropic/experimental_pass_through builds that
 * header; Claude Code in Vertex mode sends it as a header too), and refuses any value it does not
 * know with 400 "Unexpected value(s) `x` for the `anthropic-beta` header". The fake Vertex
 * (test/fakes/vertex-upstream.ts) refuses what is not listed here.
 */
import type { ClaudePlatformRules } from '../anthropic/platform-compat.js';

/**
 * Sources: Claude Code's own Vertex-mode header (`claude-code-20250219,interleaved-thinking-2025-05-14,
 * web-search-2025-03-05`, research/clients.md) and the non-null `vertex_ai` entries of LiteLLM's
 * litellm/anthropic_beta_headers_config.json. Refusals seen by users: prompt-caching-scope-2026-01-05
 * (anthropics/claude-code #21625, LiteLLM #19984), effort-2025-11-24 and adaptive-thinking-2026-01-28
 * (claude-code #34802), prompt-caching-2024-07-31 (vercel/ai #4431).
 */
export const VERTEX_BETAS: ReadonlySet<string> = new Set([
  'claude-code-20250219',
  'interleaved-thinking-2025-05-14',
  'web-search-2025-03-05',
  'tool-search-tool-2025-10-19',
  'compact-2026-01-12',
  'compact-2026-09-04',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'dangerous-tool-use-2026-09-03',
  'per-turn-control-2026-07-01',
  'thinking-binding-controls-2026-08-01',
  'thinking-display-updates-2026-08-18',
]);

export const VERTEX_RAW_PREDICT_RULES: ClaudePlatformRules = {
  platform: 'Vertex AI rawPredict',
  allowedBetas: VERTEX_BETAS,
  betaRefusal: 'Unexpected value(s) … for the `anthropic-beta` header',
  renamedBetas: { 'advanced-tool-use-2025-11-20': 'tool-search-tool-2025-10-19' },
  // Vertex does not pin the top-level fields: context_management (with its beta) and output_config
  // (4.6+) pass (LiteLLM output_params_utils.py), so unknown fields are left for Vertex to judge.
  allowedFields: undefined,
  // LiteLLM `_remove_scope_from_cache_control` for Vertex: scope belongs to the prompt-caching-scope
  // beta, which Vertex refuses.
  stripCacheScope: true,
  stripToolCustom: false,
  compactEditsOnly: false,
};

/** count-tokens refuses web-search-2025-03-05 even where messages take it (anthropics/claude-code #12429). */
export const VERTEX_COUNT_TOKENS_RULES: ClaudePlatformRules = {
  ...VERTEX_RAW_PREDICT_RULES,
  platform: 'Vertex AI count-tokens',
  allowedBetas: new Set([...VERTEX_BETAS].filter((beta) => beta !== 'web-search-2025-03-05')),
};
