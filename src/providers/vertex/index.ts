/**
 * Registration point of the vertex provider: the selector picks the adapter by the call's model id
 * (a `vertex_ai/*` wildcard deployment serves every family) — Claude through Anthropic's publisher
 * (rawPredict, passthrough from the Anthropic surface), Model Garden MaaS models through the
 * OpenAI-compatible endpoint (passthrough from the OpenAI surface), Mistral through its publisher,
 * everything else through Google's (Gemini generateContent). See partner-models.ts.
 */
import type { AdapterSelector } from '../types.js';
import { GeminiAdapter } from '../gemini/adapter.js';
import { VertexAnthropicAdapter } from './anthropic-adapter.js';
import { vertexGeminiEndpoint } from './gemini-endpoint.js';
import { VertexMistralAdapter } from './mistral-adapter.js';
import { VertexOpenAICompatibleAdapter } from './openai-compatible-adapter.js';
import { vertexFamily } from './partner-models.js';

// All stateless per call: project, location and credentials come from the call's deployment
// (credentials are cached by endpoint.ts), so one instance of each serves every deployment.
const adapters = {
  claude: new VertexAnthropicAdapter(),
  gemini: new GeminiAdapter('vertex_ai', vertexGeminiEndpoint),
  'openai-compatible': new VertexOpenAICompatibleAdapter(),
  mistral: new VertexMistralAdapter(),
};

export function isVertexClaude(model: string): boolean {
  return vertexFamily(model) === 'claude';
}

export const vertexSelector: AdapterSelector | undefined = (deployment, upstreamModel) => adapters[vertexFamily(upstreamModel ?? deployment.model)];
