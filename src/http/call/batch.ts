/**
 * `"model": "a,b"`: every model answers the same request, each as a call of its own (its own
 * admission, routing and record), and the client gets the list of answers in order — LiteLLM's
 * `abatch_completion` (litellm/proxy/route_llm_request.py). A model that fails contributes its
 * error object instead of an answer.
 */
import type { ServerResponse } from 'node:http';
import { errors, toGatewayError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { RequestLimits } from '../../protocols/shared/validate.js';
import { sendJson } from '../response-writer.js';
import type { SurfaceCodec } from '../surfaces.js';
import type { CallContext } from './context.js';
import type { RoutedCall } from './routed-call.js';

export interface BatchCall {
  codec: SurfaceCodec;
  models: readonly string[];
  body: JsonObject;
  res: ServerResponse;
  requestId: string;
  /** The gateway's message and tool limits; each model's output limit is checked on its own call. */
  limits: RequestLimits;
  /** A fresh call context for one model of the list. */
  contextFor: (requestId: string) => CallContext;
  /** Admit and route one call (a generation's own path), up to its answer. */
  route: (ctx: CallContext, body: JsonObject, rawBody: Buffer) => Promise<RoutedCall>;
}

export async function serveBatch(batch: BatchCall): Promise<void> {
  const { codec, body, requestId } = batch;
  // A malformed body is one 400 for the whole list, not the same error once per model.
  let problem: unknown;
  try {
    codec.validate(body, batch.limits);
  } catch (err) {
    problem = err;
  }
  if (problem === undefined && body.stream === true) problem = errors.invalidRequest('stream: a comma-separated list of models cannot be streamed', 'stream');
  if (problem !== undefined) {
    const error = toGatewayError(problem);
    sendJson(batch.res, error.status, { 'x-litellm-call-id': requestId }, JSON.stringify(codec.encodeError(error, requestId)));
    return;
  }
  const answers = await Promise.all(
    batch.models.map(async (model, i) => {
      const ctx = batch.contextFor(`${requestId}-${i}`);
      const one: JsonObject = { ...body, model };
      try {
        const { answer, routed, remember } = await batch.route(ctx, one, Buffer.from(JSON.stringify(one)));
        if (routed !== undefined) ctx.onFinish((record) => routed.lease.end(record));
        if (answer.kind !== 'json') throw errors.internal('a batch call answered with a stream');
        ctx.passthrough = answer.passthrough;
        ctx.usage = answer.usage;
        ctx.upstreamEnded();
        ctx.finish(answer.status);
        const text = typeof answer.body === 'string' ? answer.body : answer.body.toString('utf8');
        if (answer.status === 200) remember?.({ kind: 'json', status: 200, body: text, usage: answer.usage, model: ctx.upstreamModel });
        return text;
      } catch (err) {
        const error = toGatewayError(err);
        ctx.finish(error.status, error);
        return JSON.stringify(codec.encodeError(error, ctx.requestId));
      }
    }),
  );
  sendJson(batch.res, 200, { 'x-litellm-call-id': requestId }, `[${answers.join(',')}]`);
}
