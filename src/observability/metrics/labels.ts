/**
 * Label values for one CallRecord, computed once per call and shared by every metric it feeds.
 * LiteLLM's conventions are kept where dashboards depend on them: a missing value is the string
 * "None", newlines become spaces, the key appears only as its hash, and exception classes read
 * like `Anthropic.RateLimitError`.
 */
import { effectiveApiBase } from '../../core/deployment.js';
import type { AttemptRecord, CallRecord, DeploymentRef } from '../../core/call-record.js';
import type { ErrorCode } from '../../core/errors.js';
import type { CustomLabel } from './config.js';

export type LabelValues = Readonly<Record<string, string>>;

export const NONE = 'None';

/**
 * Fields the metrics use when the call record carries them. They are not (yet) part of core's
 * CallRecord; reading them defensively lets the producer add them without touching this module.
 */
interface OptionalFacts {
  teamAlias?: unknown;
  userEmail?: unknown;
  clientIp?: unknown;
  serviceTier?: unknown;
  responseCache?: unknown;
}

export function sanitizeLabelValue(value: unknown): string {
  if (value === undefined || value === null) return NONE;
  const text =
    typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : jsonOrNone(value);
  // Escaping of `\` and `"` is the exposition encoder's job; line breaks would still split a sample.
  return text.replace(/[\u2028\u2029\r]/g, '').replace(/\n/g, ' ');
}

function jsonOrNone(value: unknown): string {
  try {
    const json: string | undefined = JSON.stringify(value);
    return json ?? NONE;
  } catch {
    return NONE; // circular or BigInt-bearing metadata: not worth losing the call's other samples
  }
}

/** `'hit'` / `'miss'` when the call went through the response cache, else undefined. */
export function responseCacheOutcome(call: CallRecord): 'hit' | 'miss' | undefined {
  const value = (call as CallRecord & OptionalFacts).responseCache;
  return value === 'hit' || value === 'miss' ? value : undefined;
}

/**
 * What the call record's principal does not carry but LiteLLM's labels show: `team_alias` from the
 * team record, `user_email` from the user record (LiteLLM reads both off the UserAPIKeyAuth its
 * auth built from the key, user and team rows). Supplied by the composition root from the tenancy
 * cache; absent in unit tests.
 */
export type PrincipalLookup = (principal: CallRecord['principal']) => { teamAlias?: string | undefined; userEmail?: string | undefined } | undefined;

export interface LabelOptions {
  endUser: boolean;
  customLabels: readonly CustomLabel[];
  lookupPrincipal?: PrincipalLookup | undefined;
}

/**
 * LiteLLM's master key authenticates as `user_id="default_user_id"` (`litellm_proxy_admin_name` in
 * proxy_server.py, set on the UserAPIKeyAuth in auth/user_api_key_auth.py), so master-key traffic
 * is `user="default_user_id"` on its dashboards, not "None".
 */
export const MASTER_KEY_USER_ID = 'default_user_id';

/**
 * Since LiteLLM v1.84 the master key's UserAPIKeyAuth carries the constant
 * `LITELLM_PROXY_MASTER_KEY_ALIAS` (litellm/constants.py) as its api_key/token instead of the key's
 * hash, so that is master-key traffic's `hashed_api_key` (and the master key's hash never lands in
 * a scrape).
 */
export const MASTER_KEY_HASH_LABEL = 'litellm_proxy_master_key';

/** The labels every call-fed metric picks from. */
export function callLabels(call: CallRecord, options: LabelOptions): LabelValues {
  const p = call.principal as CallRecord['principal'] & OptionalFacts;
  const extra = call as CallRecord & OptionalFacts;
  const looked = options.lookupPrincipal?.(call.principal);
  const d = call.deployment;
  const failed = call.outcome === 'failure';
  const values: Record<string, string> = {
    end_user: options.endUser ? sanitizeLabelValue(p.endUser) : NONE,
    hashed_api_key: p.isMaster ? MASTER_KEY_HASH_LABEL : sanitizeLabelValue(p.keyHash),
    api_key_alias: sanitizeLabelValue(p.keyAlias),
    team: sanitizeLabelValue(p.teamId),
    team_alias: sanitizeLabelValue(p.teamAlias ?? looked?.teamAlias),
    user: sanitizeLabelValue(p.userId ?? (p.isMaster ? MASTER_KEY_USER_ID : undefined)),
    user_email: sanitizeLabelValue(p.userEmail ?? looked?.userEmail),
    requested_model: sanitizeLabelValue(call.requestedModel === '' ? undefined : call.requestedModel),
    model_group: sanitizeLabelValue(call.modelGroup),
    // LiteLLM's `model` is the model the provider was called with.
    model: sanitizeLabelValue(call.upstreamModel ?? d?.model),
    litellm_model_name: sanitizeLabelValue(d?.model),
    model_id: sanitizeLabelValue(d?.id),
    api_base: sanitizeLabelValue(d?.apiBase),
    api_provider: sanitizeLabelValue(d?.provider),
    status_code: String(call.httpStatus),
    exception_status: failed ? String(call.httpStatus) : NONE,
    exception_class: failed && call.error !== undefined ? exceptionClass(call.error.code, call.deployment?.provider) : NONE,
    route: sanitizeLabelValue(call.route),
    client_ip: sanitizeLabelValue(extra.clientIp),
    user_agent: sanitizeLabelValue(call.userAgent),
    // LiteLLM labels a request without a tier with an empty value, not "None".
    service_tier: typeof extra.serviceTier === 'string' ? sanitizeLabelValue(extra.serviceTier) : '',
    stream: call.stream ? 'True' : 'False',
    fallback: call.fallbacks > 0 ? 'true' : 'false',
  };
  for (const custom of options.customLabels) values[custom.label] = sanitizeLabelValue(readPath(call.metadata, custom.path));
  return values;
}

/** The deployment labels of one attempt, over the call's labels. */
export function attemptLabels(base: LabelValues, ref: DeploymentRef | undefined, attempt: AttemptRecord, failed: boolean): LabelValues {
  return {
    ...base,
    litellm_model_name: sanitizeLabelValue(ref?.model),
    model_id: sanitizeLabelValue(ref?.id ?? attempt.deploymentId),
    api_base: sanitizeLabelValue(ref === undefined ? undefined : effectiveApiBase(ref)),
    api_provider: sanitizeLabelValue(ref?.provider),
    exception_status: failed ? sanitizeLabelValue(attempt.status) : NONE,
    exception_class: failed && attempt.errorCode !== undefined ? exceptionClass(attempt.errorCode, ref?.provider) : NONE,
  };
}

/** LiteLLM's exception class names, so alerts on `exception_class=~".*RateLimitError"` keep firing. */
const EXCEPTION_CLASSES: Record<ErrorCode, string> = {
  invalid_request: 'BadRequestError',
  authentication: 'AuthenticationError',
  permission_denied: 'PermissionDeniedError',
  not_found: 'NotFoundError',
  request_too_large: 'BadRequestError',
  unsupported_parameter: 'UnsupportedParamsError',
  context_window_exceeded: 'ContextWindowExceededError',
  content_policy: 'ContentPolicyViolationError',
  rate_limit: 'RateLimitError',
  budget_exceeded: 'BudgetExceededError',
  overloaded: 'InternalServerError',
  timeout: 'Timeout',
  upstream_error: 'APIError',
  upstream_connection: 'APIConnectionError',
  service_unavailable: 'ServiceUnavailableError',
  client_disconnected: 'ClientDisconnectedError',
  internal: 'InternalServerError',
};

/**
 * Errors raised by the gateway itself even when a deployment was picked, which LiteLLM does not
 * prefix with a provider. (Gateway-side rejections before routing have no provider anyway.)
 */
const GATEWAY_SIDE: ReadonlySet<ErrorCode> = new Set(['budget_exceeded', 'client_disconnected', 'internal']);

/** `Anthropic.RateLimitError`: provider capitalised, a dot, the class (LiteLLM's format). */
export function exceptionClass(code: ErrorCode, provider: string | undefined): string {
  const cls = EXCEPTION_CLASSES[code];
  if (provider === undefined || provider === '' || GATEWAY_SIDE.has(code)) return cls;
  return `${provider.charAt(0).toUpperCase()}${provider.slice(1)}.${cls}`;
}

function readPath(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Picks a metric's labels out of the shared values; absent ones are "None". */
export function pick(values: LabelValues, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) out[name] = values[name] ?? NONE;
  return out;
}
