/**
 * One error type for the whole gateway. It carries everything a surface needs to render it in its
 * own envelope and everything the router needs to decide on a retry; it never carries a stack to
 * the client.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'authentication'
  | 'permission_denied'
  | 'not_found'
  | 'request_too_large'
  | 'unsupported_parameter'
  | 'context_window_exceeded'
  | 'content_policy'
  | 'rate_limit'
  | 'budget_exceeded'
  | 'overloaded'
  | 'timeout'
  | 'upstream_error'
  | 'upstream_connection'
  | 'service_unavailable'
  | 'client_disconnected'
  | 'internal';

export interface UpstreamDetails {
  status?: number | undefined;
  /** The upstream's error body, as text (truncated), for logs and call records. */
  body?: string | undefined;
  /** The upstream's own error type (e.g. Anthropic's `overloaded_error`). */
  type?: string | undefined;
  provider?: string | undefined;
}

export interface GatewayErrorInit {
  code: ErrorCode;
  status: number;
  message: string;
  /** The request field the error is about, when it is the client's fault. */
  param?: string | undefined;
  retryable?: boolean | undefined;
  retryAfterSeconds?: number | undefined;
  upstream?: UpstreamDetails | undefined;
  /**
   * The error `type` LiteLLM's envelope names, when it is more specific than the code's
   * (`key_model_access_denied`, `team_member_permission_error`, …).
   */
  type?: string | undefined;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly upstream: UpstreamDetails | undefined;
  readonly type: string | undefined;

  constructor(init: GatewayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'GatewayError';
    this.code = init.code;
    this.status = init.status;
    this.param = init.param;
    this.retryable = init.retryable ?? false;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.upstream = init.upstream;
    this.type = init.type;
  }
}

export function invalidRequest(message: string, param?: string): GatewayError {
  return new GatewayError({ code: 'invalid_request', status: 400, message, param });
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}

/** Anything thrown that is not a GatewayError is our bug: a 500 that says so without leaking internals. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError({
    code: 'internal',
    status: 500,
    message: `Internal gateway error: ${err instanceof Error ? err.message : String(err)}`,
    cause: err,
  });
}

/** Map an upstream HTTP status to our code and whether another attempt may succeed. */
export function classifyUpstreamStatus(status: number): { code: ErrorCode; retryable: boolean } {
  if (status === 400 || status === 422) return { code: 'invalid_request', retryable: false };
  if (status === 401) return { code: 'authentication', retryable: false };
  if (status === 403) return { code: 'permission_denied', retryable: false };
  if (status === 404) return { code: 'not_found', retryable: false };
  if (status === 408) return { code: 'timeout', retryable: true };
  if (status === 413) return { code: 'request_too_large', retryable: false };
  if (status === 429) return { code: 'rate_limit', retryable: true };
  if (status === 529) return { code: 'overloaded', retryable: true };
  if (status === 503) return { code: 'service_unavailable', retryable: true };
  if (status === 504) return { code: 'timeout', retryable: true };
  return { code: 'upstream_error', retryable: status >= 500 };
}

/** Parse `retry-after` (seconds or HTTP date) and `retry-after-ms` into seconds. */
export function parseRetryAfter(
  retryAfter: string | undefined,
  retryAfterMs: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (retryAfterMs !== undefined) {
    const ms = Number(retryAfterMs);
    if (Number.isFinite(ms) && ms >= 0) return ms / 1000;
  }
  if (retryAfter === undefined) return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}
