/**
 * What a caller's key, team and end user change about where a request goes, computed from plain
 * data the HTTP layer reads out of the in-process tenancy records:
 *
 * - model aliases: the team's `model_aliases` (`{"gpt-4o": "gpt-4o-team-1"}`), then the key's
 *   `aliases`, rename the requested model before it is resolved (litellm/proxy/litellm_pre_call_utils.py
 *   `_update_model_if_team_alias_exists`, `_update_model_if_key_alias_exists`);
 * - tags: the request's (`tags`, `metadata.tags`, the `x-litellm-tags` header), the key's and the
 *   team's, merged — LiteLLM lets a request's `tags` replace the key's and team's; Tollgate keeps
 *   them all, so a team's tag policy cannot be escaped by a client;
 * - the end user's `allowed_model_region`.
 */
import { errors } from '../core/errors.js';
import { isObject, type JsonObject } from '../core/json.js';
import { mergeTags } from './tags.js';

export interface ScopeRecords {
  keyTags?: readonly unknown[] | undefined;
  teamTags?: readonly unknown[] | undefined;
  keyAliases?: unknown;
  teamAliases?: unknown;
  allowedRegion?: string | null | undefined;
}

export interface CallScope {
  /** The model to route: the requested one after the team's and key's aliases. */
  model: string;
  tags: string[];
  allowedRegion: string | undefined;
  /** Whether the body was edited (its `tags` taken out). */
  edited: boolean;
}

export function callScope(body: JsonObject, model: string, tagHeader: string | string[] | undefined, records: ScopeRecords): CallScope {
  let edited = false;
  let bodyTags: unknown[] | undefined;
  if ('tags' in body) {
    const tags = body.tags;
    if (tags !== null && tags !== undefined && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))) throw errors.invalidRequest('tags: must be a list of strings', 'tags');
    bodyTags = tags ?? undefined;
    // A LiteLLM routing field, not the provider's: OpenAI refuses unknown top-level fields.
    delete body.tags;
    edited = true;
  }
  const metadataTags = isObject(body.metadata) && Array.isArray(body.metadata.tags) ? body.metadata.tags : undefined;
  const header = Array.isArray(tagHeader) ? tagHeader.join(',') : tagHeader;
  const headerTags = header?.split(',').map((t) => t.trim());
  return {
    model: aliasedModel(model, records),
    tags: mergeTags(bodyTags, metadataTags, headerTags, records.keyTags, records.teamTags),
    allowedRegion: typeof records.allowedRegion === 'string' && records.allowedRegion !== '' ? records.allowedRegion : undefined,
    edited,
  };
}

/** The model a request for `model` routes as once the team's, then the key's, aliases apply. */
export function aliasedModel(model: string, records: Pick<ScopeRecords, 'keyAliases' | 'teamAliases'>): string {
  return aliased(aliased(model, records.teamAliases), records.keyAliases);
}

function aliased(model: string, aliases: unknown): string {
  if (!isObject(aliases)) return model;
  const target = aliases[model];
  return typeof target === 'string' && target !== '' ? target : model;
}
