/**
 * How Vertex AI's rawPredict speaks errors, for clients configured for Vertex itself: the
 * upstream's own body when Vertex produced the error (Google's envelope from its front end,
 * Anthropic's from the model); a gateway key failure in Google's envelope, as Vertex answers a bad
 * token; anything else in Anthropic's envelope, as rawPredict does; after a stream has begun, an
 * Anthropic `error` event.
 */
import type { GatewayError } from '../../core/errors.js';
import { asObject, tryParseJson } from '../../core/json.js';
import { encodeAnthropicError } from '../anthropic-messages/encode.js';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function vertexErrorResponse(error: GatewayError, requestId: string): ErrorResponse {
  // A client that went away is logged as 499 but answered (if at all) as a 400, as elsewhere.
  const status = error.status === 499 ? 400 : error.status;
  const headers: Record<string, string> = error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.ceil(error.retryAfterSeconds)) };
  const upstream = error.upstream;
  if (upstream?.provider === 'vertex_ai' && upstream.body !== undefined && asObject(asObject(tryParseJson(upstream.body))?.error) !== undefined) {
    return { status, headers, body: upstream.body };
  }
  if (error.code === 'authentication' && upstream === undefined) {
    return { status, headers, body: JSON.stringify({ error: { code: status, message: error.message, status: GOOGLE_STATUS[status] ?? 'UNAUTHENTICATED' } }) };
  }
  return { status, headers, body: JSON.stringify(encodeAnthropicError(error, requestId)) };
}

export function vertexStreamError(error: GatewayError): string {
  const { request_id: _requestId, ...event } = encodeAnthropicError(error, '');
  return `event: error\ndata: ${JSON.stringify(event)}\n\n`;
}
