/**
 * What `/model/info`, `/v2/model/info` and `/model_group/info` show, and to whom. As in LiteLLM
 * (litellm/proxy/proxy_server.py `model_info_v1`, `model_group_info`), any key may call them and
 * sees only the deployments whose `model_name` it may use (key, team and user model lists, access
 * groups, wildcards); admins and viewers see everything. `model_info` is returned as written in the
 * config (`supports_vision`, `mode`, …), with `id` and `db_model` added; credentials are left out.
 */
import type { Principal } from '../../core/call-record.js';
import { isSecretParam, type Deployment } from '../../core/deployment.js';
import type { ModelRecord } from '../../storage/tenancy-ports.js';
import { checkModelAccess, type AccessGroups } from '../model-access.js';
import { accessGroupsOf } from '../settings.js';
import type { Tenancy } from '../tenancy.js';

type Json = Record<string, unknown>;

export interface ModelView {
  model_name: string;
  litellm_params: Json;
  model_info: Json;
}

/**
 * Credentials are never sent back, the way LiteLLM's /model/info leaves them out
 * (`remove_sensitive_info_from_deployment` pops api_key, client_secret, vertex_credentials,
 * aws_access_key_id and aws_secret_access_key, and masks the other credential-named fields).
 */
export function redactParams(params: Readonly<Record<string, unknown>>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(params)) {
    if (isSecretParam(k)) continue;
    out[k] = v;
  }
  return out;
}

export function configView(d: Deployment): ModelView {
  return {
    model_name: d.modelGroup,
    litellm_params: redactParams(d.params),
    model_info: { base_model: d.baseModel ?? null, max_input_tokens: d.maxInputTokens ?? null, ...(d.modelInfo ?? {}), id: d.id, db_model: false },
  };
}

export function storedView(m: ModelRecord, params: Json): ModelView {
  return { model_name: m.model_name, litellm_params: params, model_info: { ...m.model_info, id: m.model_id, db_model: true } };
}

/** Access groups of the config's and the stored deployments (`model_info.access_groups`). */
export function groupsOf(configModels: readonly Deployment[], stored: readonly ModelRecord[]): AccessGroups {
  return accessGroupsOf([
    ...configModels.map((d) => ({ model_name: d.modelGroup, model_info: d.modelInfo === undefined ? undefined : { ...d.modelInfo } })),
    ...stored.map((m) => ({ model_name: m.model_name, model_info: m.model_info })),
  ]);
}

/**
 * A test for model names the principal may use: everything for the master key, admins, viewers and
 * an open gateway; otherwise what its key, team and user allow.
 */
export function visibility(principal: Principal, tenancy: Tenancy, viewAll: boolean, groups: AccessGroups): (modelName: string) => boolean {
  if (viewAll || principal.keyHash === undefined) return () => true;
  const key = tenancy.keys.get(principal.keyHash);
  if (key === undefined) return () => true;
  const subjects = {
    key,
    user: key.user_id === null ? undefined : tenancy.users.get(key.user_id),
    team: key.team_id === null ? undefined : tenancy.teams.get(key.team_id),
  };
  return (name) => {
    try {
      checkModelAccess(subjects, name, groups);
      return true;
    } catch {
      return false;
    }
  };
}

const CAPABILITIES = [
  'supports_vision', 'supports_function_calling', 'supports_parallel_function_calling', 'supports_tool_choice',
  'supports_response_schema', 'supports_prompt_caching', 'supports_reasoning', 'supports_web_search', 'supports_pdf_input',
  'supports_audio_input', 'supports_audio_output', 'supports_system_messages', 'supports_computer_use', 'supports_assistant_prefill',
] as const;

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * LiteLLM's ModelGroupInfo, one per `model_name`: providers, the largest context window, the
 * lowest published price, `mode`, summed rpm/tpm, and a capability flag set when any deployment
 * of the group declares it in `model_info`.
 */
export function modelGroups(views: readonly (ModelView & { provider: string })[]): Json[] {
  const groups = new Map<string, (ModelView & { provider: string })[]>();
  for (const v of views) groups.set(v.model_name, [...(groups.get(v.model_name) ?? []), v]);
  const out: Json[] = [];
  for (const [name, members] of groups) {
    const infos = members.map((m) => m.model_info);
    const pick = (field: string, better: (a: number, b: number) => boolean): number | null =>
      infos.reduce<number | null>((best, i) => {
        const v = num(i[field]);
        return v === null ? best : best === null || better(v, best) ? v : best;
      }, null);
    const sum = (field: 'rpm' | 'tpm'): number | null =>
      members.reduce<number | null>((acc, m) => {
        const v = num(m.litellm_params[field]) ?? num(m.model_info[field]);
        return v === null ? acc : (acc ?? 0) + v;
      }, null);
    const group: Json = {
      model_group: name,
      providers: [...new Set(members.map((m) => m.provider))],
      max_input_tokens: pick('max_input_tokens', (a, b) => a > b),
      max_output_tokens: pick('max_output_tokens', (a, b) => a > b),
      input_cost_per_token: pick('input_cost_per_token', (a, b) => a < b),
      output_cost_per_token: pick('output_cost_per_token', (a, b) => a < b),
      mode: infos.map((i) => i.mode).find((m) => typeof m === 'string') ?? null,
      tpm: sum('tpm'),
      rpm: sum('rpm'),
      supported_openai_params: [],
      configurable_clientside_auth_params: null,
      is_public_model_group: false,
      access_groups: [...new Set(infos.flatMap((i) => (Array.isArray(i.access_groups) ? i.access_groups.filter((g): g is string => typeof g === 'string') : [])))],
    };
    for (const c of CAPABILITIES) group[c] = infos.some((i) => i[c] === true);
    out.push(group);
  }
  return out;
}
