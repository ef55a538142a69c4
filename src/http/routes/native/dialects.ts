/**
 * How the native routes speak errors: each in its platform's own shape, so a client in Bedrock or
 * Vertex mode reads a gateway error exactly as it would read one from AWS or Google.
 *
 * - Bedrock: `{"message": …}` with the AWS error name in `x-amzn-errortype`; after the stream has
 *   begun, an event-stream exception frame (`:message-type: exception`).
 * - Vertex: the upstream's own body when Vertex produced the error (Google's envelope from its front
 *   end, Anthropic's from the model); a gateway key failure in Google's envelope, as Vertex answers
 *   a bad token; anything else in Anthropic's envelope, as rawPredict does; after the stream has
 *   begun, an Anthropic `error` event.
 */
import type { Surface } from '../../../core/call-record.js';
import type { GatewayError } from '../../../core/errors.js';
import { asObject, tryParseJson } from '../../../core/json.js';
import { encodeAnthropicError } from '../../../protocols/anthropic-messages/encode.js';
import { awsErrorName, exceptionFrame } from '../../../providers/bedrock/native.js';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface NativeDialect {
  /** For messages: "Bedrock", "Vertex AI". */
  platform: string;
  surface: Surface;
  errorResponse(error: GatewayError, requestId: string): ErrorResponse;
  /** The bytes that tell a client whose stream has begun that the answer failed. */
  streamError(error: GatewayError): Buffer | string;
}

/** A client that went away is logged as 499 but answered (if at all) as a 400, as elsewhere. */
function httpStatus(error: GatewayError): number {
  return error.status === 499 ? 400 : error.status;
}

function retryHeaders(error: GatewayError): Record<string, string> {
  return error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.ceil(error.retryAfterSeconds)) };
}

export function bedrockDialect(surface: Surface): NativeDialect {
  return {
    platform: 'Bedrock',
    surface,
    errorResponse: (error) => ({
      status: httpStatus(error),
      headers: { 'x-amzn-errortype': awsErrorName(error), ...retryHeaders(error) },
      body: JSON.stringify({ message: error.message }),
    }),
    streamError: (error) => Buffer.from(exceptionFrame(error)),
  };
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

export const vertexDialect: NativeDialect = {
  platform: 'Vertex AI',
  surface: 'vertex-raw-predict',
  errorResponse(error, requestId) {
    const status = httpStatus(error);
    const headers = retryHeaders(error);
    const upstream = error.upstream;
    if (upstream?.provider === 'vertex_ai' && upstream.body !== undefined && asObject(asObject(tryParseJson(upstream.body))?.error) !== undefined) {
      return { status, headers, body: upstream.body };
    }
    if (error.code === 'authentication' && upstream === undefined) {
      return { status, headers, body: JSON.stringify({ error: { code: status, message: error.message, status: GOOGLE_STATUS[status] ?? 'UNAUTHENTICATED' } }) };
    }
    return { status, headers, body: JSON.stringify(encodeAnthropicError(error, requestId)) };
  },
  streamError(error) {
    const { request_id: _requestId, ...event } = encodeAnthropicError(error, '');
    return `event: error\ndata: ${JSON.stringify(event)}\n\n`;
  },
};
