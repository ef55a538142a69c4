/**
 * POST /v1/messages/count_tokens. Anthropic-dialect upstreams count for real (the client's body is
 * forwarded); others are counted with the tokenizer estimate. Recorded as a call with no usage.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, invalidRequest, toGatewayError } from '../../core/errors.js';
import { isObject } from '../../core/json.js';
import { estimateRequestTokens } from '../../providers/shared/token-estimate.js';
import { upstreamModelFor } from '../../routing/router.js';
import { CallContext } from '../call-context.js';
import type { ParsedBody } from '../body.js';
import { adapterFor } from '../prepared-answer.js';
import { admitCall, requestIdFor, sendError, type ProxyDeps } from '../proxy-flow.js';
import { AdmissionError } from '../../policy/admission.js';
import { sendJson } from '../response-writer.js';
import { anthropicMessagesCodec } from '../surfaces.js';

export async function handleCountTokens(deps: ProxyDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  void reply.hijack();
  const res = reply.raw;
  const requestId = requestIdFor(request);
  const codec = anthropicMessagesCodec;
  let principal;
  try {
    principal = deps.auth.authenticate(request.headers);
  } catch (err) {
    sendError(res, codec, toGatewayError(err), { 'x-litellm-call-id': requestId });
    return;
  }
  const ua = request.headers['user-agent'];
  const ctx = new CallContext(requestId, 'anthropic-count-tokens', '/v1/messages/count_tokens', false, Date.now() - (performance.now() - request.receivedAt), request.receivedAt, typeof ua === 'string' ? ua : undefined, deps.sink);
  ctx.principal = principal;
  try {
    const body = (request.body as ParsedBody).json;
    if (!isObject(body)) throw invalidRequest('The request body must be a JSON object');
    if (typeof body.model !== 'string' || body.model === '') throw invalidRequest('model: a model name is required', 'model');
    ctx.requestedModel = body.model;
    const group = deps.models.resolve(body.model);
    if (group === undefined) {
      throw new GatewayError({ code: 'not_found', status: 404, param: 'model', message: `Model "${body.model}" not found. Models available to you: ${deps.models.publicNames().join(', ')}` });
    }
    // The same gate as a generation: model access, blocked keys and customers, budgets. The
    // reservation is released when the record (with no usage, so no cost) settles it.
    await admitCall(deps, ctx, group, body, (request.body as ParsedBody).raw);
    // Deployments cooling down are skipped, as the router would (429 when every one is).
    const deployment = await deps.router.pickAvailable(group);
    const upstreamModel = upstreamModelFor(deployment, body.model, group.wildcardMatch);
    ctx.useDeployment(deployment, group.name, upstreamModel, (usage) => deps.pricing.cost(usage, deployment, upstreamModel));
    const adapter = adapterFor(deps.providers, deployment, upstreamModel);
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const call = { deployment, upstreamModel, signal: abort.signal, clientHeaders: request.headers };
    ctx.upstreamStarted();
    let inputTokens: number;
    if (adapter.passthroughCountTokens !== undefined && adapter.dialect === 'anthropic-messages') inputTokens = await adapter.passthroughCountTokens(body, call);
    else {
      const canonical = codec.decode(body);
      inputTokens = adapter.countTokens === undefined ? estimateRequestTokens(canonical) : await adapter.countTokens(canonical, call);
    }
    ctx.upstreamEnded();
    sendJson(res, 200, { 'x-litellm-call-id': requestId }, JSON.stringify({ input_tokens: inputTokens }));
    ctx.finish(200);
  } catch (err) {
    const error = toGatewayError(err);
    sendError(res, codec, error, { ...(err instanceof AdmissionError ? err.headers : {}), 'x-litellm-call-id': requestId });
    ctx.finish(error.status, error);
  }
}
