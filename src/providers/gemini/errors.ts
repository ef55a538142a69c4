/**
 * Google API errors (`{"error":{"code","message","status","details"}}`, sometimes wrapped in an
 * array by Vertex) → GatewayError. The canonical status string decides the code when present: it is
 * more precise than the HTTP status (an invalid API key is a 400 INVALID_ARGUMENT whose detail reason
 * is API_KEY_INVALID: for the router that is an authentication failure, not a bad request).
 */
import { errors, GatewayError, type ErrorCode } from '../../core/errors.js';
import { asArray, asNumber, asObject, asString, tryParseJson, type JsonObject } from '../../core/json.js';

/** Code and status only: whether it is retryable is the catalogue's answer for the code. */
interface Mapped {
  code: ErrorCode;
  status: number;
}

const STATUS: Record<string, Mapped> = {
  INVALID_ARGUMENT: { code: 'invalid_request', status: 400 },
  FAILED_PRECONDITION: { code: 'invalid_request', status: 400 },
  OUT_OF_RANGE: { code: 'invalid_request', status: 400 },
  UNAUTHENTICATED: { code: 'authentication', status: 401 },
  PERMISSION_DENIED: { code: 'permission_denied', status: 403 },
  NOT_FOUND: { code: 'not_found', status: 404 },
  RESOURCE_EXHAUSTED: { code: 'rate_limit', status: 429 },
  INTERNAL: { code: 'upstream_error', status: 500 },
  UNKNOWN: { code: 'upstream_error', status: 500 },
  UNAVAILABLE: { code: 'service_unavailable', status: 503 },
  DEADLINE_EXCEEDED: { code: 'timeout', status: 504 },
};

/** The `error` object of a Google error body (plain or in Vertex's one-element array). */
export function googleErrorObject(body: unknown): JsonObject | undefined {
  const first = asArray(body)?.[0] ?? body;
  return asObject(asObject(first)?.error);
}

/** For postUpstream: the message and the status string (kept as the upstream error type). */
export function parseGoogleError(status: number, text: string): { message: string; type?: string } {
  const error = googleErrorObject(tryParseJson(text));
  const message = asString(error?.message);
  if (message !== undefined) return { message, type: asString(error?.status) };
  return { message: text.trim().slice(0, 500) || `Google API returned HTTP ${status}` };
}

/** Build the GatewayError for a Google error object; `httpStatus` when it came as an HTTP error. */
export function googleError(
  error: JsonObject,
  provider: string,
  http?: { status: number; body: string; retryAfterSeconds?: number | undefined },
): GatewayError {
  const statusName = asString(error.status);
  const message = asString(error.message) ?? statusName ?? 'Google API error';
  const numeric = http?.status ?? asNumber(error.code);
  let mapped = (statusName === undefined ? undefined : STATUS[statusName]) ?? byHttpStatus(numeric);
  const reasons = detailReasons(error);
  if (reasons.includes('API_KEY_INVALID')) mapped = { code: 'authentication', status: 401 };
  else if (mapped.code === 'invalid_request' && /input token count.*exceeds the maximum/i.test(message)) {
    mapped = { ...mapped, code: 'context_window_exceeded' };
  }
  return errors.upstreamAs(mapped.code, mapped.status, {
    message,
    // The body's RetryInfo is the precise one; a `retry-after` header is the fallback.
    retryAfterSeconds: retryDelay(error) ?? http?.retryAfterSeconds,
    upstream: { status: numeric ?? mapped.status, body: (http?.body ?? JSON.stringify({ error })).slice(0, 4096), type: statusName, provider },
  });
}

/**
 * postUpstream classified an HTTP error by its status only; re-classify it from the Google body.
 * Keeps the original error when the body is not a Google error (e.g. an Anthropic error on Vertex).
 */
export function refineGoogleError(err: unknown, provider: string): unknown {
  if (!(err instanceof GatewayError) || err.upstream?.body === undefined || err.upstream.status === undefined) return err;
  const error = googleErrorObject(tryParseJson(err.upstream.body));
  // Anthropic's envelope (Claude on Vertex) also has `error.message`, but no `status` / numeric `code`.
  if (error === undefined || (typeof error.status !== 'string' && typeof error.code !== 'number')) return err;
  return googleError(error, provider, { status: err.upstream.status, body: err.upstream.body, retryAfterSeconds: err.retryAfterSeconds });
}

function byHttpStatus(status: number | undefined): Mapped {
  if (status === 429) return STATUS.RESOURCE_EXHAUSTED as Mapped;
  if (status === 503) return STATUS.UNAVAILABLE as Mapped;
  if (status === 504) return STATUS.DEADLINE_EXCEEDED as Mapped;
  if (status === 401) return STATUS.UNAUTHENTICATED as Mapped;
  if (status === 403) return STATUS.PERMISSION_DENIED as Mapped;
  if (status === 404) return STATUS.NOT_FOUND as Mapped;
  if (status !== undefined && status >= 400 && status < 500) return { code: 'invalid_request', status };
  return { code: 'upstream_error', status: status ?? 500 };
}

function detailReasons(error: JsonObject): string[] {
  return (asArray(error.details) ?? []).flatMap((d) => {
    const reason = asString(asObject(d)?.reason);
    return reason === undefined ? [] : [reason];
  });
}

/** `google.rpc.RetryInfo` detail: `{"retryDelay":"38s"}` (also "1.5s"). */
function retryDelay(error: JsonObject): number | undefined {
  for (const detail of asArray(error.details) ?? []) {
    const delay = asString(asObject(detail)?.retryDelay);
    const match = delay === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(delay);
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return undefined;
}
