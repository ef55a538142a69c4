/**
 * LiteLLM's `POST /v1/images/generations`, `/images/generations` and the Azure-style
 * `/openai/deployments/{model}/images/generations` (the path's model wins; call type
 * `aimage_generation`), through handleEndpoint, priced per image or by gpt-image-1's tokens.
 */
import type { FastifyInstance } from 'fastify';
import { imageUnits, validateImageRequest } from '../../protocols/openai-endpoints/request.js';
import type { CallDeps } from '../call/deps.js';
import { handleEndpoint, type EndpointSpec } from './endpoint-call.js';

const IMAGES: EndpointSpec = {
  surface: 'openai-images',
  route: '/v1/images/generations',
  dialect: 'openai-images',
  endpoint: 'image generation',
  kind: 'image',
  validate: validateImageRequest,
  requestUnits: imageUnits,
};

export function registerImagesRoutes(app: FastifyInstance, deps: CallDeps): void {
  for (const path of ['/v1/images/generations', '/images/generations', '/openai/deployments/:model/images/generations']) {
    app.post(path, { config: { surface: 'openai' } }, (request, reply) => handleEndpoint(IMAGES, deps, request, reply));
  }
}
