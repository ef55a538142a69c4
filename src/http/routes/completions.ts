/**
 * LiteLLM's legacy completions routes: `/v1/completions`, `/completions`, and the Azure/engine-style
 * `/engines/{model}/completions` and `/openai/deployments/{model}/completions`, where the model in
 * the path wins over the body's (litellm/proxy/proxy_server.py `completion`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isObject } from '../../core/json.js';
import type { ParsedBody } from '../body.js';
import type { CallDeps } from '../call/deps.js';
import { handleGeneration } from '../call/generation.js';
import { openAICompletionsCodec } from '../surfaces.js';

export function registerCompletionsRoutes(app: FastifyInstance, deps: CallDeps): void {
  const openai = { config: { surface: 'openai' as const } };
  for (const path of ['/v1/completions', '/completions', '/engines/:model/completions', '/openai/deployments/:model/completions']) {
    app.post(path, openai, (request, reply) => handleGeneration(openAICompletionsCodec, deps, withPathModel(request), reply));
  }
}

function withPathModel(request: FastifyRequest): FastifyRequest {
  const params = request.params as { model?: string } | undefined;
  const model = params?.model;
  const parsed = request.body as ParsedBody;
  if (model === undefined || model === '' || !isObject(parsed.json) || parsed.json.model === model) return request;
  const json = { ...parsed.json, model };
  // The body's bytes no longer say what the call is for: forward the edited body instead.
  request.body = { json, raw: Buffer.from(JSON.stringify(json)) } satisfies ParsedBody;
  return request;
}
