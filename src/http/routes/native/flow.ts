/**
 * One native-shaped call (Bedrock or Vertex ingress) through the pipeline: the model id of the path
 * resolves to the deployments of that platform, admission applies to that group as on every route,
 * and the router forwards the platform's own body, tapped for usage. Only the wire shapes differ
 * (protocols/bedrock-runtime, protocols/vertex-raw-predict).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Surface } from '../../../core/call-record.js';
import { errors } from '../../../core/errors.js';
import { isObject } from '../../../core/json.js';
import type { NativeKind } from '../../../routing/native.js';
import type { ParsedBody } from '../../body.js';
import { admitCall } from '../../call/admit.js';
import type { CallDeps } from '../../call/deps.js';
import type { ErrorEncoding } from '../../call/errors.js';
import { runCall } from '../../call/pipeline.js';

export type NativeDeps = Pick<CallDeps, 'auth' | 'models' | 'calls' | 'sink' | 'pricing' | 'metrics' | 'maxRetries' | 'policy'>;

export interface NativeRoute {
  kind: NativeKind;
  surface: Surface;
  errors: ErrorEncoding;
  /** The route template (metrics label it; the model id in the path would explode cardinality). */
  route: string;
  /** The model id from the path (or, for count-tokens, the body). */
  modelId: string;
  stream: boolean;
}

export function handleNative(deps: NativeDeps, request: FastifyRequest, reply: FastifyReply, native: NativeRoute): Promise<void> {
  return runCall(deps, request, reply, {
    surface: native.surface,
    route: native.route,
    stream: native.stream,
    errors: native.errors,
    run: async (ctx, signal) => {
      ctx.requestedModel = native.modelId;
      ctx.passthrough = true;
      const parsed = request.body as ParsedBody | undefined;
      if (parsed === undefined || !isObject(parsed.json)) throw errors.invalidRequest('The request body must be a JSON object');
      const body = parsed.json;
      ctx.metadata = isObject(body.metadata) ? body.metadata : undefined;
      const group = deps.calls.resolveNative(native.kind, native.modelId);
      // Budgets, limits and model access apply to the group the path resolved to, as on every route.
      ctx.requestedModel = group.name;
      await admitCall(deps, ctx, group, body, parsed.raw);
      ctx.requestedModel = native.modelId;
      // Through the router like every generation: retries across the group's deployments, cooldowns,
      // per-deployment limits and the strategy. The group is the platform-filtered one, so the router
      // does not fall back to other groups (their deployments might not take this body).
      const { value: answer, lease, target } = await deps.calls.native({
        kind: native.kind,
        model: native.modelId,
        group,
        stream: native.stream,
        log: ctx,
        signal,
        estimatedInputTokens: Math.ceil(parsed.raw.length / 4),
        clientHeaders: request.headers,
        traceparent: ctx.upstreamTraceparent,
        raw: parsed.raw,
        body,
        onAttempt: ({ deployment: d, upstreamModel }) => {
          ctx.useDeployment(d, group.name, upstreamModel, (usage) => deps.pricing.cost(usage, d, upstreamModel));
          ctx.upstreamStarted();
        },
      });
      return { answer, routed: { lease, target }, send: { body, native: true } };
    },
  });
}
