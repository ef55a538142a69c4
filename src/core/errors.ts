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

/** What one code means everywhere: the status it renders with, whether another attempt may help, LiteLLM's name for it. */
export interface ErrorCodeInfo {
  /** The HTTP status an error of this code renders with unless its constructor says otherwise (an upstream's own status). */
  readonly status: number;
  /** Whether another attempt (same or other deployment) may succeed. */
  readonly retryable: boolean;
  /**
   * The LiteLLM exception class (litellm/exceptions.py, or the proxy's constant) that raises this
   * failure: what its spend log keeps as `error_information.error_class` (`__class__.__name__`).
   */
  readonly litellmClass: string;
  /**
   * Whether LiteLLM's exception carries `llm_provider`, so Prometheus' `exception_class` reads
   * `Anthropic.RateLimitError` (prometheus.py `_get_exception_class_name`). BudgetExceededError has
   * no provider; a client disconnect and our own bugs are nobody's upstream.
   */
  readonly providerPrefixed: boolean;
}

/**
 * The one error catalogue. Every table that needs a per-code fact reads it from here: the
 * constructors below (status, retryable), the metrics' `exception_class` and the spend log's
 * `error_class` (LiteLLM's names), so the two can no longer disagree.
 */
export const ERROR_CATALOGUE: Readonly<Record<ErrorCode, ErrorCodeInfo>> = {
  invalid_request: { status: 400, retryable: false, litellmClass: 'BadRequestError', providerPrefixed: true },
  authentication: { status: 401, retryable: false, litellmClass: 'AuthenticationError', providerPrefixed: true },
  permission_denied: { status: 403, retryable: false, litellmClass: 'PermissionDeniedError', providerPrefixed: true },
  not_found: { status: 404, retryable: false, litellmClass: 'NotFoundError', providerPrefixed: true },
  // LiteLLM has no 413 class of its own; its exception mapping raises BadRequestError.
  request_too_large: { status: 413, retryable: false, litellmClass: 'BadRequestError', providerPrefixed: true },
  // A BadRequestError subclass in LiteLLM, so `__class__.__name__` is the subclass's name.
  unsupported_parameter: { status: 400, retryable: false, litellmClass: 'UnsupportedParamsError', providerPrefixed: true },
  context_window_exceeded: { status: 400, retryable: false, litellmClass: 'ContextWindowExceededError', providerPrefixed: true },
  content_policy: { status: 400, retryable: false, litellmClass: 'ContentPolicyViolationError', providerPrefixed: true },
  rate_limit: { status: 429, retryable: true, litellmClass: 'RateLimitError', providerPrefixed: true },
  budget_exceeded: { status: 400, retryable: false, litellmClass: 'BudgetExceededError', providerPrefixed: false },
  // LiteLLM maps Anthropic's 529 (and `overloaded_error`) to InternalServerError.
  overloaded: { status: 529, retryable: true, litellmClass: 'InternalServerError', providerPrefixed: true },
  timeout: { status: 408, retryable: true, litellmClass: 'Timeout', providerPrefixed: true },
  upstream_error: { status: 502, retryable: true, litellmClass: 'APIError', providerPrefixed: true },
  upstream_connection: { status: 502, retryable: true, litellmClass: 'APIConnectionError', providerPrefixed: true },
  service_unavailable: { status: 503, retryable: true, litellmClass: 'ServiceUnavailableError', providerPrefixed: true },
  // LiteLLM's proxy records a disconnect as error_code "499", error_class "ClientDisconnected"
  // (common_request_processing.py `_CLIENT_DISCONNECTED_ERROR_INFORMATION`); it is no exception class.
  client_disconnected: { status: 499, retryable: false, litellmClass: 'ClientDisconnected', providerPrefixed: false },
  internal: { status: 500, retryable: false, litellmClass: 'InternalServerError', providerPrefixed: false },
};

export const ERROR_CODES: readonly ErrorCode[] = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** The spend log's `error_information.error_class`: LiteLLM's class name, never provider-prefixed. */
export function litellmErrorClass(code: ErrorCode): string {
  return ERROR_CATALOGUE[code].litellmClass;
}

/**
 * Prometheus' `exception_class` label as LiteLLM writes it: the provider capitalised, a dot, the
 * class (`Anthropic.RateLimitError`); the bare class when there is no provider or the failure is
 * not the provider's. Metrics labels and spend logs both read the class from the catalogue.
 */
export function litellmExceptionClass(code: ErrorCode, provider: string | undefined): string {
  const info = ERROR_CATALOGUE[code];
  if (provider === undefined || provider === '' || !info.providerPrefixed) return info.litellmClass;
  return `${provider.charAt(0).toUpperCase()}${provider.slice(1)}.${info.litellmClass}`;
}

/** What a constructor may add to the code's own facts; never the code, status or retryable. */
export interface ErrorExtras {
  param?: string | undefined;
  type?: string | undefined;
  upstream?: UpstreamDetails | undefined;
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

function make(
  code: ErrorCode,
  message: string,
  extras: ErrorExtras = {},
  status: number = ERROR_CATALOGUE[code].status,
  retryable: boolean = ERROR_CATALOGUE[code].retryable,
): GatewayError {
  return new GatewayError({ ...extras, code, status, message, retryable });
}

/** What an upstream failure carries besides its code and status: the message and the extras. */
export interface UpstreamFailure extends ErrorExtras {
  message: string;
}

/**
 * The named constructors: each binds a code to the status and retryability the catalogue gives it,
 * so a call site cannot build a retryable 400 or a 500 `not_found`. The few statuses that are not
 * the code's default are constructors of their own (`conflict`, `misconfigured`, `streamError`), or
 * the upstream's own status (`upstream`, `upstreamAs`).
 */
export const errors = {
  invalidRequest: (message: string, param?: string, extras?: ErrorExtras): GatewayError => make('invalid_request', message, { ...extras, param: param ?? extras?.param }),
  /** A 4xx the HTTP framework raised itself (a malformed URL or content-length): the client's fault, under the framework's status. */
  clientError: (status: number, message: string): GatewayError => make('invalid_request', message, {}, status),
  /** A 409 for an admin write that collides with an existing row (LiteLLM answers those as bad requests). */
  conflict: (message: string, param?: string): GatewayError => make('invalid_request', message, { param }, 409),
  unsupportedParameter: (message: string, param?: string, extras?: ErrorExtras): GatewayError => make('unsupported_parameter', message, { ...extras, param: param ?? extras?.param }),
  requestTooLarge: (message: string, extras?: ErrorExtras): GatewayError => make('request_too_large', message, extras),
  contextWindowExceeded: (message: string, extras?: ErrorExtras): GatewayError => make('context_window_exceeded', message, extras),
  contentPolicy: (message: string, extras?: ErrorExtras): GatewayError => make('content_policy', message, extras),
  authentication: (message: string, extras?: ErrorExtras): GatewayError => make('authentication', message, extras),
  permissionDenied: (message: string, extras?: ErrorExtras): GatewayError => make('permission_denied', message, extras),
  notFound: (message: string, param?: string, extras?: ErrorExtras): GatewayError => make('not_found', message, { ...extras, param: param ?? extras?.param }),
  rateLimited: (message: string, retryAfterSeconds?: number, extras?: ErrorExtras): GatewayError => make('rate_limit', message, { ...extras, retryAfterSeconds: retryAfterSeconds ?? extras?.retryAfterSeconds }),
  budgetExceeded: (message: string): GatewayError => make('budget_exceeded', message, { type: 'budget_exceeded' }),
  overloaded: (message: string, extras?: ErrorExtras): GatewayError => make('overloaded', message, extras),
  timeout: (message: string, extras?: ErrorExtras): GatewayError => make('timeout', message, extras),
  serviceUnavailable: (message: string, extras?: ErrorExtras): GatewayError => make('service_unavailable', message, extras),
  /** The upstream could not be reached (DNS, refused, reset before an answer). */
  upstreamConnection: (message: string, extras?: ErrorExtras): GatewayError => make('upstream_connection', message, extras),
  /** An upstream HTTP error, classified by its status; the error keeps the upstream's status. */
  upstream: (status: number, failure: UpstreamFailure): GatewayError => {
    const { code } = classifyUpstreamStatus(status);
    return upstreamAs(code, status, failure);
  },
  /** An upstream error the provider's own error name classified more precisely than its status. */
  upstreamAs: (code: ErrorCode, status: number, failure: UpstreamFailure): GatewayError => upstreamAs(code, status, failure),
  /** The upstream's stream ended without its final event: the answer is incomplete, another attempt may finish it. */
  truncatedStream: (message = 'The upstream stream ended before the answer was complete', extras?: ErrorExtras): GatewayError => make('upstream_error', message, extras),
  /** An error event inside an upstream stream that names no class of its own (LiteLLM renders those as 500s). */
  streamError: (message: string, extras?: ErrorExtras): GatewayError => make('upstream_error', message, extras, 500),
  /** The upstream answered 200 with a body we cannot use (not JSON, a required field missing). */
  badUpstreamAnswer: (message: string, extras?: ErrorExtras): GatewayError => make('upstream_error', message, extras),
  clientDisconnected: (cause?: unknown, message = 'Client closed the connection before the answer was complete'): GatewayError => make('client_disconnected', message, { cause }),
  /**
   * A deployment the operator configured without something it needs (a key, an api_base). A 500,
   * since the client cannot fix it, under `invalid_request` so the router does not cool the
   * deployment down or retry it as if the upstream had failed.
   */
  misconfigured: (message: string): GatewayError => make('invalid_request', message, {}, 500),
  /** Our own bug or an impossible state: a 500 that says so. */
  internal: (message: string, cause?: unknown): GatewayError => make('internal', message, { cause }),
} as const;

function upstreamAs(code: ErrorCode, status: number, failure: UpstreamFailure): GatewayError {
  const { message, ...extras } = failure;
  // An unclassified 4xx (409, 402, …) is the request's problem, not a flaky upstream.
  return make(code, message, extras, status, code === 'upstream_error' ? status >= 500 : ERROR_CATALOGUE[code].retryable);
}

/** @deprecated kept for existing call sites; use `errors.invalidRequest`. */
export function invalidRequest(message: string, param?: string): GatewayError {
  return errors.invalidRequest(message, param);
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}

/** Anything thrown that is not a GatewayError is our bug: a 500 that says so without leaking internals. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return errors.internal(`Internal gateway error: ${err instanceof Error ? err.message : String(err)}`, err);
}

/** Map an upstream HTTP status to our code and whether another attempt may succeed. */
export function classifyUpstreamStatus(status: number): { code: ErrorCode; retryable: boolean } {
  const code = codeForUpstreamStatus(status);
  return { code, retryable: code === 'upstream_error' ? status >= 500 : ERROR_CATALOGUE[code].retryable };
}

function codeForUpstreamStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
    case 422:
      return 'invalid_request';
    case 401:
      return 'authentication';
    case 403:
      return 'permission_denied';
    case 404:
      return 'not_found';
    case 408:
    case 504:
      return 'timeout';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit';
    case 529:
      return 'overloaded';
    case 503:
      return 'service_unavailable';
    default:
      return 'upstream_error';
  }
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

/** What replaces a credential an upstream echoed in its error. */
export const REDACTED = '[redacted]';

/**
 * The error with every one of `secrets` replaced in its message and upstream body. Providers quote
 * the key they refused ("Incorrect API key provided: sk-…"); the client, logs and spend logs must
 * not receive it. The same error object when nothing matched (the common case costs one scan).
 */
export function redactSecrets(err: GatewayError, secrets: readonly string[]): GatewayError {
  const scrub = (text: string): string => secrets.reduce((t, s) => (t.includes(s) ? t.split(s).join(REDACTED) : t), text);
  const message = scrub(err.message);
  const body = err.upstream?.body === undefined ? undefined : scrub(err.upstream.body);
  if (message === err.message && body === err.upstream?.body) return err;
  return new GatewayError({
    code: err.code, status: err.status, message, param: err.param, retryable: err.retryable,
    retryAfterSeconds: err.retryAfterSeconds, upstream: err.upstream === undefined ? undefined : { ...err.upstream, body }, type: err.type, cause: err.cause,
  });
}
