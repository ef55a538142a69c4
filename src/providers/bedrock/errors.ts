/**
 * Bedrock errors → GatewayError. AWS names the error in the `x-amzn-errortype` header (restJson1)
 * and puts only `message` (sometimes `Message`) in the body; inside an event stream the same names
 * arrive camel-cased in `:exception-type`. One table serves both, so a throttle means the same
 * thing whether it came before or after the 200.
 */
import { errors, GatewayError, type ErrorCode } from '../../core/errors.js';
import { asObject, asString, tryParseJson } from '../../core/json.js';
import type { UpstreamErrorInfo } from '../shared/upstream-http.js';

/**
 * The code and status each AWS name means; whether another attempt may help is not in this table
 * but in the catalogue (core/errors.ts `errors.upstreamAs`), so it cannot disagree with the other
 * providers' (an unclassified 4xx such as ModelError's 424 is not retried, a 5xx is).
 */
interface Mapped {
  code: ErrorCode;
  status: number;
  /** The Anthropic error type a passthrough stream reports it as (Claude Code retries on these). */
  anthropicType: string;
}

const BY_TYPE: Record<string, Mapped> = {
  throttlingexception: { code: 'rate_limit', status: 429, anthropicType: 'rate_limit_error' },
  // Quotas such as tokens-per-minute come back as this rather than as a throttle; both clear with time.
  servicequotaexceededexception: { code: 'rate_limit', status: 429, anthropicType: 'rate_limit_error' },
  serviceunavailableexception: { code: 'service_unavailable', status: 503, anthropicType: 'overloaded_error' },
  // Bedrock answers 429 for a model that is still loading; it is an availability problem, not a quota.
  modelnotreadyexception: { code: 'service_unavailable', status: 503, anthropicType: 'overloaded_error' },
  internalserverexception: { code: 'upstream_error', status: 500, anthropicType: 'api_error' },
  modelstreamerrorexception: { code: 'upstream_error', status: 500, anthropicType: 'api_error' },
  modeltimeoutexception: { code: 'timeout', status: 408, anthropicType: 'timeout_error' },
  modelerrorexception: { code: 'upstream_error', status: 424, anthropicType: 'api_error' },
  validationexception: { code: 'invalid_request', status: 400, anthropicType: 'invalid_request_error' },
  accessdeniedexception: { code: 'permission_denied', status: 403, anthropicType: 'permission_error' },
  resourcenotfoundexception: { code: 'not_found', status: 404, anthropicType: 'not_found_error' },
  // Credential problems are the gateway's configuration, reported as authentication failures.
  unrecognizedclientexception: { code: 'authentication', status: 401, anthropicType: 'authentication_error' },
  invalidsignatureexception: { code: 'authentication', status: 401, anthropicType: 'authentication_error' },
  incompletesignatureexception: { code: 'authentication', status: 401, anthropicType: 'authentication_error' },
  expiredtokenexception: { code: 'authentication', status: 401, anthropicType: 'authentication_error' },
  missingauthenticationtokenexception: { code: 'authentication', status: 401, anthropicType: 'authentication_error' },
};

/** When AWS's error name is unavailable, the one its status implies (Bedrock's documented pairs). */
const TYPE_BY_STATUS: Record<number, string> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

/** `ValidationException:http://internal.amazon.com/…` or `com.amazon…#ValidationException` → `ValidationException`. */
export function normalizeErrorType(raw: string): string {
  const noNamespace = raw.split('#').at(-1) ?? raw;
  return (noNamespace.split(':')[0] ?? noNamespace).trim();
}

export function mappedErrorType(type: string | undefined): Mapped | undefined {
  return type === undefined ? undefined : BY_TYPE[normalizeErrorType(type).toLowerCase()];
}

/**
 * Message and error name of a Bedrock error body. `headers` is optional because the shared HTTP
 * helper does not pass them (yet); without it the name comes from the body or the status.
 */
export function parseBedrockError(status: number, text: string, headers?: Record<string, string>): UpstreamErrorInfo {
  const body = asObject(tryParseJson(text));
  const headerType = headers?.['x-amzn-errortype'];
  const bodyType = asString(body?.__type) ?? asString(body?.code);
  const type = normalizeErrorType(headerType ?? bodyType ?? TYPE_BY_STATUS[status] ?? `HTTP${status}`);
  const message = asString(body?.message) ?? asString(body?.Message) ?? (text.trim().slice(0, 500) || `Bedrock returned HTTP ${status}`);
  return { message, type };
}

/**
 * Re-classify an HTTP error by AWS's error name: the generic status table would call a
 * ModelNotReady 429 a rate limit, and AWS's 403 for a bad signature a permission problem.
 */
export function remapBedrockError(err: unknown): unknown {
  if (!(err instanceof GatewayError) || err.upstream?.status === undefined) return err;
  const mapped = mappedErrorType(err.upstream.type);
  if (mapped === undefined || (mapped.code === err.code && mapped.status === err.status)) return err;
  return errors.upstreamAs(mapped.code, mapped.status, { message: err.message, retryAfterSeconds: err.retryAfterSeconds, upstream: err.upstream, cause: err.cause });
}

/** An exception frame inside an event stream (the HTTP status was already 200). */
export function streamException(exceptionType: string, payload: string, provider: string): GatewayError {
  const body = asObject(tryParseJson(payload));
  const message = asString(body?.message) ?? asString(body?.Message) ?? (payload.trim().slice(0, 500) || exceptionType);
  const mapped = mappedErrorType(exceptionType) ?? { code: 'upstream_error' as const, status: 500 };
  return errors.upstreamAs(mapped.code, mapped.status, { message, upstream: { status: 200, type: exceptionType, provider, body: payload.slice(0, 4096) } });
}

/** The Anthropic SSE `error` event that tells a passthrough client about an in-stream exception. */
export function anthropicErrorEvent(error: GatewayError): string {
  const type = mappedErrorType(error.upstream?.type)?.anthropicType ?? 'api_error';
  return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message: error.message } })}\n\n`;
}
