/**
 * Vertex-shaped ingress: `POST /vertex_ai/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict`
 * and `:streamRawPredict` (and `count-tokens:rawPredict`), for clients configured for Vertex
 * itself: Claude Code with CLAUDE_CODE_USE_VERTEX=1, CLAUDE_CODE_SKIP_VERTEX_AUTH=1 and
 * ANTHROPIC_VERTEX_BASE_URL=http://gateway/vertex_ai/v1. The client's project and location are
 * its own configuration and are ignored; the deployment's are used. `/vertex-ai/v1/…` (LiteLLM's
 * other spelling) works too.
 */
import type { FastifyInstance } from 'fastify';
import { asString, isObject } from '../../../core/json.js';
import type { ParsedBody } from '../../body.js';
import { vertexErrors } from '../../call/errors.js';
import { handleNative, type NativeDeps } from './flow.js';

interface Params {
  project: string;
  location: string;
  target: string;
}

export function registerVertexRoutes(app: FastifyInstance, deps: NativeDeps): void {
  for (const prefix of ['/vertex_ai/v1', '/vertex-ai/v1']) {
    app.post<{ Params: Params }>(`${prefix}/projects/:project/locations/:location/publishers/anthropic/models/:target`, async (request, reply) => {
      const colon = request.params.target.lastIndexOf(':');
      const model = colon < 0 ? request.params.target : request.params.target.slice(0, colon);
      const method = colon < 0 ? '' : request.params.target.slice(colon + 1);
      // A label for metrics: the client's path would put every model and any method into it.
      const template = `${prefix}/projects/{project}/locations/{location}/publishers/anthropic/models`;
      const known = method === 'rawPredict' || method === 'streamRawPredict';
      if (model === 'count-tokens' && method === 'rawPredict') {
        const parsed = request.body as ParsedBody | undefined;
        const bodyModel = isObject(parsed?.json) ? asString(parsed.json.model) : undefined;
        return handleNative(deps, request, reply, {
          kind: { platform: 'vertex-count-tokens' },
          surface: 'anthropic-count-tokens',
          errors: vertexErrors,
          route: `${template}/count-tokens:rawPredict`,
          modelId: bodyModel ?? '',
          stream: false,
        });
      }
      return handleNative(deps, request, reply, {
        // An unknown method is answered 404 by the attempt, after the model was resolved and admitted.
        kind: { platform: 'vertex', method },
        surface: 'vertex-raw-predict',
        errors: vertexErrors,
        route: `${template}/{model}:${known ? method : '{method}'}`,
        modelId: model,
        stream: method === 'streamRawPredict',
      });
    });
  }
}
