/**
 * Request-body fields that choose where a call goes or what it authenticates with. A client that
 * may set `api_base` can point the gateway's provider key at its own server and read it off the
 * wire (huntr 4001e1a2…, the reason LiteLLM bans these), so they come from config or the admin API
 * only — unless the operator opts in with `general_settings.allow_client_side_credentials`, as in
 * LiteLLM (litellm/proxy/auth/auth_utils.py `_BANNED_REQUEST_BODY_PARAMS`, `is_request_body_safe`).
 *
 * LiteLLM lets a body `api_key` through without the opt-in (it replaces the deployment's key);
 * Tollgate refuses it too: a gateway that meters and budgets must know whose account it spends.
 * With the opt-in, `api_base` / `base_url` / `api_key` replace the deployment's for every attempt.
 */
import { errors } from '../core/errors.js';
import { isObject, type JsonObject } from '../core/json.js';

/** LiteLLM's list (endpoint and credential fields), plus `api_key`. */
const REFUSED_FIELDS = [
  'api_base',
  'base_url',
  'api_key',
  'user_config',
  'aws_sts_endpoint',
  'aws_web_identity_token',
  'aws_role_name',
  'vertex_credentials',
  'aws_bedrock_runtime_endpoint',
  's3_endpoint_url',
  'sagemaker_base_url',
  'deployment_url',
] as const;

/** Where LiteLLM looks besides the body's top level. */
const NESTED = ['metadata', 'litellm_metadata'] as const;

export interface ClientCredentials {
  apiBase?: string | undefined;
  apiKey?: string | undefined;
}

/**
 * Refuses a body naming any of the fields (401, LiteLLM's status and wording) unless `allowed`;
 * when allowed, takes `api_base`/`base_url`/`api_key` out of the body and returns them.
 * Returns undefined (and touches nothing) for the usual body that names none of them.
 */
export function takeClientCredentials(body: JsonObject, allowed: boolean): { credentials: ClientCredentials; edited: boolean } | undefined {
  const named = firstRefused(body);
  if (named === undefined) return undefined;
  if (!allowed) {
    throw errors.authentication(
      `Authentication Error, Rejected Request: ${named} is not allowed in request body. Clientside passthrough requires explicit admin opt-in via ` +
        '`general_settings.allow_client_side_credentials = true` in your proxy config.yaml.',
      { param: named },
    );
  }
  const credentials: ClientCredentials = {};
  const base = body.api_base ?? body.base_url;
  if (base !== undefined) {
    if (typeof base !== 'string' || !/^https?:\/\//.test(base)) throw errors.invalidRequest('api_base: must be an http(s) URL', body.api_base !== undefined ? 'api_base' : 'base_url');
    credentials.apiBase = base.replace(/\/+$/, '');
  }
  if (body.api_key !== undefined) {
    if (typeof body.api_key !== 'string' || body.api_key === '') throw errors.invalidRequest('api_key: must be a non-empty string', 'api_key');
    credentials.apiKey = body.api_key;
  }
  // The upstream must not see them in the body (OpenAI refuses unknown arguments; a key in a body is a leak).
  delete body.api_base;
  delete body.base_url;
  delete body.api_key;
  return { credentials, edited: true };
}

function firstRefused(body: JsonObject): string | undefined {
  for (const field of REFUSED_FIELDS) if (field in body) return field;
  for (const key of NESTED) {
    const nested = body[key];
    if (!isObject(nested)) continue;
    for (const field of REFUSED_FIELDS) if (field in nested) return `${key}.${field}`;
  }
  return undefined;
}
