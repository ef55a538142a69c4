/**
 * One attempt against one deployment, carried as far as the first event of the answer. Nothing has
 * been sent to the client yet, so any failure up to here — including an upstream that answered 200
 * and then an error event — can still be retried or fall back.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Deployment } from '../core/deployment.js';
import { GatewayError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { CanonicalRequest } from '../core/request.js';
import type { StreamEvent } from '../core/response.js';
import type { Usage } from '../core/usage.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ProviderAdapter, StreamTap, UpstreamCall } from '../providers/types.js';
import type { SurfaceCodec } from './surfaces.js';

export type PreparedAnswer =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: Buffer | string; usage: Usage; passthrough: boolean }
  | {
      kind: 'passthrough-stream';
      headers: Record<string, string>;
      /** Chunks read while peeking, to be sent before the rest of the iterator. */
      head: (Buffer | string)[];
      iterator: AsyncIterator<Buffer | string>;
      tap: StreamTap;
    }
  | {
      kind: 'canonical-stream';
      head: StreamEvent[];
      iterator: AsyncIterator<StreamEvent>;
      model: string;
    };

export interface AttemptInput {
  codec: SurfaceCodec;
  body: JsonObject;
  /** The client's bytes, when they are still exactly `body`. */
  rawBody: Buffer | undefined;
  stream: boolean;
  requestedModel: string;
  upstreamModel: string;
  clientHeaders: IncomingHttpHeaders;
  signal: AbortSignal;
  /** Decodes the body to canonical form once, on first need (only translated calls need it). */
  canonical: () => CanonicalRequest;
  annotateFinalUsage?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined;
}

export function adapterFor(providers: ProviderRegistry, deployment: Deployment, upstreamModel?: string): ProviderAdapter {
  const adapter = providers.forDeployment(deployment, upstreamModel);
  if (adapter === undefined) {
    throw new GatewayError({ code: 'internal', status: 500, message: `No adapter for provider ${deployment.provider}` });
  }
  return adapter;
}

export async function prepareAnswer(adapter: ProviderAdapter, deployment: Deployment, input: AttemptInput): Promise<PreparedAnswer> {
  const call: UpstreamCall = { deployment, upstreamModel: input.upstreamModel, signal: input.signal, clientHeaders: input.clientHeaders };
  if (adapter.passthrough !== undefined && adapter.dialect === input.codec.dialect) {
    const result = await adapter.passthrough(input.body, call, {
      stream: input.stream,
      rawBody: input.rawBody,
      clientWantsUsage: input.codec.clientWantsUsage(input.body),
      annotateFinalUsage: input.annotateFinalUsage,
    });
    if (result.kind === 'json') {
      return { kind: 'json', status: result.status, headers: result.headers, body: result.body, usage: result.usage, passthrough: true };
    }
    const iterator = result.chunks[Symbol.asyncIterator]();
    // "200 then overloaded": read past the preamble (message_start, pings) to the first event of the
    // answer; an error before it is a failed attempt, and nothing has reached the client yet.
    const head: (Buffer | string)[] = [];
    const { tap } = result;
    while (!tap.answerStarted && tap.error === undefined) {
      const next = await iterator.next();
      if (next.done === true) break;
      head.push(next.value);
    }
    if (tap.error !== undefined) {
      await iterator.return?.();
      throw tap.error;
    }
    return { kind: 'passthrough-stream', headers: result.headers, head, iterator, tap };
  }

  const request = { ...input.canonical(), stream: input.stream };
  if (!input.stream) {
    const response = await adapter.complete(request, call);
    const model = response.model === '' ? input.upstreamModel : response.model;
    const extra = input.annotateFinalUsage?.(response.usage);
    return { kind: 'json', status: 200, headers: {}, body: JSON.stringify(input.codec.encodeResponse(response, model, extra)), usage: response.usage, passthrough: false };
  }
  const events = await adapter.stream(request, call);
  const iterator = events[Symbol.asyncIterator]();
  // As above: start and usage events are preamble; the first other event decides the attempt.
  const head: StreamEvent[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) break;
    if (next.value.type === 'error') {
      await iterator.return?.();
      throw next.value.error;
    }
    head.push(next.value);
    if (next.value.type !== 'start' && next.value.type !== 'usage') break;
  }
  return { kind: 'canonical-stream', head, iterator, model: input.upstreamModel };
}
