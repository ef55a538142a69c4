/**
 * POST /v1/messages/count_tokens through the pipeline. Anthropic-dialect upstreams count for real
 * (the client's body is forwarded); others are counted with the tokenizer estimate. Admitted like
 * a generation (model access, blocked keys, budgets), recorded as a call with no usage.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.js';
import { isObject } from '../../core/json.js';
import type { ParsedBody } from '../body.js';
import { admitCall } from '../call/admit.js';
import type { CallDeps } from '../call/deps.js';
import { surfaceErrors } from '../call/errors.js';
import { runCall } from '../call/pipeline.js';
import { anthropicMessagesCodec } from '../surfaces.js';

export function handleCountTokens(deps: CallDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const codec = anthropicMessagesCodec;
  return runCall(deps, request, reply, {
    surface: 'anthropic-count-tokens',
    route: '/v1/messages/count_tokens',
    stream: false,
    errors: surfaceErrors(codec),
    bareHeaders: true,
    run: async (ctx, signal) => {
      const parsed = request.body as ParsedBody;
      const body = parsed.json;
      if (!isObject(body)) throw errors.invalidRequest('The request body must be a JSON object');
      if (typeof body.model !== 'string' || body.model === '') throw errors.invalidRequest('model: a model name is required', 'model');
      ctx.requestedModel = body.model;
      const group = deps.models.resolve(body.model);
      if (group === undefined) {
        throw errors.notFound(`Model "${body.model}" not found. Models available to you: ${deps.models.publicNames().join(', ')}`, 'model');
      }
      // The reservation is released when the record (with no usage, so no cost) settles it.
      await admitCall(deps, ctx, group, body, parsed.raw);
      const inputTokens = await deps.calls.countTokens({
        group,
        requestedModel: body.model,
        surface: codec,
        body,
        clientHeaders: request.headers,
        signal,
        onAttempt: ({ deployment, upstreamModel }) => {
          ctx.useDeployment(deployment, group.name, upstreamModel, (usage) => deps.pricing.cost(usage, deployment, upstreamModel));
          ctx.upstreamStarted();
        },
      });
      return { answer: { kind: 'json', status: 200, headers: {}, body: JSON.stringify({ input_tokens: inputTokens }), usage: {}, passthrough: false }, send: { body, native: true } }; // native: no answer id to read for the record
    },
  });
}
