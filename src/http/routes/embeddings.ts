/**
 * LiteLLM's embeddings routes — `POST /v1/embeddings`, `/embeddings`, and the Azure-style
 * `/openai/deployments/{model}/embeddings` (the path's model wins) — through the one pipeline:
 * authenticated, admitted (model access, budgets, rate limits), routed with retries and fallbacks,
 * metered on the upstream's prompt tokens. OpenAI-shaped upstreams get the client's bytes; Bedrock,
 * Vertex, Gemini and Cohere get the canonical request in their own API.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isObject } from '../../core/json.js';
import { decodeEmbeddingRequest, validateEmbeddingRequest } from '../../protocols/openai-embeddings/request.js';
import { encodeEmbeddingResponse } from '../../protocols/openai-embeddings/encode.js';
import type { ParsedBody } from '../body.js';
import type { CallDeps } from '../call/deps.js';
import { surfaceErrors } from '../call/errors.js';
import { routeCall } from '../call/generation.js';
import { runCall } from '../call/pipeline.js';
import { costField } from '../call/send.js';
import { openAIChatCodec } from '../surfaces.js';

const EMBEDDINGS = { validate: validateEmbeddingRequest };

export function registerEmbeddingsRoutes(app: FastifyInstance, deps: CallDeps): void {
  const openai = { config: { surface: 'openai' as const } };
  for (const path of ['/v1/embeddings', '/embeddings', '/openai/deployments/:model/embeddings', '/engines/:model/embeddings']) {
    app.post(path, openai, (request, reply) => handleEmbeddings(deps, request, reply));
  }
}

function handleEmbeddings(deps: CallDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const parsed = request.body as ParsedBody;
  const pathModel = (request.params as { model?: string } | undefined)?.model;
  // The path's model names the deployment group, as in LiteLLM's azure-style routes.
  const json = pathModel !== undefined && pathModel !== '' && isObject(parsed.json) && parsed.json.model !== pathModel ? { ...parsed.json, model: pathModel } : parsed.json;
  const raw = json === parsed.json ? parsed.raw : Buffer.from(JSON.stringify(json));
  return runCall(deps, request, reply, {
    surface: 'openai-embeddings',
    route: '/v1/embeddings',
    stream: false,
    errors: surfaceErrors(openAIChatCodec),
    run: async (ctx, signal) => {
      const { answer, routed, body, remember } = await routeCall(EMBEDDINGS, deps, ctx, json, raw, request, signal, (call) =>
        deps.calls.embed({
          ...call.base,
          body: call.body,
          rawBody: call.rawBody,
          decode: decodeEmbeddingRequest,
          encode: (response, model, extra) => encodeEmbeddingResponse(response, model, call.body.encoding_format === 'base64' ? 'base64' : 'float', extra),
          annotateUsage: (usage) => costField(ctx.costOf?.(usage)),
        }),
      );
      return { answer, routed, send: { body, native: false, remember } };
    },
  });
}
