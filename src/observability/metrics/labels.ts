/**
 * Label values for one CallRecord, written once per call into an array shared by every metric it feeds.
 * LiteLLM's conventions are kept where dashboards depend on them: a missing value is the string
 * "None", newlines become spaces, the key appears only as its hash, and exception classes read
 * like `Anthropic.RateLimitError`.
 */
import type { AttemptRecord, CallRecord, DeploymentRef } from '../../core/call-record.js';
import { effectiveApiBase } from '../../core/deployment.js';
import { litellmExceptionClass, type ErrorCode } from '../../core/errors.js';
import type { CustomLabel } from './config.js';

export const NONE = 'None';

const NEEDS_CLEANING = /[\u2028\u2029\r\n]/;

/**
 * Fields the metrics use when the call record carries them. They are not (yet) part of core's
 * CallRecord; reading them defensively lets the producer add them without touching this module.
 */
interface OptionalFacts {
  teamAlias?: unknown;
  userEmail?: unknown;
  clientIp?: unknown;
  serviceTier?: unknown;
}

export function sanitizeLabelValue(value: unknown): string {
  if (value === undefined || value === null) return NONE;
  if (typeof value === 'string' && !NEEDS_CLEANING.test(value)) return value;
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
  return call.responseCache;
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

/**
 * Every label a call-fed metric can carry, in one fixed order: a call's values are written into an
 * array in this order (custom metadata labels follow), and families read them through index views.
 * The last three are per-sample variants, not properties of the call.
 */
export const CALL_LABELS = [
  'end_user', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'user', 'user_email', 'requested_model', 'model_group', 'model',
  'litellm_model_name', 'model_id', 'api_base', 'api_provider', 'status_code', 'exception_status', 'exception_class', 'route', 'client_ip',
  'user_agent', 'service_tier', 'stream', 'fallback', 'cache_ttl', 'reason', 'fallback_model',
] as const;

export type CallLabel = (typeof CALL_LABELS)[number];

/** `L.model_id` is the index of `model_id` in a call's values; a misspelt label does not compile. */
export const L = Object.fromEntries(CALL_LABELS.map((name, i) => [name, i])) as { readonly [K in CallLabel]: number };

/** Labels that vary per sample of one call; never part of the call's own identity. */
export const VARIANT_LABELS: readonly number[] = [L.cache_ttl, L.reason, L.fallback_model];

export function callSchema(customLabels: readonly CustomLabel[]): readonly string[] {
  return [...CALL_LABELS, ...customLabels.map((c) => c.label)];
}

const STATUS_TEXT: string[] = [];
/** `String(status)` without a new string per call for the statuses HTTP has. */
export function statusText(status: number | undefined): string {
  if (status === undefined) return NONE;
  if (!Number.isInteger(status) || status < 0 || status > 999) return String(status);
  return (STATUS_TEXT[status] ??= String(status));
}

/** A string as it came, or the sanitized text of anything else; the raw string is sanitized later. */
function raw(value: unknown): string {
  if (typeof value === 'string') return value;
  return sanitizeLabelValue(value);
}

/**
 * Writes the call's label values into `out` (in `callSchema` order) without building an object:
 * strings are stored as they came, and only sanitized (see `sanitizeLabelValue`) when a new label
 * combination's series are created, so the per-call cost is a few field reads.
 */
export function fillCallLabels(call: CallRecord, options: LabelOptions, out: string[]): void {
  const p = call.principal as CallRecord['principal'] & OptionalFacts;
  const extra = call as CallRecord & OptionalFacts;
  const looked = options.lookupPrincipal?.(call.principal);
  const d = call.deployment;
  const failed = call.outcome === 'failure';
  out[L.end_user] = options.endUser ? raw(p.endUser) : NONE;
  out[L.hashed_api_key] = p.isMaster ? MASTER_KEY_HASH_LABEL : raw(p.keyHash);
  out[L.api_key_alias] = raw(p.keyAlias);
  out[L.team] = raw(p.teamId);
  out[L.team_alias] = raw(p.teamAlias ?? looked?.teamAlias);
  out[L.user] = raw(p.userId ?? (p.isMaster ? MASTER_KEY_USER_ID : undefined));
  out[L.user_email] = raw(p.userEmail ?? looked?.userEmail);
  out[L.requested_model] = call.requestedModel === '' ? NONE : raw(call.requestedModel);
  out[L.model_group] = raw(call.modelGroup);
  // LiteLLM's `model` is the model the provider was called with.
  out[L.model] = raw(call.upstreamModel ?? d?.model);
  out[L.litellm_model_name] = raw(d?.model);
  out[L.model_id] = raw(d?.id);
  out[L.api_base] = raw(d?.apiBase);
  out[L.api_provider] = raw(d?.provider);
  out[L.status_code] = statusText(call.httpStatus);
  out[L.exception_status] = failed ? statusText(call.httpStatus) : NONE;
  out[L.exception_class] = failed && call.error !== undefined ? exceptionClass(call.error.code, d?.provider) : NONE;
  out[L.route] = raw(call.route);
  out[L.client_ip] = raw(extra.clientIp);
  out[L.user_agent] = raw(call.userAgent);
  // LiteLLM labels a request without a tier with an empty value, not "None".
  out[L.service_tier] = typeof extra.serviceTier === 'string' ? extra.serviceTier : '';
  out[L.stream] = call.stream ? 'True' : 'False';
  out[L.fallback] = call.fallbacks > 0 ? 'true' : 'false';
  out[L.cache_ttl] = NONE;
  out[L.reason] = NONE;
  out[L.fallback_model] = NONE;
  const custom = options.customLabels;
  for (let i = 0; i < custom.length; i++) out[CALL_LABELS.length + i] = raw(readPath(call.metadata, custom[i]?.path ?? []));
}

const PREFIXED = new Map<string, Map<ErrorCode, string>>();

/**
 * `Anthropic.RateLimitError`, from the error catalogue (core/errors.ts, shared with the spend log's
 * error class), remembered per provider and code so a failing call builds no string.
 */
export function exceptionClass(code: ErrorCode, provider: string | undefined): string {
  if (provider === undefined || provider === '') return litellmExceptionClass(code, provider);
  let byCode = PREFIXED.get(provider);
  if (byCode === undefined) PREFIXED.set(provider, (byCode = new Map<ErrorCode, string>()));
  let cls = byCode.get(code);
  // Providers come from the config, so this stays as small as the deployment list.
  if (cls === undefined) byCode.set(code, (cls = litellmExceptionClass(code, provider)));
  return cls;
}

/** The labels an attempt sets over its call's values, in this order. */
export const ATTEMPT_LABELS: readonly number[] = [L.litellm_model_name, L.model_id, L.api_base, L.api_provider, L.exception_status, L.exception_class];

/** Writes one attempt's deployment labels (`ATTEMPT_LABELS` order, unsanitized) into `out`. */
export function fillAttemptLabels(ref: DeploymentRef | undefined, deploymentId: string, failed: boolean, status: number | undefined, errorCode: ErrorCode | undefined, out: string[]): void {
  out[0] = ref?.model ?? NONE;
  out[1] = ref?.id ?? deploymentId;
  out[2] = (ref === undefined ? undefined : effectiveApiBase(ref)) ?? NONE;
  out[3] = ref?.provider ?? NONE;
  out[4] = failed ? statusText(status) : NONE;
  out[5] = failed && errorCode !== undefined ? exceptionClass(errorCode, ref?.provider) : NONE;
}

/** A call's sanitized values with one attempt's deployment labels in place. */
export function withAttempt(values: readonly string[], attempt: readonly string[]): string[] {
  const out = values.slice();
  ATTEMPT_LABELS.forEach((label, k) => (out[label] = sanitizeLabelValue(attempt[k])));
  return out;
}

/** The call's labels by name, as the metrics see them (for tests and debugging; not the hot path). */
export function callLabels(call: CallRecord, options: LabelOptions): Readonly<Record<string, string>> {
  const schema = callSchema(options.customLabels);
  const values = schema.map(() => NONE);
  fillCallLabels(call, options, values);
  return Object.fromEntries(schema.map((name, i) => [name, sanitizeLabelValue(values[i])]));
}

/** One attempt's labels by name over its call's (for tests and debugging; not the hot path). */
export function attemptLabels(base: Readonly<Record<string, string>>, ref: DeploymentRef | undefined, attempt: AttemptRecord, failed: boolean): Readonly<Record<string, string>> {
  const names = [...CALL_LABELS, ...Object.keys(base).filter((k) => !(CALL_LABELS as readonly string[]).includes(k))];
  const values = names.map((n) => base[n] ?? NONE);
  const over = ATTEMPT_LABELS.map(() => NONE);
  fillAttemptLabels(ref, attempt.deploymentId, failed, attempt.status, attempt.errorCode, over);
  const merged = withAttempt(values, over);
  return Object.fromEntries(names.map((n, i) => [n, merged[i] ?? NONE]));
}

function readPath(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
