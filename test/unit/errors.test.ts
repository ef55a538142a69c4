/**
 * The error catalogue: one row per code, the constructors bound to it, and the two LiteLLM names
 * (Prometheus `exception_class`, spend log `error_class`) read from it so they cannot disagree.
 * Expected values are written out from LiteLLM's sources, not read back from the catalogue.
 */
import { describe, expect, it } from 'vitest';
import { spendLogRow } from '../../src/accounting/spend-row.js';
import type { CallRecord } from '../../src/core/call-record.js';
import {
  classifyUpstreamStatus,
  ERROR_CATALOGUE,
  ERROR_CODES,
  errors,
  GatewayError,
  litellmErrorClass,
  litellmExceptionClass,
  toGatewayError,
  type ErrorCode,
} from '../../src/core/errors.js';
import { fillAttemptLabels, fillCallLabels, L } from '../../src/observability/metrics/labels.js';
import { classifyError, type ErrorClass } from '../../src/routing/error-class.js';
import { makeCall } from '../storage/calls.js';

/** Per code: rendered status, retryable, LiteLLM's class (litellm/exceptions.py and the proxy's disconnect constant). */
const EXPECTED: Record<ErrorCode, [status: number, retryable: boolean, litellmClass: string]> = {
  invalid_request: [400, false, 'BadRequestError'],
  authentication: [401, false, 'AuthenticationError'],
  permission_denied: [403, false, 'PermissionDeniedError'],
  not_found: [404, false, 'NotFoundError'],
  request_too_large: [413, false, 'BadRequestError'],
  unsupported_parameter: [400, false, 'UnsupportedParamsError'],
  context_window_exceeded: [400, false, 'ContextWindowExceededError'],
  content_policy: [400, false, 'ContentPolicyViolationError'],
  rate_limit: [429, true, 'RateLimitError'],
  budget_exceeded: [400, false, 'BudgetExceededError'],
  overloaded: [529, true, 'InternalServerError'],
  timeout: [408, true, 'Timeout'],
  upstream_error: [502, true, 'APIError'],
  upstream_connection: [502, true, 'APIConnectionError'],
  service_unavailable: [503, true, 'ServiceUnavailableError'],
  client_disconnected: [499, false, 'ClientDisconnected'],
  internal: [500, false, 'InternalServerError'],
};

const PROVIDERS = ['anthropic', 'openai', 'bedrock', 'vertex_ai', 'gemini', 'azure', '', undefined] as const;

describe('error catalogue', () => {
  it('has a row for every code and nothing else', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s: status, retryable and LiteLLM class', (code, [status, retryable, cls]) => {
    const info = ERROR_CATALOGUE[code as ErrorCode];
    expect(info).toMatchObject({ status, retryable, litellmClass: cls });
    expect(litellmErrorClass(code as ErrorCode)).toBe(cls);
  });

  it('prefixes the provider as prometheus.py does, except for failures that are not the provider\'s', () => {
    expect(litellmExceptionClass('rate_limit', 'anthropic')).toBe('Anthropic.RateLimitError');
    expect(litellmExceptionClass('overloaded', 'anthropic')).toBe('Anthropic.InternalServerError');
    expect(litellmExceptionClass('timeout', 'vertex_ai')).toBe('Vertex_ai.Timeout');
    expect(litellmExceptionClass('unsupported_parameter', 'bedrock')).toBe('Bedrock.UnsupportedParamsError');
    expect(litellmExceptionClass('rate_limit', undefined)).toBe('RateLimitError');
    expect(litellmExceptionClass('rate_limit', '')).toBe('RateLimitError');
    expect(litellmExceptionClass('budget_exceeded', 'openai')).toBe('BudgetExceededError');
    expect(litellmExceptionClass('client_disconnected', 'openai')).toBe('ClientDisconnected');
    expect(litellmExceptionClass('internal', 'openai')).toBe('InternalServerError');
  });
});

describe('named constructors', () => {
  const built: [string, GatewayError, ErrorCode][] = [
    ['invalidRequest', errors.invalidRequest('bad', 'messages'), 'invalid_request'],
    ['unsupportedParameter', errors.unsupportedParameter('no n', 'n'), 'unsupported_parameter'],
    ['requestTooLarge', errors.requestTooLarge('big'), 'request_too_large'],
    ['contextWindowExceeded', errors.contextWindowExceeded('long'), 'context_window_exceeded'],
    ['contentPolicy', errors.contentPolicy('no'), 'content_policy'],
    ['authentication', errors.authentication('who'), 'authentication'],
    ['permissionDenied', errors.permissionDenied('nope'), 'permission_denied'],
    ['notFound', errors.notFound('where', 'model'), 'not_found'],
    ['rateLimited', errors.rateLimited('slow', 7), 'rate_limit'],
    ['budgetExceeded', errors.budgetExceeded('spent'), 'budget_exceeded'],
    ['overloaded', errors.overloaded('busy'), 'overloaded'],
    ['timeout', errors.timeout('late'), 'timeout'],
    ['serviceUnavailable', errors.serviceUnavailable('down'), 'service_unavailable'],
    ['upstreamConnection', errors.upstreamConnection('refused'), 'upstream_connection'],
    ['truncatedStream', errors.truncatedStream(), 'upstream_error'],
    ['badUpstreamAnswer', errors.badUpstreamAnswer('not JSON'), 'upstream_error'],
    ['clientDisconnected', errors.clientDisconnected(new Error('reset')), 'client_disconnected'],
    ['internal', errors.internal('bug'), 'internal'],
  ];

  it.each(built)('%s carries its code with the catalogue\'s status and retryable', (_name, error, code) => {
    const [status, retryable] = EXPECTED[code];
    expect(error).toBeInstanceOf(GatewayError);
    expect({ code: error.code, status: error.status, retryable: error.retryable }).toEqual({ code, status, retryable });
  });

  it('covers every code with a constructor of its own', () => {
    expect(new Set(built.map(([, , code]) => code))).toEqual(new Set(ERROR_CODES));
  });

  it('keeps the extras a call site passes', () => {
    expect(errors.invalidRequest('bad', 'messages').param).toBe('messages');
    expect(errors.rateLimited('slow', 7).retryAfterSeconds).toBe(7);
    expect(errors.budgetExceeded('spent').type).toBe('budget_exceeded');
    const cause = new Error('reset');
    expect(errors.clientDisconnected(cause).cause).toBe(cause);
    expect(errors.clientDisconnected(undefined, 'Request aborted').message).toBe('Request aborted');
    expect(errors.permissionDenied('x', { type: 'key_model_access_denied', param: 'model' })).toMatchObject({ type: 'key_model_access_denied', param: 'model' });
  });

  it('binds the statuses that are not the code\'s default to constructors of their own', () => {
    expect(errors.conflict('exists', 'key_alias')).toMatchObject({ code: 'invalid_request', status: 409, retryable: false, param: 'key_alias' });
    expect(errors.misconfigured('no api_base')).toMatchObject({ code: 'invalid_request', status: 500, retryable: false });
    expect(errors.streamError('boom')).toMatchObject({ code: 'upstream_error', status: 500, retryable: true });
  });

  it('classifies an upstream HTTP error by its status and keeps that status', () => {
    const cases: [number, ErrorCode, boolean][] = [
      [400, 'invalid_request', false],
      [422, 'invalid_request', false],
      [401, 'authentication', false],
      [403, 'permission_denied', false],
      [404, 'not_found', false],
      [408, 'timeout', true],
      [409, 'upstream_error', false],
      [413, 'request_too_large', false],
      [429, 'rate_limit', true],
      [500, 'upstream_error', true],
      [502, 'upstream_error', true],
      [503, 'service_unavailable', true],
      [504, 'timeout', true],
      [529, 'overloaded', true],
    ];
    for (const [status, code, retryable] of cases) {
      const error = errors.upstream(status, { message: `HTTP ${status}`, upstream: { status, provider: 'openai' } });
      expect({ status: error.status, code: error.code, retryable: error.retryable }).toEqual({ status, code, retryable });
      expect(classifyUpstreamStatus(status)).toEqual({ code, retryable });
    }
  });

  it('lets a provider name the code, with retryable still the catalogue\'s', () => {
    expect(errors.upstreamAs('timeout', 504, { message: 'DEADLINE_EXCEEDED' })).toMatchObject({ code: 'timeout', status: 504, retryable: true });
    expect(errors.upstreamAs('authentication', 401, { message: 'API_KEY_INVALID' })).toMatchObject({ code: 'authentication', retryable: false });
    expect(errors.upstreamAs('upstream_error', 418, { message: 'teapot' }).retryable).toBe(false);
  });

  it('turns anything else into an internal 500', () => {
    const err = toGatewayError(new TypeError('x is undefined'));
    expect(err).toMatchObject({ code: 'internal', status: 500, retryable: false, message: 'Internal gateway error: x is undefined' });
  });
});

/** A failed call ending in `code`, through deployment `provider`. */
function failedCall(code: ErrorCode, provider: string | undefined): CallRecord {
  const status = ERROR_CATALOGUE[code].status;
  const base = makeCall();
  return makeCall({
    outcome: 'failure',
    httpStatus: status,
    error: { code, message: `failed with ${code}` },
    deployment: provider === undefined ? undefined : { ...(base.deployment as NonNullable<CallRecord['deployment']>), provider },
    attempts: [{ deploymentId: 'dep-1', startedAt: base.startedAt, durationMs: 10, outcome: 'failure', status, errorCode: code }],
  });
}

describe('metrics labels and spend logs name every failure alike', () => {
  const options = { endUser: false, customLabels: [] };
  for (const code of Object.keys(EXPECTED) as ErrorCode[]) {
    it(`${code}`, () => {
      const cls = EXPECTED[code][2];
      for (const provider of PROVIDERS) {
        const call = failedCall(code, provider);
        const errorInformation = spendLogRow(call).log.metadata.error_information as { error_class: string };
        expect(errorInformation.error_class).toBe(cls);
        const labels: string[] = [];
        fillCallLabels(call, options, labels);
        // The label is the spend log's class, with LiteLLM's `Provider.` prefix when the failure is the provider's.
        const prefixed = provider !== undefined && provider !== '' && ERROR_CATALOGUE[code].providerPrefixed;
        const expected = prefixed ? `${provider.charAt(0).toUpperCase()}${provider.slice(1)}.${cls}` : cls;
        expect(labels[L.exception_class]).toBe(expected);
        const attempt: string[] = [];
        fillAttemptLabels(call.deployment, 'dep-1', true, ERROR_CATALOGUE[code].status, code, attempt);
        expect(attempt[5]).toBe(expected);
        expect(litellmExceptionClass(code, provider)).toBe(expected);
      }
    });
  }
});

describe('routing classes follow the catalogue\'s LiteLLM class', () => {
  const expected: Record<ErrorCode, ErrorClass> = {
    invalid_request: 'bad_request',
    authentication: 'auth',
    permission_denied: 'auth',
    not_found: 'not_found',
    request_too_large: 'bad_request',
    unsupported_parameter: 'bad_request',
    context_window_exceeded: 'context_window',
    content_policy: 'content_policy',
    rate_limit: 'rate_limit',
    budget_exceeded: 'bad_request',
    overloaded: 'server',
    timeout: 'timeout',
    upstream_error: 'server',
    upstream_connection: 'server',
    service_unavailable: 'server',
    client_disconnected: 'client_abort',
    internal: 'internal',
  };
  it.each(Object.entries(expected))('%s → %s', (code, cls) => {
    const c = code as ErrorCode;
    expect(classifyError(new GatewayError({ code: c, status: ERROR_CATALOGUE[c].status, message: 'plain failure' }))).toBe(cls);
  });

  it('still reads a context-window or content-policy 400 from its text', () => {
    expect(classifyError(errors.invalidRequest('prompt is too long: 210000 tokens > 200000 maximum'))).toBe('context_window');
    expect(classifyError(errors.invalidRequest('The response was filtered due to the content management policy'))).toBe('content_policy');
    expect(classifyError(errors.unsupportedParameter('context_length exceeded'))).toBe('context_window');
  });
});
