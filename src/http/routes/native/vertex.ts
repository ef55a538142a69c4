/**
 * Vertex-shaped ingress: `POST /vertex_ai/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict`
 * and `:streamRawPredict` (and `count-tokens:rawPredict`), for clients configured for Vertex
 * itself: Claude Code with CLAUDE_CODE_USE_VERTEX=1, CLAUDE_CODE_SKIP_VERTEX_AUTH=1 and
 * ANTHROPIC_VERTEX_BASE_URL=http://gateway/vertex_ai/v1. The client's project and location are
 * its own configuration and are ignored; the deployment's are used. `/vertex-ai/v1/…` (LiteLLM's
 * other spelling) works too.
 */
import type { FastifyInstance } from 'fastify';
import type { Deployment } from '../../../core/deployment.js';
import { GatewayError } from '../../../core/errors.js';
import { asString, isObject } from '../../../core/json.js';
import { isVertexClaude } from '../../../providers/vertex/index.js';
import { vertexNativeCall, vertexNativeCountTokens } from '../../../providers/vertex/native.js';
import type { ParsedBody } from '../../body.js';
import { vertexDialect, type NativeDialect } from './dialects.js';
import { handleNative, type NativeDeps } from './flow.js';

const COUNT_TOKENS: NativeDialect = { ...vertexDialect, surface: 'anthropic-count-tokens' };

function acceptsVertexClaude(d: Deployment): boolean {
  return (d.provider === 'vertex_ai' || d.provider === 'vertex_ai_beta') && (d.model.includes('*') || isVertexClaude(d.model));
}

/** `claude-sonnet-4-5@20250929`: the id a Vertex client puts in the URL for this deployment. */
export function vertexIdOf(d: Deployment): string {
  return d.model.replace(/^anthropic\//, '');
}

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
        const route = `${template}/count-tokens:rawPredict`;
        const parsed = request.body as ParsedBody | undefined;
        const bodyModel = isObject(parsed?.json) ? asString(parsed.json.model) : undefined;
        return handleNative(deps, request, reply, {
          dialect: COUNT_TOKENS,
          route,
          modelId: bodyModel ?? '',
          stream: false,
          accept: acceptsVertexClaude,
          idOf: vertexIdOf,
          send: async (d, upstreamModel, _raw, body, signal) => ({
            kind: 'json',
            usage: {},
            ...(await vertexNativeCountTokens(body, { deployment: d, upstreamModel, signal, clientHeaders: request.headers })),
          }),
        });
      }
      return handleNative(deps, request, reply, {
        dialect: vertexDialect,
        route: `${template}/{model}:${known ? method : '{method}'}`,
        modelId: model,
        stream: method === 'streamRawPredict',
        accept: acceptsVertexClaude,
        idOf: vertexIdOf,
        send: (d, upstreamModel, raw, body, signal) => {
          if (!known) {
            throw new GatewayError({ code: 'not_found', status: 404, message: `Unknown method "${method}": Tollgate serves rawPredict and streamRawPredict for Anthropic models` });
          }
          return vertexNativeCall(method, raw, body, { deployment: d, upstreamModel, signal, clientHeaders: request.headers });
        },
      });
    });
  }
}
