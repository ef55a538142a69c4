/**
 * `/model/new`, `/model/delete` (with `general_settings.store_model_in_db`) and `/model/info`
 * (also `/v1/model/info`): the config file's deployments and the stored ones, credentials left out.
 * Stored models are routed like the config file's (the composition root rebuilds the model table
 * when they change); their credentials are encrypted at rest (src/policy/model-secrets.ts).
 */
import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../../../core/errors.js';
import { object, queryParam, requiredStr } from './fields.js';
import { jsonBody, requireRead, type AdminContext } from './index.js';
import { redactParams } from './render.js';

const NOT_STORED = 'Set `store_model_in_db: true` in general_settings on your config.yaml to add or delete models through the API.';

export function registerModelRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { models, render, route } = ctx;

  app.post('/model/new', route('write', async (request, caller) => {
    if (!ctx.storeModelInDb) throw invalidRequest(NOT_STORED);
    const b = jsonBody(request);
    const params = object(b, 'litellm_params');
    if (params === undefined || typeof params.model !== 'string' || params.model === '') throw invalidRequest('litellm_params.model: required', 'litellm_params');
    const name = requiredStr(b, 'model_name');
    const info = object(b, 'model_info') ?? {};
    const problem = ctx.checkModel?.({ model_id: typeof info.id === 'string' ? info.id : 'new', model_name: name, litellm_params: params, model_info: info });
    if (problem !== undefined) throw invalidRequest(problem, 'litellm_params');
    return render.model(await models.create(name, params, info, caller.actor));
  }));

  app.post('/model/delete', route('write', async (request) => {
    if (!ctx.storeModelInDb) throw invalidRequest(NOT_STORED);
    const id = requiredStr(jsonBody(request), 'id');
    await models.delete(id);
    return { message: `Model: ${id} deleted successfully` };
  }));

  const info = route('read', (request, caller) => {
    requireRead(request, caller);
    const only = queryParam(request.query, 'litellm_model_id');
    const fromConfig = ctx.configModels().map((d) => ({
      model_name: d.modelGroup,
      litellm_params: redactParams(d.params),
      model_info: { id: d.id, db_model: false, base_model: d.baseModel ?? null, max_input_tokens: d.maxInputTokens ?? null },
    }));
    const fromDb = models.list().map((m) => {
      const r = render.model(m);
      return { model_name: m.model_name, litellm_params: r.litellm_params, model_info: { ...m.model_info, id: m.model_id, db_model: true } };
    });
    const data = [...fromConfig, ...fromDb].filter((m) => only === undefined || m.model_info.id === only);
    return Promise.resolve({ data });
  });
  app.get('/model/info', info);
  app.get('/v1/model/info', info);
}
