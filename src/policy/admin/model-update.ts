/**
 * `/model/update` of a stored model (LiteLLM `update_model`): the given `litellm_params` and
 * `model_info` fields are merged over the stored ones, the credentials re-encrypted, and the
 * routing table picks the change up like any other stored-model write. Who may call it — proxy
 * admins, and team admins for their team's models — is checked by the caller (`modelChangeAllowed`).
 */
import type { ModelRecord } from '../../storage/tenancy-ports.js';
import { errors } from '../../core/errors.js';
import { MissingSecretError } from '../model-secrets.js';
import type { Tenancy } from '../tenancy.js';
import { badRequest, notFound } from './common.js';
import { forbidden, isProxyAdmin, isTeamAdmin, type AdminCaller } from './roles.js';

export async function updateStoredModel(
  tenancy: Tenancy,
  modelId: string,
  changes: { model_name?: string | undefined; litellm_params?: Record<string, unknown> | undefined; model_info?: Record<string, unknown> | undefined },
  actor: string | null,
): Promise<ModelRecord> {
  const existing = tenancy.models.get(modelId);
  if (existing === undefined) throw notFound(`Model with id=${modelId} not found in db`, 'model_info.id');
  const record: ModelRecord = {
    ...existing,
    model_name: changes.model_name ?? existing.model_name,
    litellm_params: { ...existing.litellm_params, ...(changes.litellm_params ?? {}) },
    model_info: { ...existing.model_info, ...(changes.model_info ?? {}), id: modelId },
    updated_at: tenancy.now(),
    updated_by: actor,
  };
  let sealed: Record<string, unknown>;
  try {
    sealed = tenancy.modelSecrets.seal(record.litellm_params);
  } catch (err) {
    if (err instanceof MissingSecretError) throw badRequest(err.message, `litellm_params.${err.field}`);
    throw err;
  }
  if (!(await tenancy.stores.models.update({ ...record, litellm_params: sealed }))) throw notFound(`Model with id=${modelId} not found in db`, 'model_info.id');
  tenancy.putModel(record);
  return record;
}

/**
 * Proxy admins may add, change and delete any model; a team admin only models of its team
 * (`model_info.team_id`), as LiteLLM's team models.
 */
export async function modelChangeAllowed(tenancy: Tenancy, caller: AdminCaller, teamId: unknown, route: string): Promise<void> {
  if (isProxyAdmin(caller)) return;
  if (typeof teamId !== 'string' || teamId === '') {
    // LiteLLM's ModelManagementAuthChecks.can_user_make_model_call: the same 403 (auth_error) for /model/new, update and delete.
    throw errors.permissionDenied(
      `User does not have permission to make this model call. Your role=${caller.role ?? 'None'}. You can only make model calls if you are a PROXY_ADMIN or if you are a team admin, by specifying a team_id in the model_info.`,
      { type: 'auth_error', param: 'model_info.team_id' },
    );
  }
  const team = await tenancy.stores.teams.get(teamId);
  if (team === undefined) throw notFound(`Team not found, passed team_id=${teamId}`, 'model_info.team_id');
  if (!isTeamAdmin(team, caller.userId)) {
    throw forbidden(`User=${caller.userId ?? 'None'} is not a proxy admin or an admin of team=${teamId}, so it cannot call ${route} for this team's models.`, 'model_info.team_id');
  }
}
