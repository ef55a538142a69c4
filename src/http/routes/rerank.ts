/**
 * LiteLLM's `POST /v1/rerank`, `/rerank` and `/v2/rerank` (call type `arerank`), through
 * handleEndpoint, in LiteLLM's (Cohere's) rerank shape: to Cohere's `/v2/rerank` and to the
 * OpenAI-compatible servers that serve `/rerank` (vLLM, Together), priced per search unit.
 */
import type { FastifyInstance } from 'fastify';
import { validateRerankRequest } from '../../protocols/openai-endpoints/request.js';
import type { CallDeps } from '../call/deps.js';
import { handleEndpoint, type EndpointSpec } from './endpoint-call.js';

const RERANK: EndpointSpec = {
  surface: 'rerank',
  route: '/v1/rerank',
  dialect: 'rerank',
  endpoint: 'rerank',
  kind: 'rerank',
  validate: validateRerankRequest,
};

export function registerRerankRoutes(app: FastifyInstance, deps: CallDeps): void {
  for (const path of ['/v1/rerank', '/rerank', '/v2/rerank']) {
    app.post(path, { config: { surface: 'openai' } }, (request, reply) => handleEndpoint(RERANK, deps, request, reply));
  }
}
