/**
 * How the Bedrock runtime API speaks errors, for clients configured for Bedrock itself: `{"message":
 * …}` with the AWS error name in `x-amzn-errortype`; after a stream has begun, an event-stream
 * exception frame (`:message-type: exception`, the name camel-cased in `:exception-type`).
 */
import type { GatewayError } from '../../core/errors.js';
import { encodeEventStreamFrame } from '../../core/event-stream-frame.js';

/** An error as a whole HTTP answer in the platform's shape. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A client that went away is logged as 499 but answered (if at all) as a 400, as elsewhere. */
export function clientStatus(error: GatewayError): number {
  return error.status === 499 ? 400 : error.status;
}

export function retryHeaders(error: GatewayError): Record<string, string> {
  return error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.ceil(error.retryAfterSeconds)) };
}

/** The error names Bedrock documents for its runtime API (lower-cased), which a client may branch on. */
const AWS_NAMES = new Set([
  'throttlingexception',
  'servicequotaexceededexception',
  'serviceunavailableexception',
  'modelnotreadyexception',
  'internalserverexception',
  'modelstreamerrorexception',
  'modeltimeoutexception',
  'modelerrorexception',
  'validationexception',
  'accessdeniedexception',
  'resourcenotfoundexception',
  'unrecognizedclientexception',
  'invalidsignatureexception',
  'incompletesignatureexception',
  'expiredtokenexception',
  'missingauthenticationtokenexception',
]);

const NAME_BY_CODE: Partial<Record<GatewayError['code'], string>> = {
  invalid_request: 'ValidationException',
  unsupported_parameter: 'ValidationException',
  context_window_exceeded: 'ValidationException',
  request_too_large: 'ValidationException',
  content_policy: 'ValidationException',
  authentication: 'UnrecognizedClientException',
  permission_denied: 'AccessDeniedException',
  not_found: 'ResourceNotFoundException',
  rate_limit: 'ThrottlingException',
  budget_exceeded: 'ServiceQuotaExceededException',
  overloaded: 'ServiceUnavailableException',
  service_unavailable: 'ServiceUnavailableException',
  timeout: 'ModelTimeoutException',
};

/** AWS's name for an error: the upstream's own when Bedrock named it, else the one our code implies. */
export function awsErrorName(error: GatewayError): string {
  const upstream = error.upstream?.provider === 'bedrock' ? error.upstream.type : undefined;
  if (upstream !== undefined) {
    // `ValidationException:http://internal.amazon.com/…` or `com.amazon…#ValidationException`.
    const name = upstream.split('#').at(-1)?.split(':')[0]?.trim() ?? upstream;
    if (AWS_NAMES.has(name.toLowerCase())) return name.charAt(0).toUpperCase() + name.slice(1);
  }
  return NAME_BY_CODE[error.code] ?? 'InternalServerException';
}

export function bedrockErrorResponse(error: GatewayError): ErrorResponse {
  return {
    status: clientStatus(error),
    headers: { 'x-amzn-errortype': awsErrorName(error), ...retryHeaders(error) },
    body: JSON.stringify({ message: error.message }),
  };
}

/** The exception frame that ends a Bedrock event stream that failed after it began. */
export function bedrockStreamError(error: GatewayError): Buffer {
  const name = awsErrorName(error);
  const type = name.charAt(0).toLowerCase() + name.slice(1);
  return encodeEventStreamFrame({ ':message-type': 'exception', ':exception-type': type, ':content-type': 'application/json' }, JSON.stringify({ message: error.message }));
}
