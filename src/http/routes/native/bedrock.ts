/**
 * Bedrock-shaped ingress: `/bedrock/model/{modelId}/invoke`, `…/invoke-with-response-stream`,
 * `…/converse`, `…/converse-stream` and `GET /bedrock/inference-profiles`, for clients configured
 * for Bedrock itself (Claude Code with CLAUDE_CODE_USE_BEDROCK=1,
 * ANTHROPIC_BEDROCK_BASE_URL=http://gateway/bedrock and CLAUDE_CODE_SKIP_BEDROCK_AUTH=1, which then
 * sends the Tollgate key as `x-api-key` or `Authorization: Bearer`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, toGatewayError } from '../../../core/errors.js';
import type { Deployment } from '../../../core/deployment.js';
import { bedrockNativeFor } from '../../../providers/bedrock/index.js';
import { bedrockRoute, isAnthropicModel, servesInvoke } from '../../../providers/bedrock/model-id.js';
import { isStreamingAction, type NativeBedrockAction } from '../../../providers/bedrock/native.js';
import { bedrockRegion } from '../../../providers/bedrock/transport.js';
import { requestIdFor } from '../../proxy-flow.js';
import { sendJson } from '../../response-writer.js';
import { bedrockDialect, type NativeDialect } from './dialects.js';
import { handleNative, sendNativeError, type NativeDeps } from './flow.js';

const ACTIONS: readonly NativeBedrockAction[] = ['invoke', 'invoke-with-response-stream', 'converse', 'converse-stream'];
const INVOKE = bedrockDialect('bedrock-invoke');
const CONVERSE = bedrockDialect('bedrock-converse');

function isBedrock(d: Deployment): boolean {
  return d.provider === 'bedrock' || d.provider === 'bedrock_converse';
}

/** The id a Bedrock client would put in the URL for this deployment. */
export function bedrockIdOf(d: Deployment): string {
  return bedrockRoute(d.provider, d.model).modelId;
}

/** InvokeModel carries an Anthropic body: only Claude deployments (or wildcards, checked per call) take it. */
function acceptsInvoke(d: Deployment): boolean {
  return isBedrock(d) && (d.model.includes('*') || servesInvoke(d.provider, d.model));
}

export function registerBedrockRoutes(app: FastifyInstance, deps: NativeDeps): void {
  for (const action of ACTIONS) {
    const invoke = action.startsWith('invoke');
    const dialect = invoke ? INVOKE : CONVERSE;
    const route = `/bedrock/model/{modelId}/${action}`;
    app.post<{ Params: { modelId: string } }>(`/bedrock/model/:modelId/${action}`, (request, reply) =>
      handleNative(deps, request, reply, {
        dialect,
        route,
        modelId: request.params.modelId,
        stream: isStreamingAction(action),
        accept: invoke ? acceptsInvoke : isBedrock,
        idOf: bedrockIdOf,
        send: (d, upstreamModel, raw, body, signal) => {
          if (invoke && !servesInvoke(d.provider, upstreamModel)) {
            // A wildcard deployment learns the model per call; only Claude takes the Anthropic body.
            throw new GatewayError({ code: 'invalid_request', status: 400, message: `${upstreamModel} is not a Claude model: Tollgate forwards InvokeModel bodies to Claude only; use /converse for it` });
          }
          return bedrockNativeFor(d).call(action, raw, body, { deployment: d, upstreamModel, signal, clientHeaders: request.headers });
        },
      }),
    );
  }
  app.get<{ Querystring: { type?: string } }>('/bedrock/inference-profiles', (request, reply) => listInferenceProfiles(deps, request, reply, INVOKE));
}

/**
 * ListInferenceProfiles, as Claude Code asks for it at startup (`?type=SYSTEM_DEFINED`): the
 * configured Bedrock Claude models that are cross-region profiles (`us.`, `eu.`, `global.` …), or
 * application profile ARNs for `type=APPLICATION`, in AWS's response shape. Not a model call: no
 * call record, like /v1/models.
 */
function listInferenceProfiles(deps: NativeDeps, request: FastifyRequest<{ Querystring: { type?: string } }>, reply: FastifyReply, dialect: NativeDialect): void {
  void reply.hijack();
  const requestId = requestIdFor(request);
  try {
    deps.auth.authenticate(request.headers);
  } catch (err) {
    sendNativeError(reply.raw, dialect, toGatewayError(err), requestId);
    return;
  }
  const type = request.query.type?.toUpperCase();
  const seen = new Set<string>();
  const summaries: Record<string, unknown>[] = [];
  for (const d of deps.models.all()) {
    if (!isBedrock(d) || d.model.includes('*')) continue;
    const id = bedrockIdOf(d);
    if (!isAnthropicModel(id) || seen.has(id)) continue;
    const application = id.startsWith('arn:');
    const geo = /^[a-z-]+\.anthropic\./.test(id);
    if (!application && !geo) continue;
    if (type !== undefined && type !== (application ? 'APPLICATION' : 'SYSTEM_DEFINED')) continue;
    seen.add(id);
    const region = bedrockRegion(d, process.env);
    const foundation = id.replace(/^[a-z-]+\./, '');
    summaries.push({
      inferenceProfileName: id,
      description: `Tollgate model group ${d.modelGroup}`,
      inferenceProfileArn: application ? id : `arn:aws:bedrock:${region}::inference-profile/${id}`,
      inferenceProfileId: application ? (id.split('/').at(-1) ?? id) : id,
      models: application ? [] : [{ modelArn: `arn:aws:bedrock:${region}::foundation-model/${foundation}` }],
      status: 'ACTIVE',
      type: application ? 'APPLICATION' : 'SYSTEM_DEFINED',
    });
  }
  sendJson(reply.raw, 200, { 'x-litellm-call-id': requestId }, JSON.stringify({ inferenceProfileSummaries: summaries }));
}
