/**
 * Gemini `usageMetadata` → canonical usage (same on the Gemini API and on Vertex AI).
 *
 * - `promptTokenCount` INCLUDES `cachedContentTokenCount` (implicit and explicit caching alike), so
 *   the uncached part is the difference. Gemini has no cache-write charge on this path (explicit
 *   caches are paid for when created, through another API), so no write fields are set.
 * - `thoughtsTokenCount` is reported beside `candidatesTokenCount`, not inside it; both are billed
 *   as output. LiteLLM checks prompt + candidates = total to catch responses where candidates
 *   already include the thoughts; we keep that guard.
 * - `toolUsePromptTokenCount` (prompts of built-in tools such as grounding) is billed as input.
 * - The wire is proto3 JSON: a zero count is simply absent. A report with a `promptTokenCount` is a
 *   complete report, so its absent counts are zeros; a report without one (Vertex stream chunks carry
 *   `{"trafficType":"ON_DEMAND"}` alone) says nothing and yields no counts.
 */
import { asObject } from '../../core/json.js';
import { tokenCount, type Usage } from '../../core/usage.js';

export function parseGeminiUsage(wire: unknown): Usage {
  const usage = asObject(wire);
  if (usage === undefined) return {};
  const prompt = tokenCount(usage.promptTokenCount);
  if (prompt === undefined) return { raw: wire };
  const cached = tokenCount(usage.cachedContentTokenCount) ?? 0;
  const toolPrompt = tokenCount(usage.toolUsePromptTokenCount) ?? 0;
  const candidates = tokenCount(usage.candidatesTokenCount) ?? 0;
  const thoughts = tokenCount(usage.thoughtsTokenCount) ?? 0;
  const total = tokenCount(usage.totalTokenCount);
  const thoughtsInsideCandidates = thoughts > 0 && total !== undefined && prompt + toolPrompt + candidates === total;
  return {
    inputUncached: Math.max(0, prompt - cached) + toolPrompt,
    cacheRead: cached,
    output: thoughtsInsideCandidates ? candidates : candidates + thoughts,
    reasoning: thoughts,
    raw: wire,
  };
}

/** True when a usage report carries counts (not just Vertex's `trafficType`). */
export function hasGeminiCounts(wire: unknown): boolean {
  return tokenCount(asObject(wire)?.promptTokenCount) !== undefined;
}
