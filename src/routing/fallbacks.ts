/**
 * Which model groups a failed request falls back to, by LiteLLM's rules: a rule for the group
 * itself (or the name the client asked for), then one for the name without its provider prefix
 * (`openai/gpt-4o` → `gpt-4o`, for wildcard groups), then the `*` rule, then `default_fallbacks`.
 * Context-window and content-policy failures use their own lists when configured.
 */
import type { ErrorClass } from './error-class.js';
import type { FallbackRule, RouterSettings } from './settings.js';

export function matchFallbacks(rules: readonly FallbackRule[], names: readonly string[]): string[] | undefined {
  for (const name of names) {
    const exact = rules.find((r) => r.key === name);
    if (exact !== undefined) return exact.targets;
  }
  for (const name of names) {
    const slash = name.indexOf('/');
    if (slash <= 0) continue;
    const stripped = rules.find((r) => r.key === name.slice(slash + 1));
    if (stripped !== undefined) return stripped.targets;
  }
  return rules.find((r) => r.key === '*')?.targets;
}

/**
 * The fallback groups for a failure of `groupName` (requested as `requested`), in order. A
 * per-request list or rule set (`fallbacks` in the body) replaces the configured ones.
 */
export function fallbackTargets(
  settings: Pick<RouterSettings, 'fallbacks' | 'contextWindowFallbacks' | 'contentPolicyFallbacks' | 'defaultFallbacks'>,
  groupName: string,
  requested: string,
  cls: ErrorClass,
  perRequest: readonly string[] | undefined,
  perRequestRules?: readonly FallbackRule[],
): string[] {
  if (perRequest !== undefined) return [...perRequest];
  const names = requested === groupName ? [groupName] : [requested, groupName];
  // The client's own rules (`[{"gpt-4": ["gpt-3.5"]}]`) replace every configured list, as in LiteLLM.
  if (perRequestRules !== undefined) return matchFallbacks(perRequestRules, names) ?? [];
  const special = cls === 'context_window' ? settings.contextWindowFallbacks : cls === 'content_policy' ? settings.contentPolicyFallbacks : undefined;
  const fromSpecial = special === undefined ? undefined : matchFallbacks(special, names);
  if (fromSpecial !== undefined) return fromSpecial;
  return matchFallbacks(settings.fallbacks, names) ?? settings.defaultFallbacks;
}
