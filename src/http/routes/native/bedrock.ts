/**
 * Bedrock-shaped ingress: `/bedrock/model/{modelId}/invoke`, `…/invoke-with-response-stream`,
 * `…/converse`, `…/converse-stream` and `GET /bedrock/inference-profiles`, for clients configured
 * for Bedrock itself (Claude Code with CLAUDE_CODE_USE_BEDROCK=1,
 * ANTHROPIC_BEDROCK_BASE_URL=http://gateway/bedrock and CLAUDE_CODE_SKIP_BEDROCK_AUTH=1, which then
 * sends the Tollgate key as `x-api-key` or `Authorization: Bearer`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bedrockInferenceProfiles } from '../../../routing/native.js';
import { bedrockErrors } from '../../call/errors.js';
import { authenticate, requestIdFor } from '../../call/pipeline.js';
import { sendJson } from '../../response-writer.js';
import { handleNative, type NativeDeps } from './flow.js';

const ACTIONS = ['invoke', 'invoke-with-response-stream', 'converse', 'converse-stream'] as const;

export function registerBedrockRoutes(app: FastifyInstance, deps: NativeDeps): void {
  for (const action of ACTIONS) {
    const route = `/bedrock/model/{modelId}/${action}`;
    app.post<{ Params: { modelId: string } }>(`/bedrock/model/:modelId/${action}`, (request, reply) =>
      handleNative(deps, request, reply, {
        kind: { platform: 'bedrock', action },
        surface: action.startsWith('invoke') ? 'bedrock-invoke' : 'bedrock-converse',
        errors: bedrockErrors,
        route,
        modelId: request.params.modelId,
        stream: action.endsWith('-stream'),
      }),
    );
  }
  app.get<{ Querystring: { type?: string } }>('/bedrock/inference-profiles', (request, reply) => listInferenceProfiles(deps, request, reply));
}

/** ListInferenceProfiles (routing/native.ts). Not a model call: no call record, like /v1/models. */
function listInferenceProfiles(deps: NativeDeps, request: FastifyRequest<{ Querystring: { type?: string } }>, reply: FastifyReply): void {
  void reply.hijack();
  const requestId = requestIdFor(request);
  if (authenticate(deps, request, reply.raw, bedrockErrors, requestId) === undefined) return;
  const summaries = bedrockInferenceProfiles(deps.models, request.query.type?.toUpperCase());
  sendJson(reply.raw, 200, { 'x-litellm-call-id': requestId }, JSON.stringify({ inferenceProfileSummaries: summaries }));
}
