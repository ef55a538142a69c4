/**
 * Sending an `Answer` to the client and closing its call record: a whole JSON answer in one
 * write, or a stream — the upstream's own bytes, or canonical events encoded in the client's
 * protocol — through one pipe loop with backpressure. However the stream ends (complete, broken
 * upstream, truncated, client gone), the record is finished exactly once, with the usage seen.
 */
import type { ServerResponse } from 'node:http';
import { responseIdOf } from '../../accounting/spend-writer.js';
import type { CostResult } from '../../accounting/pricing.js';
import { StreamFolder } from '../../core/collect.js';
import { errors, toGatewayError, type GatewayError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { StreamEvent } from '../../core/response.js';
import type { Usage } from '../../core/usage.js';
import type { Answer } from '../../routing/answer.js';
import { sendJson, streamHeaders, writeChunk } from '../response-writer.js';
import type { StreamEncoder } from '../surfaces.js';
import type { CallContext } from './context.js';
import type { ErrorEncoding } from './errors.js';
import type { CapturedAnswer } from './response-cache.js';

export interface SendOptions {
  errors: ErrorEncoding;
  /** The client's body: stream encoders read their options from it. */
  body: JsonObject;
  /** Encodes canonical events in the client's protocol (surfaces only; native answers are bytes). */
  encoder?: ((model: string, body: JsonObject) => StreamEncoder) | undefined;
  /**
   * Native routes forward the upstream's status and headers as they are; the client surfaces
   * answer a stream with 200 and their own SSE headers, and read the answer's id for the record.
   */
  native: boolean;
  /** The call's own headers (x-litellm-*, admission's); with a duration for a complete answer. */
  headers: (durationMs?: number) => Record<string, string>;
  /** Tears the upstream call down when the client goes away. */
  abort: () => void;
  /** Given the answer as the client got it, once it is complete and successful (the response cache). */
  remember?: ((answer: CapturedAnswer) => void) | undefined;
}

export async function sendAnswer(res: ServerResponse, ctx: CallContext, answer: Answer, options: SendOptions): Promise<void> {
  if (answer.kind === 'json') {
    ctx.passthrough = answer.passthrough;
    ctx.usage = answer.usage;
    ctx.upstreamEnded();
    const headers = { ...answer.headers, ...options.headers(ctx.elapsedMs()) };
    ctx.firstByteSent();
    if (!options.native) ctx.responseId = responseIdOf(answer.body);
    sendJson(res, answer.status, headers, answer.body);
    ctx.finish(answer.status);
    if (answer.status === 200) options.remember?.({ kind: 'json', status: 200, body: typeof answer.body === 'string' ? answer.body : answer.body.toString('utf8'), usage: answer.usage, model: ctx.upstreamModel });
    return;
  }
  // Headers go out with the first chunk (the peeked head is never empty), not in a write of their own.
  if (answer.kind === 'bytes') {
    const own = options.headers();
    if (options.native) res.writeHead(answer.status, { ...answer.headers, ...own, 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    else res.writeHead(200, streamHeaders({ ...answer.headers, ...own }));
    ctx.firstByteSent();
    return sendBytes(res, ctx, answer, options);
  }
  if (options.encoder === undefined) throw errors.internal('A canonical stream reached a route without an encoder');
  const encoder = options.encoder(answer.model, options.body);
  res.writeHead(200, streamHeaders(options.headers()));
  ctx.firstByteSent();
  return sendEvents(res, ctx, answer, encoder, options);
}

/** The one pipe loop: the peeked head, then the rest; false when the client went away. */
async function pipe<T>(res: ServerResponse, head: readonly T[], iterator: AsyncIterator<T>, encode: (item: T) => Buffer | string): Promise<boolean> {
  for (const item of head) if (!(await writeChunk(res, encode(item)))) return false;
  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
    if (!(await writeChunk(res, encode(next.value)))) return false;
  }
  return true;
}

async function sendBytes(res: ServerResponse, ctx: CallContext, answer: Extract<Answer, { kind: 'bytes' }>, options: SendOptions): Promise<void> {
  ctx.passthrough = true;
  const { iterator, tap } = answer;
  if (!options.native) ctx.responseId = responseIdOf(answer.head[0]);
  let error: GatewayError | undefined;
  const kept = options.remember === undefined ? undefined : new Array<string>();
  const forward = kept === undefined ? (chunk: Buffer | string): Buffer | string => chunk : (chunk: Buffer | string): Buffer | string => {
          kept.push(chunk.toString());
          return chunk;
        };
  try {
    if (!(await pipe(res, answer.head, iterator, forward))) return await clientGone(ctx, options, iterator, tap.usage);
    error = tap.error ?? (tap.completed ? undefined : errors.truncatedStream());
  } catch (err) {
    if (ctx.clientDisconnected) return await clientGone(ctx, options, iterator, tap.usage);
    error = tap.error ?? toGatewayError(err);
  }
  ctx.usage = tap.usage;
  ctx.upstreamEnded();
  // The upstream's own error event (or frame) already reached the client; other failures get one from us.
  if (error !== undefined && tap.error === undefined) await writeChunk(res, options.errors.streamError(error, ctx.requestedModel, options.body));
  res.end();
  ctx.finish(error === undefined ? 200 : error.status, error);
  if (error === undefined && kept !== undefined) options.remember?.({ kind: 'stream', chunks: kept, usage: tap.usage, model: ctx.upstreamModel });
}

async function sendEvents(res: ServerResponse, ctx: CallContext, answer: Extract<Answer, { kind: 'events' }>, encoder: StreamEncoder, options: SendOptions): Promise<void> {
  // The folder tracks usage and notices an answer that never finished.
  const folder = new StreamFolder();
  const { iterator } = answer;
  let error: GatewayError | undefined;
  const kept = options.remember === undefined ? undefined : new Array<string>();
  const encode = (event: StreamEvent): string => {
    if (event.type === 'error') throw event.error;
    folder.add(event);
    const chunk = encoder.encode(event);
    ctx.responseId ??= responseIdOf(chunk);
    if (chunk !== '') kept?.push(chunk);
    return chunk;
  };
  try {
    if (!(await pipe(res, answer.head, iterator, encode))) return await clientGone(ctx, options, iterator, folder.usageSoFar);
    if (!folder.finished) error = errors.truncatedStream();
  } catch (err) {
    if (ctx.clientDisconnected) return await clientGone(ctx, options, iterator, folder.usageSoFar);
    error = toGatewayError(err);
  }
  ctx.usage = folder.usageSoFar;
  ctx.upstreamEnded();
  const last = error === undefined ? encoder.end(costField(ctx.cost())) : encoder.error(error);
  await writeChunk(res, last);
  res.end();
  ctx.finish(error === undefined ? 200 : error.status, error);
  if (error === undefined && kept !== undefined) options.remember?.({ kind: 'stream', chunks: [...kept, last], usage: folder.usageSoFar, model: ctx.upstreamModel });
}

async function clientGone(ctx: CallContext, options: SendOptions, iterator: AsyncIterator<unknown>, usage: Usage): Promise<void> {
  ctx.clientDisconnected = true;
  ctx.usage = usage;
  options.abort();
  ctx.upstreamEnded();
  await iterator.return?.(undefined).catch(() => undefined);
  ctx.finish(499, errors.clientDisconnected());
}

/** The `cost` (USD) added to a final usage object; absent when the price is unknown. */
export function costField(cost: CostResult | undefined): Record<string, unknown> | undefined {
  return cost?.usd === null || cost === undefined ? undefined : { cost: cost.usd };
}
