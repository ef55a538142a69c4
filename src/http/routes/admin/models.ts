/**
 * `/model/new`, `/model/update`, `/model/delete` (with `general_settings.store_model_in_db`),
 * `/model/info` (also `/v1/model/info`), `/v2/model/info`, `/model_group/info` and the public
 * `/public/model_hub/info`.
 *
 * The info routes answer any key with the deployments it may use (src/policy/admin/model-views.ts);
 * proxy admins change any stored model, team admins their team's (`model_info.team_id`). Stored
 * models are routed like the config file's (the composition root rebuilds the model table when
 * they change); their credentials are encrypted at rest (src/policy/model-secrets.ts).
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../../core/errors.js';
import { GATEWAY_VERSION } from '../../../observability/headers.js';
import { configView, groupsOf, modelGroups, storedView, visibility, type ModelView } from '../../../policy/admin/model-views.js';
import { modelChangeAllowed, updateStoredModel } from '../../../policy/admin/model-update.js';
import { canViewAll } from '../../../policy/admin/roles.js';
import { object, queryParam, requiredStr, str } from './fields.js';
import { jsonBody, type AdminContext, type Caller } from './context.js';

const NOT_STORED = 'Set `store_model_in_db: true` in general_settings on your config.yaml to add or delete models through the API.';

function providerOf(params: Record<string, unknown>): string {
  const model = typeof params.model === 'string' ? params.model : '';
  const slash = model.indexOf('/');
  return typeof params.custom_llm_provider === 'string' ? params.custom_llm_provider : slash > 0 ? model.slice(0, slash) : 'openai';
}

export function registerModelRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { models, render, route } = ctx;

  /** Every deployment the caller may use, config file first, as LiteLLM lists them. */
  const visibleModels = (caller: Caller): (ModelView & { provider: string })[] => {
    const config = ctx.configModels();
    const stored = models.list();
    const allowed = visibility(caller.principal, ctx.tenancy, canViewAll(caller.who), groupsOf(config, stored));
    const views = [
      ...config.map((d) => ({ ...configView(d), provider: d.provider })),
      ...stored.map((m) => ({ ...storedView(m, render.model(m).litellm_params as Record<string, unknown>), provider: providerOf(m.litellm_params) })),
    ];
    return views.filter((v) => allowed(v.model_name));
  };
  const plain = (v: ModelView & { provider: string }): ModelView => ({ model_name: v.model_name, litellm_params: v.litellm_params, model_info: v.model_info });

  app.post('/model/new', route('self', async (request, caller) => {
    if (!ctx.storeModelInDb) throw errors.invalidRequest(NOT_STORED);
    const b = jsonBody(request);
    const params = object(b, 'litellm_params');
    if (params === undefined || typeof params.model !== 'string' || params.model === '') throw errors.invalidRequest('litellm_params.model: required', 'litellm_params');
    const name = requiredStr(b, 'model_name');
    const info = object(b, 'model_info') ?? {};
    await modelChangeAllowed(ctx.tenancy, caller.who, info.team_id, '/model/new');
    const problem = ctx.checkModel?.({ model_id: typeof info.id === 'string' ? info.id : 'new', model_name: name, litellm_params: params, model_info: info });
    if (problem !== undefined) throw errors.invalidRequest(problem, 'litellm_params');
    return render.model(await models.create(name, params, info, caller.actor));
  }));

  app.post('/model/update', route('self', async (request, caller) => {
    if (!ctx.storeModelInDb) throw errors.invalidRequest(NOT_STORED);
    const b = jsonBody(request);
    const info = object(b, 'model_info') ?? {};
    const id = typeof info.id === 'string' && info.id !== '' ? info.id : undefined;
    if (id === undefined) throw errors.invalidRequest('model_info.id: required (the id of the stored model to update)', 'model_info.id');
    const existing = ctx.tenancy.models.get(id);
    // A team admin may change only its team's models, and may not move one to another team.
    await modelChangeAllowed(ctx.tenancy, caller.who, existing?.model_info.team_id ?? info.team_id, '/model/update');
    if (existing !== undefined && info.team_id !== undefined && info.team_id !== existing.model_info.team_id) await modelChangeAllowed(ctx.tenancy, caller.who, info.team_id, '/model/update');
    const changes = { model_name: str(b, 'model_name') ?? undefined, litellm_params: object(b, 'litellm_params'), model_info: info };
    if (existing !== undefined) {
      const merged = { ...existing.litellm_params, ...(changes.litellm_params ?? {}) };
      const problem = ctx.checkModel?.({ model_id: id, model_name: changes.model_name ?? existing.model_name, litellm_params: merged, model_info: { ...existing.model_info, ...info } });
      if (problem !== undefined) throw errors.invalidRequest(problem, 'litellm_params');
    }
    return render.model(await updateStoredModel(ctx.tenancy, id, changes, caller.actor));
  }));

  app.post('/model/delete', route('self', async (request, caller) => {
    if (!ctx.storeModelInDb) throw errors.invalidRequest(NOT_STORED);
    const id = requiredStr(jsonBody(request), 'id');
    await modelChangeAllowed(ctx.tenancy, caller.who, ctx.tenancy.models.get(id)?.model_info.team_id, '/model/delete');
    await models.delete(id);
    return { message: `Model: ${id} deleted successfully` };
  }));

  const info = route('self', (request, caller) => {
    const only = queryParam(request.query, 'litellm_model_id');
    const data = visibleModels(caller).map(plain).filter((m) => only === undefined || m.model_info.id === only);
    return Promise.resolve({ data });
  });
  app.get('/model/info', info);
  app.get('/v1/model/info', info);

  // The admin UI's listing: the same entries, filterable by `model` (name) or `modelId`, one page.
  app.get('/v2/model/info', route('self', (request, caller) => {
    const name = queryParam(request.query, 'model');
    const id = queryParam(request.query, 'modelId') ?? queryParam(request.query, 'model_id');
    const data = visibleModels(caller).map(plain).filter((m) => (name === undefined || m.model_name === name) && (id === undefined || m.model_info.id === id));
    return Promise.resolve({ data, total_count: data.length, current_page: 1, total_pages: 1, size: data.length });
  }));

  app.get('/model_group/info', route('self', (request, caller) => {
    const group = queryParam(request.query, 'model_group');
    const data = modelGroups(visibleModels(caller)).filter((g) => group === undefined || g.model_group === group);
    return Promise.resolve({ data });
  }));

  // Public (no key), as LiteLLM's: the model hub's title, version and links.
  app.get('/public/model_hub/info', () => Promise.resolve({ docs_title: 'Tollgate API', custom_docs_description: null, litellm_version: GATEWAY_VERSION, useful_links: {} }));
}
