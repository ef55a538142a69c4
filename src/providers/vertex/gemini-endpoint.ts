/** Gemini on Vertex AI: Google's publisher path in the deployment's project and location, OAuth bearer. */
import type { GeminiEndpoint } from '../gemini/adapter.js';
import { modelId } from '../gemini/adapter.js';
import { noteRejectedToken, vertexModelUrl, vertexTarget } from './endpoint.js';

export const vertexGeminiEndpoint: GeminiEndpoint = {
  async resolve(call, method) {
    const target = await vertexTarget(call.deployment);
    return {
      url: vertexModelUrl(target, 'google', modelId(call), method),
      headers: { authorization: `Bearer ${target.token}` },
      onError: (err) => noteRejectedToken(err, target),
    };
  },
  // Vertex counts the request's own fields; generation settings do not change the count.
  countTokensBody(body) {
    const { generationConfig: _config, toolConfig: _toolConfig, ...rest } = body;
    return rest;
  },
  // Vertex serves its embedding models (text-embedding-*, gemini-embedding-*) through :predict.
  embedWire: 'predict',
};
