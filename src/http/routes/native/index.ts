/**
 * Native-shaped ingress for clients configured for Bedrock or Vertex directly. LiteLLM's
 * pass-through routes forward such calls unmetered; here each is authenticated with a Tollgate
 * key, routed to a deployment, re-signed with its real credentials, passed through byte for byte
 * while tapped for usage, and recorded like every other call. See docs/providers.md.
 */
import type { FastifyInstance } from 'fastify';
import { registerBedrockRoutes } from './bedrock.js';
import type { NativeDeps } from './flow.js';
import { registerVertexRoutes } from './vertex.js';

export type { NativeDeps } from './flow.js';

export function registerNativeRoutes(app: FastifyInstance, deps: NativeDeps): void {
  registerBedrockRoutes(app, deps);
  registerVertexRoutes(app, deps);
}
