/**
 * What the spend routes share: the admin guard that renders refusals in LiteLLM's (OpenAI's)
 * envelope, query parameters (dates, keys, pages) and the `/spend/logs` row shape, which
 * `/spend/sessions/{id}` lists too.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoredSpendLog } from '../../accounting/spend-types.js';
import { errors, toGatewayError } from '../../core/errors.js';
import { hashKey } from '../../policy/auth.js';
import { sendError, surfaceErrors } from '../call/errors.js';
import { openAIChatCodec } from '../surfaces.js';

export type Query = Record<string, unknown>;

export const DAY_MS = 86_400_000;
/** A small page by default: a LiteLLM-sized table has millions of rows (issue 10: a 10 000-row default stalled). */
const DEFAULT_LOG_LIMIT = 100;
export const MAX_LOG_LIMIT = 1000;

export type Handler = (query: Query, reply: FastifyReply, request: FastifyRequest) => Promise<unknown>;

export type Guard = (handler: Handler) => (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** A route handler that first checks `authorize` (throws 401/403) and answers any error in LiteLLM's envelope. */
export function adminGuard(authorize: (headers: IncomingHttpHeaders) => void): Guard {
  return (handler) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      try {
        authorize(request.headers);
        return await handler((request.query ?? {}) as Query, reply, request);
      } catch (err) {
        return sendSpendError(reply, err);
      }
    };
}

/** The error as LiteLLM's spend routes answer it (OpenAI's envelope). */
export function sendSpendError(reply: FastifyReply, err: unknown): undefined {
  void reply.hijack();
  sendError(reply.raw, surfaceErrors(openAIChatCodec), toGatewayError(err), '');
  return undefined;
}

// ---- /spend/logs rows ----

/** The row as LiteLLM's /spend/logs returns it (Prisma's JSON of the table row), plus Tollgate's detail inside metadata. */
export function litellmRow({ log, details }: StoredSpendLog): Record<string, unknown> {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  const metadata: Record<string, unknown> = { ...log.metadata };
  if (details !== null) {
    metadata.tollgate = {
      call_id: details.call_id,
      litellm_call_id: details.litellm_call_id,
      surface: details.surface,
      route: details.route,
      requested_model: details.requested_model,
      provider: details.provider,
      upstream_model: details.upstream_model,
      retries: details.retries,
      fallbacks: details.fallbacks,
      stream: details.stream,
      passthrough: details.passthrough,
      status_code: details.status_code,
      error_code: details.error_class,
      ttft_ms: details.ttft_ms,
      upstream_ms: details.upstream_ms,
      duration_ms: details.duration_ms,
      client_disconnected: details.client_disconnected,
      user_agent: details.user_agent,
      cost_nano_usd: details.cost_nano_usd,
      cost_missing_reason: details.cost_missing_reason,
      tokens: {
        input_uncached: details.input_uncached_tokens,
        cache_read: details.cache_read_tokens,
        cache_write_5m: details.cache_write_5m_tokens,
        cache_write_1h: details.cache_write_1h_tokens,
        cache_write_unknown_ttl: details.cache_write_unknown_ttl_tokens,
        output: details.output_tokens,
        reasoning: details.reasoning_tokens,
      },
      attempts: parseJsonArray(details.attempts),
    };
  }
  return {
    request_id: log.request_id,
    call_type: log.call_type,
    api_key: log.api_key,
    spend: log.spend,
    total_tokens: log.total_tokens,
    prompt_tokens: log.prompt_tokens,
    completion_tokens: log.completion_tokens,
    startTime: iso(log.startTime),
    endTime: iso(log.endTime),
    request_duration_ms: log.request_duration_ms,
    completionStartTime: iso(log.completionStartTime),
    model: log.model,
    model_id: log.model_id,
    model_group: log.model_group,
    custom_llm_provider: log.custom_llm_provider,
    api_base: log.api_base,
    user: log.user,
    metadata,
    cache_hit: log.cache_hit,
    cache_key: log.cache_key,
    request_tags: log.request_tags,
    team_id: log.team_id,
    organization_id: log.organization_id,
    end_user: log.end_user,
    requester_ip_address: log.requester_ip_address,
    messages: {},
    response: {},
    session_id: log.session_id,
    status: log.status,
    mcp_namespaced_tool_name: log.mcp_namespaced_tool_name,
    agent_id: log.agent_id,
    proxy_server_request: {},
  };
}

// ---- parameters ----

export function param(query: Query, name: string): string | undefined {
  const raw = query[name];
  const value = Array.isArray(raw) ? (raw[0] as unknown) : raw;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A key given as plaintext (any prefix) is hashed; a SHA-256 hex is used as is. */
export function keyHashParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /^[0-9a-f]{64}$/i.test(value) ? value.toLowerCase() : hashKey(value);
}

/**
 * `YYYY-MM-DD` is a UTC day: as a start it is that midnight, as an end it includes the whole day.
 * A date-time (ISO, or LiteLLM UI's `YYYY-MM-DD HH:MM:SS`; UTC unless it names a zone) is exact,
 * and inclusive as an end. Returns epoch ms; an end is returned exclusive.
 */
export function parseDate(value: string, name: string, bound: 'start' | 'end'): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const t = Date.parse(`${value}T00:00:00Z`);
    if (!Number.isNaN(t) && new Date(t).toISOString().startsWith(value)) return bound === 'start' ? t : t + DAY_MS;
  } else {
    const iso = value.replace(' ', 'T');
    const t = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? iso : `${iso}Z`);
    if (!Number.isNaN(t)) return bound === 'start' ? t : t + 1;
  }
  throw errors.invalidRequest(`${name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, got "${value}"`, name);
}

export function parseOffset(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw errors.invalidRequest('offset must be a non-negative integer', 'offset');
  return n;
}

export function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOG_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOG_LIMIT) throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_LOG_LIMIT}`, 'limit');
  return n;
}

function parseJsonArray(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}
