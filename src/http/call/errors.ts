/**
 * Errors as each route speaks them. Every route —
 * the OpenAI and Anthropic surfaces, the native Bedrock and Vertex ingress — renders a GatewayError
 * through one `ErrorEncoding`: a whole answer before anything was sent, a protocol-level error
 * event (or frame) once a stream has begun.
 */
import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import { bedrockErrorResponse, bedrockStreamError } from '../../protocols/bedrock-runtime/errors.js';
import { vertexErrorResponse, vertexStreamError } from '../../protocols/vertex-raw-predict/errors.js';
import { sendJson } from '../response-writer.js';
import type { SurfaceCodec } from '../surfaces.js';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ErrorEncoding {
  response(error: GatewayError, requestId: string): ErrorResponse;
  /** The bytes that tell a client whose stream has begun that the answer failed. */
  streamError(error: GatewayError, model: string, body: JsonObject): Buffer | string;
}

/** A client that went away is logged as 499 but answered (if at all) as a 400. */
function clientStatus(error: GatewayError): number {
  return error.status === 499 ? 400 : error.status;
}

function retryAfter(error: GatewayError): Record<string, string> {
  return error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.ceil(error.retryAfterSeconds)) };
}

const bySurface = new WeakMap<SurfaceCodec, ErrorEncoding>();

/** The OpenAI / Anthropic envelope of a client surface (one encoding per codec, made once). */
export function surfaceErrors(codec: SurfaceCodec): ErrorEncoding {
  const known = bySurface.get(codec);
  if (known !== undefined) return known;
  const encoding: ErrorEncoding = {
    response: (error, requestId) => ({ status: clientStatus(error), headers: retryAfter(error), body: JSON.stringify(codec.encodeError(error, requestId)) }),
    streamError: (error, model, body) => codec.streamEncoder(model, body).error(error),
  };
  bySurface.set(codec, encoding);
  return encoding;
}

export const bedrockErrors: ErrorEncoding = {
  response: (error) => bedrockErrorResponse(error),
  streamError: (error) => bedrockStreamError(error),
};

export const vertexErrors: ErrorEncoding = {
  response: vertexErrorResponse,
  streamError: (error) => vertexStreamError(error),
};

/** Answer with an error, in the route's shape; nothing if the answer has already begun. */
export function sendError(res: ServerResponse, encoding: ErrorEncoding, error: GatewayError, requestId: string, headers: Record<string, string> = {}): void {
  const rendered = encoding.response(error, requestId);
  // Management routes answer errors without a call id ('').
  const id: Record<string, string> = requestId === '' ? {} : { 'x-litellm-call-id': requestId };
  sendJson(res, rendered.status, { ...headers, ...rendered.headers, ...id }, rendered.body);
}
