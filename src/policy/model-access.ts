/**
 * Which models a key may call. A `models` list holds model names, wildcard patterns (`openai/*`)
 * or access groups (`model_info.access_groups` of config or stored deployments); an empty list
 * means "whatever the owner allows". LiteLLM's special values are honoured: `*` and
 * `all-proxy-models` allow everything, `all-team-models` on a key defers to its team, and
 * `no-default-models` on a user blocks that user's personal (team-less) keys.
 *
 * Refusals are LiteLLM's (litellm/proxy/auth/auth_checks.py `_can_object_call_model`): HTTP 403,
 * `param: "model"`, `type` `{key|team|user|org}_model_access_denied` and the message
 * `{object} not allowed to access model. This {object} can only access models=[…]. Tried to access …`.
 */
import { errors, type GatewayError } from '../core/errors.js';
import type { KeyRecord, TeamRecord, UserRecord } from '../storage/tenancy-ports.js';

/** Access group name → the model names (or patterns) in it. */
export type AccessGroups = ReadonlyMap<string, readonly string[]>;

const patterns = new Map<string, RegExp>();

function matches(entry: string, model: string): boolean {
  if (entry === model) return true;
  if (!entry.includes('*')) return false;
  let re = patterns.get(entry);
  if (re === undefined) {
    re = new RegExp(`^${entry.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
    patterns.set(entry, re);
  }
  return re.test(model);
}

/** True when `model` is in `allowed` (directly, by pattern or through an access group). */
export function listAllows(allowed: readonly string[], model: string, groups: AccessGroups): boolean {
  for (const entry of allowed) {
    if (entry === '*' || entry === 'all-proxy-models' || matches(entry, model)) return true;
    const members = groups.get(entry);
    if (members?.some((m) => matches(m, model)) === true) return true;
  }
  return false;
}

/** Python-style list, as LiteLLM's messages print it (`['a', 'b']`). */
export function pyList(list: readonly string[]): string {
  return `[${list.map((m) => `'${m}'`).join(', ')}]`;
}

export type AccessObject = 'key' | 'team' | 'user' | 'org';

function denied(object: AccessObject, models: readonly string[], model: string): GatewayError {
  return errors.permissionDenied(`${object} not allowed to access model. This ${object} can only access models=${pyList(models)}. Tried to access ${model}`, {
    param: 'model',
    type: `${object}_model_access_denied`,
  });
}

/** An organization's model list (organizations are kept by the organization admin). */
export interface OrgSubject {
  organization_id: string;
  models: readonly string[];
}

export interface AccessSubjects {
  key: KeyRecord | undefined;
  user: UserRecord | undefined;
  team: TeamRecord | undefined;
  org?: OrgSubject | undefined;
}

/** A team's `model_aliases` (`{"gpt-4o": "gpt-4o-team-1"}`): an alias is one of the team's models. */
function teamAliases(team: TeamRecord | undefined): Record<string, unknown> {
  const aliases = team?.extra.model_aliases;
  return typeof aliases === 'object' && aliases !== null && !Array.isArray(aliases) ? (aliases as Record<string, unknown>) : {};
}

/** Throws LiteLLM's 403 that names the allowed models, or returns when the model may be called. */
export function checkModelAccess(s: AccessSubjects, model: string, groups: AccessGroups): void {
  const aliased = Object.prototype.hasOwnProperty.call(teamAliases(s.team), model);
  const keyModels = s.key?.models.filter((m) => m !== 'all-team-models') ?? [];
  if (s.key !== undefined && keyModels.length > 0 && !aliased && !listAllows(keyModels, model, groups)) {
    throw denied('key', s.key.models, model);
  }
  if (s.team !== undefined && s.team.models.length > 0 && !aliased && !listAllows(s.team.models, model, groups)) {
    throw denied('team', s.team.models, model);
  }
  // A user's own list governs only keys outside a team (team keys follow the team).
  const personal = s.key === undefined || s.key.team_id === null;
  if (personal && s.user !== undefined && s.user.models.length > 0) {
    if (s.user.models.includes('no-default-models')) {
      // LiteLLM raises this one as a 401 with the key's type (can_user_call_model).
      throw errors.authentication(`User not allowed to access model. No default model access, only team models allowed. Tried to access ${model}`, {
        param: 'model',
        type: 'key_model_access_denied',
      });
    }
    if (!listAllows(s.user.models, model, groups)) throw denied('user', s.user.models, model);
  }
  if (s.org !== undefined && s.org.models.length > 0 && !listAllows(s.org.models, model, groups)) {
    throw denied('org', s.org.models, model);
  }
}

/** The public model names the subjects may call (for `/v1/models`, `/model/info`, `/model_group/info`). */
export function allowedModelNames(s: AccessSubjects, publicNames: readonly string[], groups: AccessGroups): string[] {
  return publicNames.filter((name) => {
    try {
      checkModelAccess(s, name, groups);
      return true;
    } catch {
      return false;
    }
  });
}
