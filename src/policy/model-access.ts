/**
 * Which models a key may call. A `models` list holds model names, wildcard patterns (`openai/*`)
 * or access groups (`model_info.access_groups` of config or stored deployments); an empty list
 * means "whatever the owner allows". LiteLLM's special values are honoured: `*` and
 * `all-proxy-models` allow everything, `all-team-models` on a key defers to its team, and
 * `no-default-models` on a user blocks that user's personal (team-less) keys.
 */
import { GatewayError } from '../core/errors.js';
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

/** Python-style list, as LiteLLM's messages print it. */
function pyList(list: readonly string[]): string {
  return `[${list.map((m) => `'${m}'`).join(', ')}]`;
}

function denied(message: string): GatewayError {
  return new GatewayError({ code: 'permission_denied', status: 403, param: 'model', message });
}

export interface AccessSubjects {
  key: KeyRecord | undefined;
  user: UserRecord | undefined;
  team: TeamRecord | undefined;
}

/** Throws the 403 that names the allowed models, or returns when the model may be called. */
export function checkModelAccess(s: AccessSubjects, model: string, groups: AccessGroups): void {
  const keyModels = s.key?.models.filter((m) => m !== 'all-team-models') ?? [];
  if (s.key !== undefined && keyModels.length > 0 && !listAllows(keyModels, model, groups)) {
    throw denied(`API Key not allowed to access model. This key can only access models=${pyList(s.key.models)}. Tried to access ${model}`);
  }
  if (s.team !== undefined && s.team.models.length > 0 && !listAllows(s.team.models, model, groups)) {
    throw denied(`Team=${s.team.team_id} not allowed to call model=${model}. Allowed team models = ${pyList(s.team.models)}`);
  }
  // A user's own list governs only keys outside a team (team keys follow the team).
  const personal = s.key === undefined || s.key.team_id === null;
  if (personal && s.user !== undefined && s.user.models.length > 0) {
    const userModels = s.user.models.filter((m) => m !== 'no-default-models');
    if (userModels.length < s.user.models.length || !listAllows(userModels, model, groups)) {
      throw denied(`User=${s.user.user_id} not allowed to call model=${model}. Allowed user models = ${pyList(s.user.models)}`);
    }
  }
}

/** The public model names the subjects may call (for `/v1/models`). */
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
