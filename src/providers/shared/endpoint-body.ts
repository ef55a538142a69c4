/**
 * The request and answer plumbing of the single-answer endpoints (moderations, images, audio,
 * rerank) that OpenAI-shaped and Cohere upstreams take as the client sends them: the client's bytes
 * with only `model` replaced — in JSON, or in a multipart form — and answers that are not JSON
 * (speech audio, a `text`/`srt` transcript) streamed through as the upstream's own bytes.
 */
import { errors } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import { boundaryOf, formParts, replaceFormField } from '../../core/multipart.js';
import type { PassthroughResponse, StreamTap, UpstreamCall } from '../types.js';
import { replaceModel } from './body-rewrite.js';
import { mapTransportError, type UpstreamResponse } from './upstream-http.js';

/** The body to send and, for a form, its content type (with the client's boundary). */
export interface EndpointPayload {
  body: Buffer | string;
  contentType?: string | undefined;
}

/** A JSON body with `model` set to the upstream's: the client's bytes edited when they can be, else re-serialised. */
export function jsonPayload(body: JsonObject, model: string, raw: Buffer | undefined): EndpointPayload {
  if (raw !== undefined && typeof body.model === 'string') {
    const edited = body.model === model ? raw : replaceModel(raw, body.model, model);
    if (edited !== undefined) return { body: edited };
  }
  return { body: JSON.stringify({ ...body, model }) };
}

/** A multipart form (an audio upload) with its `model` field set to the upstream's; the file part is never copied. */
export function formPayload(raw: Buffer | undefined, call: UpstreamCall): EndpointPayload {
  const contentType = call.clientHeaders['content-type'];
  const boundary = boundaryOf(contentType);
  if (raw === undefined || contentType === undefined || boundary === undefined) {
    throw errors.invalidRequest('This endpoint takes a multipart/form-data body (the audio file and its fields)', 'file');
  }
  const parts = formParts(raw, boundary);
  const edited = parts === undefined ? undefined : replaceFormField(raw, parts, 'model', call.upstreamModel);
  if (edited === undefined) throw errors.invalidRequest("Missing required parameter: 'model'.", 'model');
  return { body: edited, contentType };
}

/** A JSON answer (by its content type), as opposed to audio or a plain-text transcript. */
export function isJsonAnswer(response: UpstreamResponse): boolean {
  const type = response.headers['content-type'];
  return type === undefined || /\bjson\b/i.test(type);
}

/**
 * An answer passed on as the upstream's bytes, chunk by chunk (speech audio can run for minutes),
 * with its content type. Complete when the body ends; a transport failure mid-way is typed.
 */
export function bytesThrough(response: UpstreamResponse, headers: Record<string, string>, provider: string, url: string): PassthroughResponse {
  const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
  const type = response.headers['content-type'];
  const out = type === undefined ? headers : { ...headers, 'content-type': type };
  return { kind: 'stream', status: response.status, headers: out, tap, chunks: chunksOf(response, tap, provider, url) };
}

async function* chunksOf(response: UpstreamResponse, tap: StreamTap, provider: string, url: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      tap.events++;
      tap.answerStarted = true;
      yield chunk;
    }
  } catch (err) {
    throw mapTransportError(err, provider, url);
  }
  tap.completed = true;
}
