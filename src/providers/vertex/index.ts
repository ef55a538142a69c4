/**
 * Registration point of the vertex provider: the selector picks the adapter for a deployment —
 * Claude models through Anthropic's publisher (rawPredict, passthrough from the Anthropic surface),
 * everything else through Google's (Gemini generateContent).
 */
import type { AdapterSelector } from '../registry.js';
import { GeminiAdapter } from '../gemini/adapter.js';
import { VertexAnthropicAdapter } from './anthropic-adapter.js';
import { vertexGeminiEndpoint } from './gemini-endpoint.js';

// Both are stateless per call: project, location and credentials come from the call's deployment
// (credentials are cached by endpoint.ts), so one instance of each serves every deployment.
const anthropic = new VertexAnthropicAdapter();
const gemini = new GeminiAdapter('vertex_ai', vertexGeminiEndpoint);

export function isVertexClaude(model: string): boolean {
  return /^(anthropic\/)?claude/.test(model);
}

export const vertexSelector: AdapterSelector | undefined = (deployment) => (isVertexClaude(deployment.model) ? anthropic : gemini);
