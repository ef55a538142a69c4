/**
 * What kind of failure an attempt ended in, as far as routing cares: LiteLLM's exception classes
 * (they key `retry_policy` and `allowed_fails_policy`), plus the two failures that are nobody's
 * upstream fault (the client went away, or the gateway itself broke).
 */
import { litellmErrorClass, type GatewayError } from '../core/errors.js';
import type { AllowedFailsPolicy, RetryPolicy } from './settings.js';

export type ErrorClass =
  | 'client_abort'
  | 'internal'
  | 'bad_request'
  | 'context_window'
  | 'content_policy'
  | 'auth'
  | 'not_found'
  | 'rate_limit'
  | 'timeout'
  | 'server';

// Providers report these as plain 400s; LiteLLM's exception mapping recognises them by their text too.
const CONTEXT_WINDOW = /context[_ ]length|context window|maximum context|prompt is too long|input is too long|too many (input )?tokens|exceeds the (model's )?(maximum )?context/i;
const CONTENT_POLICY = /content[_ ]policy|content[_ ]filter|content management policy|responsible ai|safety system|flagged as potentially/i;

/**
 * LiteLLM keys retry_policy and allowed_fails_policy by exception class (`isinstance` checks in
 * router_utils), so the class is read off the error catalogue's LiteLLM class rather than a second
 * per-code table: a code whose LiteLLM class changes is routed as that class.
 */
export function classifyError(error: GatewayError): ErrorClass {
  // Nobody's upstream fault: LiteLLM has no exception class for these, so no policy applies.
  if (error.code === 'client_disconnected') return 'client_abort';
  if (error.code === 'internal') return 'internal';
  switch (litellmErrorClass(error.code)) {
    case 'ContextWindowExceededError':
      return 'context_window';
    case 'ContentPolicyViolationError':
      return 'content_policy';
    case 'AuthenticationError':
    case 'PermissionDeniedError':
      return 'auth';
    case 'NotFoundError':
      return 'not_found';
    case 'RateLimitError':
      return 'rate_limit';
    case 'Timeout':
      return 'timeout';
    case 'BadRequestError':
    case 'UnsupportedParamsError':
    case 'BudgetExceededError': {
      const text = `${error.message} ${error.upstream?.type ?? ''}`;
      if (CONTEXT_WINDOW.test(text)) return 'context_window';
      if (CONTENT_POLICY.test(text)) return 'content_policy';
      return 'bad_request';
    }
    default:
      return 'server';
  }
}

/** Failures the client's request caused: another deployment would refuse it the same way. */
export function isClientCaused(cls: ErrorClass): boolean {
  return cls === 'bad_request' || cls === 'context_window' || cls === 'content_policy';
}

/** The retry_policy count for a class, most specific key first (LiteLLM checks BadRequest first, so a content-policy count never applied). */
export function retriesFromPolicy(policy: RetryPolicy | undefined, cls: ErrorClass): number | undefined {
  if (policy === undefined) return undefined;
  switch (cls) {
    case 'bad_request':
    case 'context_window':
      return policy.BadRequestErrorRetries;
    case 'content_policy':
      return policy.ContentPolicyViolationErrorRetries ?? policy.BadRequestErrorRetries;
    case 'auth':
      return policy.AuthenticationErrorRetries;
    case 'timeout':
      return policy.TimeoutErrorRetries;
    case 'rate_limit':
      return policy.RateLimitErrorRetries;
    case 'server':
      return policy.InternalServerErrorRetries;
    default:
      return undefined;
  }
}

export function allowedFailsFromPolicy(policy: AllowedFailsPolicy | undefined, cls: ErrorClass): number | undefined {
  if (policy === undefined) return undefined;
  switch (cls) {
    case 'bad_request':
    case 'context_window':
      return policy.BadRequestErrorAllowedFails;
    case 'content_policy':
      return policy.ContentPolicyViolationErrorAllowedFails ?? policy.BadRequestErrorAllowedFails;
    case 'auth':
      return policy.AuthenticationErrorAllowedFails;
    case 'timeout':
      return policy.TimeoutErrorAllowedFails;
    case 'rate_limit':
      return policy.RateLimitErrorAllowedFails;
    case 'server':
      return policy.InternalServerErrorAllowedFails;
    default:
      return undefined;
  }
}
