/**
 * Tag-based routing, by LiteLLM's rules (litellm/router_strategy/tag_based_routing.py): a request
 * carrying tags goes to the deployments of its group whose `litellm_params.tags` share one of them
 * (all of them with `tag_filtering_match_any: false`); `!tag` excludes deployments carrying it and
 * `&tag` requires it; when no deployment matches, the deployments tagged `default` take the request,
 * and without those it is refused. An untagged request goes to the `default` deployments if the
 * group has one, else to all of them.
 *
 * Tollgate differs in one place, on purpose: with `router_settings.enable_tag_filtering` not set
 * at all (LiteLLM's default is off), a tagged request still goes to the matching deployments when
 * some exist, and to the whole group otherwise — team-tagged deployments route to their team (what
 * LiteLLM's own team tag-routing e2e test expects of a config without the setting), and tags used
 * only for spend tracking never make a request fail. `enable_tag_filtering: false` turns it off.
 */
import type { Deployment } from '../core/deployment.js';
import { errors, type GatewayError } from '../core/errors.js';

export interface TagSettings {
  /** `router_settings.enable_tag_filtering`: true = LiteLLM's strict rules, false = off, undefined = lenient. */
  enabled: boolean | undefined;
  /** `router_settings.tag_filtering_match_any` (default true). */
  matchAny: boolean;
}

export function deploymentTags(d: Deployment): readonly string[] {
  const tags = d.params.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/**
 * The deployments of a group that may take a request with `requestTags`. Throws LiteLLM's
 * "Not allowed to access model due to tags configuration" when the rules leave none.
 */
export function filterByTags(deployments: readonly Deployment[], requestTags: readonly string[], settings: TagSettings, model: string): readonly Deployment[] {
  const enabled = settings.enabled;
  if (enabled === false) return deployments;
  const positive = requestTags.filter((t) => !t.startsWith('!') && !t.startsWith('&'));
  const excluded = new Set(requestTags.filter((t) => t.startsWith('!') && t.length > 1).map((t) => t.slice(1)));
  const required = requestTags.filter((t) => t.startsWith('&') && t.length > 1).map((t) => t.slice(1));
  const allowed = deployments.filter((d) => {
    const tags = deploymentTags(d);
    return !tags.some((t) => excluded.has(t)) && required.every((t) => tags.includes(t));
  });
  const defaults = (pool: readonly Deployment[]): readonly Deployment[] => pool.filter((d) => deploymentTags(d).includes('default'));

  if (enabled === undefined) {
    // Lenient: narrow to the matches when there are any, never refuse.
    if (positive.length === 0) return allowed.length > 0 ? allowed : deployments;
    const matches = allowed.filter((d) => matchesTags(deploymentTags(d), positive, settings.matchAny));
    return matches.length > 0 ? matches : deployments;
  }

  if (positive.length === 0) {
    if (excluded.size === 0 && required.length === 0) {
      const untagged = defaults(deployments);
      return untagged.length > 0 ? untagged : deployments;
    }
    // As LiteLLM: the default pool is chosen before the exclusions apply.
    const pool = required.length > 0 ? allowed : defaultsOrAll(deployments, defaults).filter((d) => allowed.includes(d));
    if (pool.length === 0) throw noTagMatch(model, requestTags);
    return pool;
  }
  const matches = allowed.filter((d) => matchesTags(deploymentTags(d), positive, settings.matchAny));
  if (matches.length > 0) return matches;
  const fallback = defaults(allowed);
  if (fallback.length > 0) return fallback;
  throw noTagMatch(model, requestTags);
}

function defaultsOrAll(pool: readonly Deployment[], defaults: (pool: readonly Deployment[]) => readonly Deployment[]): readonly Deployment[] {
  const d = defaults(pool);
  return d.length > 0 ? d : pool;
}

function matchesTags(deploymentTagList: readonly string[], requestTags: readonly string[], matchAny: boolean): boolean {
  if (deploymentTagList.length === 0 || requestTags.length === 0) return false;
  return matchAny ? requestTags.some((t) => deploymentTagList.includes(t)) : requestTags.every((t) => deploymentTagList.includes(t));
}

function noTagMatch(model: string, tags: readonly string[]): GatewayError {
  return errors.invalidRequest(`Not allowed to access model due to tags configuration. Passed model=${model} and tags=${JSON.stringify(tags)}`, 'tags');
}

/** Tags from every place LiteLLM reads them, in order, without repeats. */
export function mergeTags(...sources: readonly (readonly unknown[] | undefined)[]): string[] {
  const out: string[] = [];
  for (const source of sources) for (const t of source ?? []) if (typeof t === 'string' && t !== '' && !out.includes(t)) out.push(t);
  return out;
}
