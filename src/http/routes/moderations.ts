/** LiteLLM's `POST /v1/moderations` and `/moderations` (call type `amoderation`), through handleEndpoint. */
import type { FastifyInstance } from 'fastify';
import { validateModerationRequest } from '../../protocols/openai-endpoints/request.js';
import type { CallDeps } from '../call/deps.js';
import { handleEndpoint, type EndpointSpec } from './endpoint-call.js';

const MODERATIONS: EndpointSpec = {
  surface: 'openai-moderations',
  route: '/v1/moderations',
  dialect: 'openai-moderations',
  endpoint: 'moderations',
  kind: 'moderation',
  validate: validateModerationRequest,
};

export function registerModerationsRoutes(app: FastifyInstance, deps: CallDeps): void {
  for (const path of ['/v1/moderations', '/moderations']) {
    app.post(path, { config: { surface: 'openai' } }, (request, reply) => handleEndpoint(MODERATIONS, deps, request, reply));
  }
}
