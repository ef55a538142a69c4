/**
 * The session report (issue 13): what each coding session (`session_id` of the spend logs: Claude
 * Code's `x-claude-code-session-id`, Codex's `session-id`, `x-litellm-session-id`, …) cost, in
 * tokens of each kind, cache hit share, time and client program. Tollgate's own endpoints — LiteLLM
 * has no session report — answered from one grouped query (`SpendLogStore.sessions`):
 *
 * - `GET /global/spend/report?group_by=session&start_date=&end_date=`: every session with calls in
 *   the range, most spent first, paged like `/spend/logs`;
 * - `GET /spend/sessions/{session_id}`: one session's summary over all its calls, and the calls.
 *
 * Admin callers only (the master key, `proxy_admin`, `proxy_admin_viewer`), like the other reports.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { clientNameOf } from '../../accounting/client-name.js';
import type { SessionAggregate, SpendLogStore } from '../../accounting/spend-types.js';
import { errors } from '../../core/errors.js';
import { keyHashParam, litellmRow, MAX_LOG_LIMIT, param, parseDate, parseLimit, parseOffset, type Guard, type Query } from './spend-common.js';

export function registerSessionRoutes(app: FastifyInstance, store: SpendLogStore, guarded: Guard): void {
  app.get('/spend/sessions/:session_id', guarded((_query, _reply, request) => sessionInfo(store, (request.params as { session_id: string }).session_id)));
}

/** `group_by=session` of `/global/spend/report`: the same date range and filters as its other groupings. */
export async function sessionReport(store: SpendLogStore, query: Query, reply: FastifyReply): Promise<unknown> {
  const startDate = param(query, 'start_date');
  const endDate = param(query, 'end_date');
  if (startDate === undefined || endDate === undefined) throw errors.invalidRequest('Please provide start_date and end_date');
  const limit = parseLimit(param(query, 'limit'));
  const offset = parseOffset(param(query, 'offset'));
  const sessions = await store.sessions({
    from: parseDate(startDate, 'start_date', 'start'),
    to: parseDate(endDate, 'end_date', 'end'),
    apiKey: keyHashParam(param(query, 'api_key')),
    userId: param(query, 'internal_user_id'),
    teamId: param(query, 'team_id'),
    endUser: param(query, 'customer_id'),
    limit: limit + 1,
    offset,
  });
  if (sessions.length > limit) {
    sessions.length = limit;
    void reply.header('x-tollgate-truncated', `true; limit=${limit}; next_offset=${offset + limit}`);
  }
  return sessions.map(sessionSummary);
}

/** One session over all its calls (no date range): the summary, and its rows oldest first — the newest MAX_LOG_LIMIT of them. */
async function sessionInfo(store: SpendLogStore, sessionId: string): Promise<unknown> {
  const [summary] = await store.sessions({ sessionId, limit: 1 });
  if (summary === undefined) throw errors.notFound(`Session not found: ${sessionId}`, 'session_id');
  const rows = await store.query({ sessionId, limit: MAX_LOG_LIMIT + 1 });
  const truncated = rows.length > MAX_LOG_LIMIT;
  if (truncated) rows.length = MAX_LOG_LIMIT;
  return { ...sessionSummary(summary), calls: rows.reverse().map(litellmRow), calls_truncated: truncated };
}

function sessionSummary(s: SessionAggregate): Record<string, unknown> {
  const iso = (t: number): string => new Date(t).toISOString();
  const input = s.inputUncachedTokens + s.cacheReadTokens + s.cacheWriteTokens;
  return {
    session_id: s.sessionId,
    spend: s.spendUsd,
    unpriced_requests: s.unpricedRequests,
    requests: s.requests,
    successful_requests: s.requests - s.failedRequests,
    failed_requests: s.failedRequests,
    models: s.modelGroups,
    api_keys: s.apiKeys,
    users: s.users,
    client: clientNameOf(s.firstUserAgent) ?? null,
    user_agent: s.firstUserAgent,
    first_request_at: iso(s.firstStart),
    last_request_at: iso(s.lastStart),
    ended_at: iso(s.lastEnd),
    duration_seconds: Math.max(0, s.lastEnd - s.firstStart) / 1000,
    tokens: {
      input: s.inputUncachedTokens,
      cache_read: s.cacheReadTokens,
      cache_write: s.cacheWriteTokens,
      output: s.outputTokens,
      reasoning: s.reasoningTokens,
      total: input + s.outputTokens,
    },
    // The share of input tokens served from the prompt cache; 0 for a session with no input.
    cache_hit_share: input === 0 ? 0 : s.cacheReadTokens / input,
  };
}
