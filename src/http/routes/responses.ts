/**
 * LiteLLM's Responses API routes. `POST /v1/responses` (also `/responses`, `/openai/v1/responses`)
 * is a generation through the one pipeline: passed through to OpenAI and Azure deployments,
 * translated for the others; `…/compact` only to those that speak it. A stored response — `GET` / `DELETE /v1/responses/{id}`,
 * `GET …/{id}/input_items`, `POST …/{id}/cancel` — is forwarded to the deployment its managed id
 * names (core/response-id.ts), for a key that may use that deployment's model. These are reads of
 * what a call stored, not calls: they make no call record.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, toGatewayError } from '../../core/errors.js';
import type { StoredResponseRequest } from '../../routing/calls.js';
import { ClientGone } from '../../routing/attempts.js';
import type { CallDeps } from '../call/deps.js';
import { sendError, surfaceErrors } from '../call/errors.js';
import { handleGeneration } from '../call/generation.js';
import { authenticate, requestIdFor } from '../call/pipeline.js';
import { sendJson } from '../response-writer.js';
import { openAIResponsesCodec, openAIResponsesCompactCodec } from '../surfaces.js';

export const RESPONSES_PATHS = ['/v1/responses', '/responses', '/openai/v1/responses'] as const;

type Part = StoredResponseRequest['part'];

export function registerResponsesRoutes(app: FastifyInstance, deps: CallDeps): void {
  const openai = { config: { surface: 'openai' as const } };
  for (const path of RESPONSES_PATHS) {
    app.post(path, openai, (request, reply) => handleGeneration(openAIResponsesCodec, deps, request, reply));
    app.post(`${path}/compact`, openai, (request, reply) => handleGeneration(openAIResponsesCompactCodec, deps, request, reply));
    const stored = (method: StoredResponseRequest['method'], part: Part) => (request: FastifyRequest, reply: FastifyReply) => serveStored(deps, request, reply, method, part);
    app.get(`${path}/:id`, openai, stored('GET', ''));
    app.delete(`${path}/:id`, openai, stored('DELETE', ''));
    app.get(`${path}/:id/input_items`, openai, stored('GET', '/input_items'));
    app.post(`${path}/:id/cancel`, openai, stored('POST', '/cancel'));
  }
}

async function serveStored(deps: CallDeps, request: FastifyRequest, reply: FastifyReply, method: StoredResponseRequest['method'], part: Part): Promise<void> {
  void reply.hijack();
  const res = reply.raw;
  const encoding = surfaceErrors(openAIResponsesCodec);
  const requestId = requestIdFor(request);
  const principal = authenticate(deps, request, res, encoding, requestId);
  if (principal === undefined) return;
  const id = (request.params as { id?: string }).id ?? '';
  const gone = new ClientGone();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  try {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    const authorize = (deployment: { modelGroup: string }): void => {
      // The key may reach what a model it may call stored, nothing else (it could not have made it).
      const group = deployment.modelGroup;
      if (deps.policy.allowedModels(principal, [group]).length === 0) throw errors.permissionDenied(`key not allowed to access model=${group}`, { param: 'response_id' });
    };
    const answer = await deps.calls.storedResponse(id, { method, part, query }, { clientHeaders: request.headers, signal: gone, authorize });
    sendJson(res, answer.status, { ...answer.headers, 'content-type': 'application/json', 'x-litellm-call-id': requestId, 'x-litellm-model-id': answer.deployment.id }, answer.body);
  } catch (err) {
    sendError(res, encoding, toGatewayError(err), requestId);
  }
}
