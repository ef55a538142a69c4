/**
 * LiteLLM's test hooks: request fields (and deployment `litellm_params`) that make the router or the
 * call fabricate an answer or a failure instead of calling the provider, so client code can test its
 * own fallback and retry handling against a real gateway.
 *
 *   mock_response                          answer with this text (LiteLLM's `mock_completion`:
 *                                          usage 10 prompt + 20 completion tokens); the strings
 *                                          `litellm.RateLimitError`, `litellm.InternalServerError`,
 *                                          `litellm.ContextWindowExceededError` raise that error
 *   mock_timeout                           never answer: the attempt's timeout fires (408)
 *   mock_testing_fallbacks                 the requested group fails (500) → fallbacks, no retries
 *   mock_testing_context_fallbacks         … fails as context window exceeded (400)
 *   mock_testing_content_policy_fallbacks  … fails as a content policy violation (400)
 *   mock_testing_rate_limit_error          the first attempt fails with a 429, then retries run
 *
 * Sources: litellm/main.py (`mock_completion`, `_handle_mock_potential_exceptions`,
 * `_handle_mock_timeout`), litellm/router_utils (`handle_mock_testing_rate_limit_error`) and
 * litellm/router.py (`async_function_with_fallbacks`). The fields are taken out of the body so no
 * upstream ever sees them.
 */
import type { Deployment } from '../core/deployment.js';
import { errors, type GatewayError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { CannedPlan } from '../providers/mock/canned.js';

/** A failure the router fabricates for the requested group, before any deployment is called. */
export type MockGroupFailure = 'fallbacks' | 'context_window' | 'content_policy';

export interface TestHooks {
  /** The request's own `mock_response` (a string, or a whole response object). */
  mockResponse?: unknown;
  mockTimeout?: boolean | undefined;
  mockFailure?: MockGroupFailure | undefined;
  mockRateLimit?: boolean | undefined;
}

const FLAGS = {
  mock_timeout: 'mockTimeout',
  mock_testing_rate_limit_error: 'mockRateLimit',
} as const;

const FAILURES: Record<string, MockGroupFailure> = {
  mock_testing_fallbacks: 'fallbacks',
  mock_testing_context_fallbacks: 'context_window',
  mock_testing_content_policy_fallbacks: 'content_policy',
};

const HOOK_KEYS = ['mock_response', 'mock_delay', ...Object.keys(FLAGS), ...Object.keys(FAILURES)];

/** Take the hooks out of a request body (undefined when it has none: the common case costs one scan). */
export function takeTestHooks(body: JsonObject): TestHooks | undefined {
  if (!HOOK_KEYS.some((key) => key in body)) return undefined;
  const hooks: TestHooks = {};
  if (body.mock_response !== undefined && body.mock_response !== null) hooks.mockResponse = body.mock_response;
  for (const [field, name] of Object.entries(FLAGS)) if (flag(body, field)) hooks[name] = true;
  for (const [field, failure] of Object.entries(FAILURES)) if (flag(body, field)) hooks.mockFailure ??= failure;
  for (const key of HOOK_KEYS) delete body[key];
  return hooks;
}

function flag(body: JsonObject, field: string): boolean {
  const value = body[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw errors.invalidRequest(`${field}: must be true or false`, field);
  return value;
}

/** What a mocked attempt on one deployment does (answered by providers/mock/canned.ts). */
export type MockPlan = CannedPlan;

/**
 * The mock an attempt on `deployment` runs, if any: the request's hooks first, then the deployment's
 * own `litellm_params.mock_response` / `mock_timeout`. The built-in `mock` provider answers its own
 * `mock_response` with realistic usage, so only a request-level mock overrides it.
 */
export function mockPlanFor(deployment: Deployment, hooks: TestHooks | undefined): MockPlan | undefined {
  if (hooks?.mockTimeout === true || deployment.params.mock_timeout === true) return { kind: 'timeout' };
  const own = deployment.provider === 'mock' ? undefined : deployment.params.mock_response;
  const response = hooks?.mockResponse ?? own;
  if (response === undefined || response === null) return undefined;
  const error = typeof response === 'string' ? mockError(response, deployment) : undefined;
  return error === undefined ? { kind: 'answer', response } : { kind: 'error', error };
}

/** LiteLLM's error-raising mock strings (`_handle_mock_potential_exceptions`). */
function mockError(text: string, deployment: Deployment): GatewayError | undefined {
  const upstream = { provider: deployment.provider };
  switch (text) {
    case 'litellm.RateLimitError':
      return errors.rateLimited('this is a mock rate limit error', undefined, { upstream });
    case 'litellm.InternalServerError':
      return errors.upstream(500, { message: 'this is a mock internal server error', upstream });
    case 'litellm.ContextWindowExceededError':
      return errors.contextWindowExceeded('this is a mock context window exceeded error', { upstream });
    default:
      if (text.startsWith('Exception: content_filter_policy')) return errors.contentPolicy(text, { upstream });
      return undefined;
  }
}

/** The failure `mock_testing_*_fallbacks` fabricates for the requested group (router.py). */
export function mockGroupFailure(kind: MockGroupFailure, group: string, fallbacks: readonly string[]): GatewayError {
  const listed = `Fallbacks=${JSON.stringify(fallbacks)}`;
  switch (kind) {
    case 'fallbacks':
      return errors.upstream(500, { message: `This is a mock exception for model=${group}, to trigger a fallback. ${listed}` });
    case 'context_window':
      return errors.contextWindowExceeded(`This is a mock exception for model=${group}, to trigger a fallback. Context_Window_Fallbacks=${JSON.stringify(fallbacks)}`);
    case 'content_policy':
      return errors.contentPolicy(`This is a mock exception for model=${group}, to trigger a fallback. Context_Policy_Fallbacks=${JSON.stringify(fallbacks)}`);
  }
}

/** The 429 `mock_testing_rate_limit_error` fabricates for the first attempt. */
export function mockRateLimitError(group: string): GatewayError {
  return errors.rateLimited(`This is a mock exception for model_group=${group}, to trigger a rate limit error.`);
}
