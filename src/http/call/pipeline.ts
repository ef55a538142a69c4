/**
 * The one request pipeline every generation route runs — the OpenAI and Anthropic surfaces,
 * completions, count_tokens, native Bedrock and Vertex:
 *
 *   authenticate → call context → admission → route → send → finish
 *
 * A bad key is answered but is not a call (LiteLLM leaves bad keys out of every metric too). From
 * the call context on, exactly one CallRecord is produced whatever happens: success, upstream
 * failure, mid-stream failure, client disconnect. A route supplies only what differs: how it
 * admits and routes (`run`, returning the answer), and how it speaks errors.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, Surface } from '../../core/call-record.js';
import { errors, toGatewayError, type GatewayError } from '../../core/errors.js';
import { AdmissionError } from '../../policy/admission.js';
import type { Answer } from '../../routing/answer.js';
import { ClientGone, idleGuarded, idleTimeout, type AttemptTarget, type ClientSignal, type Lease } from '../../routing/attempts.js';
import { CallContext } from './context.js';
import type { CallDeps } from './deps.js';
import { sendError, type ErrorEncoding } from './errors.js';
import { callHeaders } from './headers.js';
import { sendAnswer, type SendOptions } from './send.js';

export interface CallSpec {
  surface: Surface;
  /** The route template (a metrics label; the client's path could hold any model id). */
  route: string;
  stream: boolean;
  errors: ErrorEncoding;
  /** Answers carry only the call id, not the x-litellm-* routing headers (count_tokens). */
  bareHeaders?: boolean | undefined;
  /** Admission and routing, up to the answer to send. `signal` is aborted when the client goes away. */
  run(ctx: CallContext, signal: ClientSignal): Promise<Prepared>;
}

export interface Prepared {
  answer: Answer;
  /** The routed attempt that answered: its lease ends with the record. */
  routed?: { lease: Lease; target: AttemptTarget } | undefined;
  send: Pick<SendOptions, 'body' | 'encoder' | 'native' | 'remember'>;
}

export function requestIdFor(request: FastifyRequest): string {
  const supplied = request.headers['x-litellm-call-id'];
  return typeof supplied === 'string' && supplied !== '' && supplied.length <= 200 ? supplied : randomUUID();
}

/** The caller's principal, or undefined after answering with the route's error. */
export function authenticate(deps: Pick<CallDeps, 'auth'>, request: FastifyRequest, res: ServerResponse, errors: ErrorEncoding, requestId: string): Principal | undefined {
  try {
    return deps.auth.authenticate(request.headers);
  } catch (err) {
    sendError(res, errors, toGatewayError(err), requestId);
    return undefined;
  }
}

/** A call context for an admitted caller, counted in flight until its record is made. */
export function openContext(deps: Pick<CallDeps, 'sink' | 'metrics' | 'inFlight' | 'tracing'>, request: FastifyRequest, spec: Pick<CallSpec, 'surface' | 'route' | 'stream'>, requestId: string, principal: Principal): CallContext {
  const ua = request.headers['user-agent'];
  const ctx = new CallContext({
    requestId,
    surface: spec.surface,
    route: spec.route,
    stream: spec.stream,
    receivedAt: request.receivedAt,
    userAgent: typeof ua === 'string' ? ua : undefined,
    sink: deps.sink,
    principal,
    headers: request.headers,
    tracing: deps.tracing,
  });
  deps.metrics.inFlight.inc();
  deps.inFlight?.enter();
  ctx.onFinish(() => {
    deps.metrics.inFlight.dec();
    deps.inFlight?.leave();
  });
  return ctx;
}

export async function runCall(deps: CallDeps, request: FastifyRequest, reply: FastifyReply, spec: CallSpec): Promise<void> {
  void reply.hijack();
  const res = reply.raw;
  const requestId = requestIdFor(request);
  const principal = authenticate(deps, request, res, spec.errors, requestId);
  if (principal === undefined) return;
  const ctx = openContext(deps, request, spec, requestId, principal);
  // The client going away tears the upstream call down (through the attempt's own controller).
  const gone = new ClientGone();
  res.on('close', () => {
    if (!res.writableFinished) {
      ctx.clientDisconnected = true;
      gone.abort();
    }
  });
  const headers = spec.bareHeaders === true ? () => ({ 'x-litellm-call-id': requestId }) : (durationMs?: number) => callHeaders(ctx, deps.maxRetries, durationMs);
  try {
    const prepared = await spec.run(ctx, gone);
    let answer = prepared.answer;
    const routed = prepared.routed;
    if (routed !== undefined) {
      ctx.onFinish((record) => routed.lease.end(record));
      answer = guardIdle(answer, routed);
    }
    await sendAnswer(res, ctx, answer, { ...prepared.send, errors: spec.errors, headers, abort: () => gone.abort() });
  } catch (err) {
    const error: GatewayError = ctx.clientDisconnected ? errors.clientDisconnected(err) : toGatewayError(err);
    if (!res.headersSent) sendError(res, spec.errors, error, requestId, { ...headers(), ...(err instanceof AdmissionError ? err.headers : {}) });
    ctx.finish(error.status, error);
  }
}

/** After the first event, stream_timeout bounds each wait for the next chunk. */
function guardIdle(answer: Answer, routed: { lease: Lease; target: AttemptTarget }): Answer {
  if (answer.kind === 'json') return answer;
  const d = routed.target.deployment;
  const onIdle = (): void => routed.lease.abort();
  const idleError = (): GatewayError => idleTimeout(d);
  if (answer.kind === 'bytes') return { ...answer, iterator: idleGuarded(answer.iterator, d.streamTimeoutMs, onIdle, idleError) };
  return { ...answer, iterator: idleGuarded(answer.iterator, d.streamTimeoutMs, onIdle, idleError) };
}
